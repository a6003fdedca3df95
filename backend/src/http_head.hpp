// A strict HTTP/1.1 request-head parser and chunked-body decoder (RFC 9112), for the
// backend's server (server.cpp) and its fuzz target. No I/O, no Poco: bytes in, a parsed head
// or a reason to refuse out.
//
// Hand-written on purpose: Poco's parser (1.11) accepts the request-smuggling forms we must
// refuse (`Transfer-Encoding: chunked, identity`, two different Content-Lengths, `Content-Length:
// +5`, whitespace before the colon, obs-fold), and no maintained strict parser is packaged in
// Debian 12 (llhttp is absent, http-parser is unmaintained). The grammar is small; every
// ambiguity that lets two parsers disagree about where a message ends is refused (400 and the
// connection closed by the caller).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gen::backend::http {

struct HeadLimits {
  std::size_t max_head_bytes = 32 * 1024;  ///< request line + fields + the blank line
  std::size_t max_fields = 100;
};

struct RequestHead {
  std::string method;
  std::string target;     ///< origin-form ("/a/b?c"); absolute-form is reduced to it; or "*"
  int minor_version = 1;  ///< HTTP/1.<minor>: 0 or 1
  std::vector<std::pair<std::string, std::string>> fields;  ///< in order, values trimmed
  std::optional<std::int64_t> content_length;
  bool chunked = false;          ///< Transfer-Encoding: chunked (then content_length is empty)
  bool keep_alive = true;        ///< HTTP/1.1 unless "Connection: close"; HTTP/1.0 only if asked
  bool expect_continue = false;  ///< Expect: 100-continue
};

struct HeadError {
  int status = 400;  ///< 400, or 431 for an oversized head, 501 for an unknown coding
  std::string message;
};

struct HeadResult {
  std::optional<RequestHead> head;  ///< set on success
  HeadError error;                  ///< meaningful when !head
};

/// Where the head ends in `data`: the offset just past the first CRLFCRLF, after skipping
/// any empty lines (CRLF) that precede the request line (RFC 9112 2.2); npos when the head
/// is not complete yet.
std::size_t find_head_end(std::string_view data);
/// The number of leading CRLF pairs (empty lines before a request line) in `data`, in bytes.
std::size_t skip_leading_empty_lines(std::string_view data);

/// Parses a complete head: `head` runs from the request line through the blank line
/// (CRLFCRLF) inclusive, without leading empty lines. Refuses (status 400 unless noted):
/// a malformed request line or an HTTP version other than 1.0/1.1; a request-target with
/// bytes outside 0x21-0x7E or a '#'; bare CR or LF; obs-fold; a field name that is not a
/// token, or whitespace before the colon; control characters in a value; Transfer-Encoding
/// in HTTP/1.0, whose last coding is not `chunked`, that names `chunked` twice or carries
/// parameters (any other coding: 501); Transfer-Encoding together with Content-Length;
/// a Content-Length that is not 1*DIGIT or disagrees with another one; in HTTP/1.1, no Host
/// or several; more than `max_fields` fields or more than `max_head_bytes` (431).
HeadResult parse_request_head(std::string_view head, const HeadLimits& limits);

/// Decodes a chunked body incrementally (RFC 9112 7.1): chunk sizes in hex (at most 15
/// digits), chunk extensions skipped, CRLF exactly, the trailer section read and dropped.
class ChunkedDecoder {
 public:
  enum class State { kNeedMore, kDone, kError };
  /// `max_line_bytes` bounds a chunk-size line (with extensions) and each trailer line;
  /// `max_trailer_bytes` the whole trailer section.
  explicit ChunkedDecoder(std::size_t max_line_bytes = 4096, std::size_t max_trailer_bytes = 16384)
      : max_line_(max_line_bytes), max_trailer_(max_trailer_bytes) {}

  /// Consumes bytes from `in`, appending decoded data to `out`. Returns kDone once the last
  /// chunk and the trailers are read (`consumed` then tells where the next message starts),
  /// kError on malformed input (error() says why), else kNeedMore (all of `in` consumed).
  State feed(std::string_view in, std::string& out, std::size_t& consumed);
  State state() const { return state_; }
  const std::string& error() const { return error_; }
  /// Decoded body bytes so far.
  std::uint64_t body_bytes() const { return body_bytes_; }

 private:
  enum class Step { kSize, kData, kDataCr, kDataLf, kTrailer };
  State fail(std::string why);
  Step step_ = Step::kSize;
  State state_ = State::kNeedMore;
  std::string line_;  ///< the current size or trailer line, without CRLF
  bool line_cr_ = false;
  std::uint64_t remaining_ = 0;  ///< of the current chunk
  std::uint64_t body_bytes_ = 0;
  std::size_t trailer_bytes_ = 0;
  std::size_t max_line_;
  std::size_t max_trailer_;
  std::string error_;
};

/// Whether `s` is a token (RFC 9110 5.6.2): one or more tchar.
bool is_token(std::string_view s);

}  // namespace gen::backend::http
