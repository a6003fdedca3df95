#include "http_head.hpp"

#include "gen/core/base/media_type.hpp"
#include "gen/core/base/text.hpp"

#include <algorithm>
#include <charconv>

namespace gen::backend::http {
namespace {

// field-value bytes: VCHAR, obs-text, SP, HTAB (RFC 9110 5.5). No other control characters.
bool is_field_value_char(unsigned char c) {
  return c == '\t' || c == ' ' || (c >= 0x21 && c != 0x7F);
}

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits a comma-separated list (RFC 9110 5.6.1) into trimmed elements, empty ones included.
std::vector<std::string_view> split_list(std::string_view value) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    auto comma = value.find(',', start);
    out.push_back(
        trim_ows(value.substr(start, comma == std::string_view::npos ? comma : comma - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

HeadResult refuse(int status, std::string message) {
  HeadResult r;
  r.error = {status, std::move(message)};
  return r;
}

}  // namespace

// The grammar lives in core, shared with the media-type checks.
bool is_token(std::string_view s) {
  return gen::is_token(s);
}

std::size_t skip_leading_empty_lines(std::string_view data) {
  std::size_t i = 0;
  while (i + 1 < data.size() && data[i] == '\r' && data[i + 1] == '\n') i += 2;
  return i;
}

std::size_t find_head_end(std::string_view data) {
  std::size_t start = skip_leading_empty_lines(data);
  auto end = data.find("\r\n\r\n", start);
  return end == std::string_view::npos ? end : end + 4;
}

HeadResult parse_request_head(std::string_view head, const HeadLimits& limits) {
  if (head.size() > limits.max_head_bytes) {
    return refuse(431, "the request head is larger than HOSTING__MAX_HEADER_BYTES (" +
                           std::to_string(limits.max_head_bytes) + " bytes)");
  }
  if (head.size() < 4 || head.substr(head.size() - 4) != "\r\n\r\n") {
    return refuse(400, "the request head does not end with an empty line");
  }
  // Every CR must start a CRLF and every LF end one: a bare CR or LF is where two parsers
  // disagree about where a line ends.
  for (std::size_t i = 0; i < head.size(); ++i) {
    if (head[i] == '\r' && (i + 1 == head.size() || head[i + 1] != '\n')) {
      return refuse(400, "a bare CR in the request head");
    }
    if (head[i] == '\n' && (i == 0 || head[i - 1] != '\r')) {
      return refuse(400, "a bare LF in the request head");
    }
  }
  head.remove_suffix(2);  // the blank line's CRLF; every line below ends with CRLF

  RequestHead out;
  std::size_t pos = head.find("\r\n");
  std::string_view line = head.substr(0, pos);
  // request-line = method SP request-target SP HTTP-version (one SP each)
  auto sp1 = line.find(' ');
  auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return refuse(400, "malformed request line");
  }
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!is_token(method)) return refuse(400, "malformed request method");
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9') {
    return refuse(400, "malformed HTTP version");
  }
  if (version[5] != '1' || version[7] > '1') {
    return refuse(505, "HTTP version not supported (HTTP/1.0 and HTTP/1.1 are)");
  }
  out.minor_version = version[7] - '0';
  if (target.empty()) return refuse(400, "empty request target");
  for (char ch : target) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x21 || c > 0x7E || c == '#') return refuse(400, "invalid byte in the request target");
  }
  if (target.front() != '/') {
    if (target == "*" && method == "OPTIONS") {
      // asterisk-form
    } else if (target.starts_with("http://") || target.starts_with("https://")) {
      // absolute-form: the path and query after the authority (RFC 9112 3.2.2)
      auto authority = target.find("//") + 2;
      auto path = target.find_first_of("/?", authority);
      if (path == authority) return refuse(400, "absolute-form request target without a host");
      target = path == std::string_view::npos ? std::string_view("/") : target.substr(path);
      if (target.front() == '?') {
        out.target = "/";
      }
    } else {
      return refuse(400, "invalid request target");
    }
  }
  out.method = std::string(method);
  out.target += std::string(target);

  // field-line = field-name ":" OWS field-value OWS
  bool te_seen = false;
  std::vector<std::string_view> codings;
  int hosts = 0;
  std::string connection;
  while (pos != std::string_view::npos && pos + 2 <= head.size()) {
    std::size_t start = pos + 2;
    if (start == head.size()) break;
    pos = head.find("\r\n", start);
    line = head.substr(start, pos - start);
    if (line.front() == ' ' || line.front() == '\t') {
      return refuse(400, "obsolete line folding (obs-fold) in the request head");
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos) return refuse(400, "a header line without a colon");
    std::string_view name = line.substr(0, colon);
    if (!is_token(name)) {
      return refuse(400, "invalid header name (whitespace before the colon, or not a token)");
    }
    std::string_view value = trim_ows(line.substr(colon + 1));
    if (!std::all_of(value.begin(), value.end(),
                     [](char c) { return is_field_value_char(static_cast<unsigned char>(c)); })) {
      return refuse(400, "control character in the value of " + std::string(name));
    }
    if (out.fields.size() >= limits.max_fields) {
      return refuse(431, "more than " + std::to_string(limits.max_fields) + " header fields");
    }
    if (iequals(name, "Content-Length")) {
      for (std::string_view element : split_list(value)) {
        std::int64_t n = 0;
        const char* end = element.data() + element.size();
        auto [ptr, ec] = std::from_chars(element.data(), end, n);
        bool digits = !element.empty() && element.size() <= 18 &&
                      std::all_of(element.begin(), element.end(),
                                  [](char c) { return c >= '0' && c <= '9'; });
        if (!digits || ec != std::errc() || ptr != end) {
          return refuse(400, "invalid Content-Length");
        }
        if (out.content_length && *out.content_length != n) {
          return refuse(400, "conflicting Content-Length values");
        }
        out.content_length = n;
      }
    } else if (iequals(name, "Transfer-Encoding")) {
      te_seen = true;
      for (std::string_view coding : split_list(value)) codings.push_back(coding);
    } else if (iequals(name, "Host")) {
      ++hosts;
    } else if (iequals(name, "Connection")) {
      if (!connection.empty()) connection += ',';
      connection += value;
    } else if (iequals(name, "Expect")) {
      if (iequals(value, "100-continue")) out.expect_continue = true;
    }
    out.fields.emplace_back(std::string(name), std::string(value));
  }

  if (te_seen) {
    if (out.minor_version == 0) return refuse(400, "Transfer-Encoding in an HTTP/1.0 request");
    if (out.content_length) return refuse(400, "both Transfer-Encoding and Content-Length");
    for (std::size_t i = 0; i < codings.size(); ++i) {
      std::string_view c = codings[i];
      bool last = i + 1 == codings.size();
      if (c.empty()) return refuse(400, "empty transfer coding");
      if (iequals(c, "chunked")) {
        if (!last) return refuse(400, "chunked is not the final transfer coding");
        continue;
      }
      if (last) return refuse(400, "chunked is not the final transfer coding");
      if (!is_token(c)) return refuse(400, "malformed transfer coding");
      return refuse(501, "transfer coding " + std::string(c) + " is not supported");
    }
    out.chunked = true;
  }
  if (out.minor_version == 1 && hosts != 1) {
    return refuse(400, hosts == 0 ? "no Host header" : "more than one Host header");
  }
  bool close = false;
  bool keep_alive = false;
  for (std::string_view option : split_list(connection)) {
    if (iequals(option, "close")) close = true;
    if (iequals(option, "keep-alive")) keep_alive = true;
  }
  out.keep_alive = !close && (out.minor_version == 1 || keep_alive);
  return HeadResult{std::move(out), {}};
}

ChunkedDecoder::State ChunkedDecoder::fail(std::string why) {
  error_ = std::move(why);
  state_ = State::kError;
  return state_;
}

ChunkedDecoder::State ChunkedDecoder::feed(std::string_view in, std::string& out,
                                           std::size_t& consumed) {
  consumed = 0;
  if (state_ != State::kNeedMore) return state_;
  std::size_t i = 0;
  // Reads one CRLF-terminated line into line_; true once it is complete.
  auto read_line = [&](std::size_t limit) -> int {  // 1 done, 0 need more, -1 error
    while (i < in.size()) {
      char c = in[i++];
      if (line_cr_) {
        if (c != '\n') return -1;
        line_cr_ = false;
        return 1;
      }
      if (c == '\r') {
        line_cr_ = true;
        continue;
      }
      if (c == '\n') return -1;
      if (line_.size() >= limit) return -1;
      line_ += c;
    }
    return 0;
  };
  while (i < in.size()) {
    switch (step_) {
      case Step::kSize: {
        int r = read_line(max_line_);
        if (r < 0) return fail("malformed chunk-size line");
        if (r == 0) break;
        std::string_view l = line_;
        auto ext = l.find(';');
        std::string_view hex = l.substr(0, ext);
        // Whitespace before the extension is allowed by the ABNF (BWS); none before the size.
        while (!hex.empty() && (hex.back() == ' ' || hex.back() == '\t')) hex.remove_suffix(1);
        if (hex.empty() || hex.size() > 15) return fail("malformed chunk size");
        std::uint64_t size = 0;
        for (char c : hex) {
          const int v = hex_digit_value(c);
          if (v < 0) return fail("malformed chunk size");
          size = size * 16 + static_cast<std::uint64_t>(v);
        }
        if (ext != std::string_view::npos) {
          for (char c : l.substr(ext)) {
            if (!is_field_value_char(static_cast<unsigned char>(c))) {
              return fail("control character in a chunk extension");
            }
          }
        }
        line_.clear();
        remaining_ = size;
        step_ = size == 0 ? Step::kTrailer : Step::kData;
        break;
      }
      case Step::kData: {
        std::size_t n = static_cast<std::size_t>(
            std::min<std::uint64_t>(remaining_, static_cast<std::uint64_t>(in.size() - i)));
        out.append(in.data() + i, n);
        i += n;
        remaining_ -= n;
        body_bytes_ += n;
        if (remaining_ == 0) step_ = Step::kDataCr;
        break;
      }
      case Step::kDataCr:
        if (in[i++] != '\r') return fail("chunk data not followed by CRLF");
        step_ = Step::kDataLf;
        break;
      case Step::kDataLf:
        if (in[i++] != '\n') return fail("chunk data not followed by CRLF");
        step_ = Step::kSize;
        break;
      case Step::kTrailer: {
        std::size_t before = i;
        int r = read_line(max_line_);
        trailer_bytes_ += i - before;
        if (r < 0 || trailer_bytes_ > max_trailer_) return fail("malformed or oversized trailer");
        if (r == 0) break;
        if (line_.empty()) {
          consumed = i;
          state_ = State::kDone;
          return state_;
        }
        // A trailer field: checked like a header field, then dropped.
        auto colon = line_.find(':');
        if (colon == std::string::npos || !is_token(std::string_view(line_).substr(0, colon))) {
          return fail("malformed trailer field");
        }
        for (char c : std::string_view(line_).substr(colon + 1)) {
          if (!is_field_value_char(static_cast<unsigned char>(c))) {
            return fail("control character in a trailer field");
          }
        }
        line_.clear();
        break;
      }
    }
  }
  consumed = i;
  return state_;
}

}  // namespace gen::backend::http
