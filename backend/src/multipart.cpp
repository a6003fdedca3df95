#include "multipart.hpp"

#include <algorithm>
#include <cctype>

#include "gen/core/errors.hpp"

namespace gen::backend {
namespace {

[[noreturn]] void malformed(const std::string& why) {
  throw Error(ErrorCode::kBadRequest, "malformed multipart/form-data body: " + why);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

// The value of `key` in a header value's parameters (`form-data; name="x"; filename="y"`).
std::string parameter(std::string_view header, std::string_view key) {
  std::size_t pos = 0;
  while ((pos = header.find(';', pos)) != std::string_view::npos) {
    ++pos;
    auto eq = header.find('=', pos);
    if (eq == std::string_view::npos) break;
    if (lower(trim(header.substr(pos, eq - pos))) != key) continue;
    std::string_view rest = header.substr(eq + 1);
    rest.remove_prefix(std::min(rest.find_first_not_of(" \t"), rest.size()));
    if (!rest.empty() && rest.front() == '"') {
      std::string value;
      for (std::size_t i = 1; i < rest.size(); ++i) {
        if (rest[i] == '\\' && i + 1 < rest.size()) {
          value += rest[++i];
        } else if (rest[i] == '"') {
          return value;
        } else {
          value += rest[i];
        }
      }
      malformed("unterminated quoted parameter");
    }
    return trim(rest.substr(0, rest.find(';')));
  }
  return {};
}

}  // namespace

std::vector<FormPart> parse_multipart(std::string_view content_type, std::string_view body) {
  std::string boundary = parameter(content_type, "boundary");
  if (boundary.empty() || boundary.size() > 70) {
    throw Error(ErrorCode::kBadRequest,
                "multipart/form-data needs a boundary parameter in Content-Type (1-70 chars)");
  }
  const std::string delimiter = "--" + boundary;
  std::size_t pos = body.find(delimiter);
  if (pos == std::string_view::npos) malformed("no boundary line");
  std::vector<FormPart> parts;
  for (;;) {
    pos += delimiter.size();
    if (body.substr(pos, 2) == "--") return parts;  // the closing delimiter
    if (body.substr(pos, 2) != "\r\n") malformed("boundary line not followed by CRLF");
    pos += 2;
    auto headers_end = body.find("\r\n\r\n", pos);
    if (headers_end == std::string_view::npos) malformed("part headers do not end");
    FormPart part;
    std::string_view headers = body.substr(pos, headers_end - pos);
    std::size_t line_start = 0;
    while (line_start <= headers.size()) {
      auto line_end = headers.find("\r\n", line_start);
      if (line_end == std::string_view::npos) line_end = headers.size();
      std::string_view line = headers.substr(line_start, line_end - line_start);
      auto colon = line.find(':');
      if (colon != std::string_view::npos) {
        std::string name = lower(trim(line.substr(0, colon)));
        std::string_view value = line.substr(colon + 1);
        if (name == "content-disposition") {
          part.name = parameter(value, "name");
          part.filename = parameter(value, "filename");
        } else if (name == "content-type") {
          part.content_type = trim(value);
        }
      }
      line_start = line_end + 2;
    }
    pos = headers_end + 4;
    auto next = body.find("\r\n" + delimiter, pos);
    if (next == std::string_view::npos) malformed("part '" + part.name + "' is not terminated");
    part.data = std::string(body.substr(pos, next - pos));
    if (part.name.empty()) malformed("a part without a Content-Disposition name");
    parts.push_back(std::move(part));
    pos = next + 2;
  }
}

}  // namespace gen::backend
