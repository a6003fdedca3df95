// Hand-written on purpose: Poco::Net::MediaType parses leniently (it keeps CR/LF and spaces),
// and the grammar is a dozen lines of RFC 9110.
#include "gen/core/base/media_type.hpp"

#include <algorithm>

#include "gen/core/base/text.hpp"

namespace gen {

bool is_token_char(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return is_token_char(static_cast<unsigned char>(c));
  });
}

namespace {

// Reads a token at `i`; false when there is none.
bool token(std::string_view s, std::size_t& i) {
  std::size_t start = i;
  while (i < s.size() && is_token_char(static_cast<unsigned char>(s[i]))) ++i;
  return i > start;
}

void ows(std::string_view s, std::size_t& i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
}

// quoted-string (section 5.6.4), ASCII only: qdtext = HTAB / SP / 0x21 / 0x23-5B / 0x5D-7E,
// quoted-pair = "\" ( HTAB / SP / VCHAR ).
bool quoted_string(std::string_view s, std::size_t& i) {
  if (i >= s.size() || s[i] != '"') return false;
  ++i;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"') {
      ++i;
      return true;
    }
    if (c == '\\') {
      if (++i >= s.size()) return false;
      c = static_cast<unsigned char>(s[i]);
      if (!(c == '\t' || (c >= 0x20 && c <= 0x7E))) return false;
    } else if (!(c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x7E))) {
      return false;
    }
    ++i;
  }
  return false;
}

}  // namespace

std::string media_type_problem(std::string_view s) {
  if (s.empty()) return "is empty";
  if (s.size() > kMaxMediaTypeBytes) {
    return "is longer than " + std::to_string(kMaxMediaTypeBytes) + " bytes";
  }
  for (unsigned char c : s) {
    if ((c < 0x20 && c != '\t') || c >= 0x7F) {
      return "contains a control or non-ASCII character (CR, LF, NUL ...)";
    }
  }
  const std::string shape = "must be a media type 'type/subtype[; name=value]...' (RFC 9110)";
  std::size_t i = 0;
  if (!token(s, i) || i >= s.size() || s[i] != '/') return shape;
  ++i;
  if (!token(s, i)) return shape;
  for (;;) {
    ows(s, i);
    if (i == s.size()) return {};
    if (s[i] != ';') return shape;
    ++i;
    ows(s, i);
    if (i == s.size() || s[i] == ';') continue;  // empty parameters are allowed
    if (!token(s, i) || i >= s.size() || s[i] != '=') return shape;
    ++i;
    if (!(i < s.size() && s[i] == '"' ? quoted_string(s, i) : token(s, i))) return shape;
  }
}

bool is_valid_media_type(std::string_view s) {
  return media_type_problem(s).empty();
}

bool is_safe_header_value(std::string_view value) {
  for (unsigned char c : value) {
    if ((c < 0x20 && c != '\t') || c == 0x7F) return false;
  }
  return value.empty() || (value.front() != ' ' && value.front() != '\t' && value.back() != ' ' &&
                           value.back() != '\t');
}

std::string content_type_for(std::string_view media_type) {
  if (is_valid_media_type(media_type)) return std::string(media_type);
  return "application/octet-stream";
}

std::string printable_for_message(std::string_view text, std::size_t max_bytes) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i == max_bytes) return out + "...";
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c >= 0x7F) {
      out += "\\x" + to_hex(text.substr(i, 1));
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

bool media_type_matches(std::string_view pattern, std::string_view media_type) {
  media_type = media_type.substr(0, media_type.find(';'));
  if (pattern == "*/*" || pattern == "*") return true;
  if (pattern.ends_with("/*")) {
    return media_type.starts_with(pattern.substr(0, pattern.size() - 1));
  }
  return pattern == media_type;
}

}  // namespace gen
