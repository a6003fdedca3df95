// The backend's view of HTTP: plain value types, no Poco. Handlers take a Request and return
// a Response; the HTTP edge (server.cpp and its server_*.cpp) is the only code that converts
// to and from the wire. Tests drive handlers through these types without a socket.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gen {
class Error;
}  // namespace gen

namespace gen::backend {

/// Header names compare case-insensitively (RFC 9110).
struct CaseInsensitiveLess {
  bool operator()(std::string_view a, std::string_view b) const;
};
using Headers = std::map<std::string, std::string, CaseInsensitiveLess>;

struct Request {
  std::string method;                        ///< "GET", "POST" ...
  std::vector<std::string> path;             ///< percent-decoded segments: {"api","v1","jobs"}
  std::string raw_path;                      ///< as received, without the query
  std::map<std::string, std::string> query;  ///< decoded; a repeated key keeps the last value
  Headers headers;
  std::string body;  ///< the whole body; the adapter enforces LIMITS__MAX_REQUEST_BYTES
  /// Set instead of `body` for requests the API reads as a stream (Api::streams_body():
  /// multipart job submissions); the handler enforces the size limit while reading.
  std::istream* body_stream = nullptr;
  std::optional<std::string> header(std::string_view name) const;
  /// The media type of Content-Type without parameters, lowercased ("application/json").
  std::string media_type() const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  Headers headers;  ///< extra headers (Location, Allow, Content-Disposition ...)
  std::string body;
  /// When set, the adapter sends `body_length` bytes written by this instead of `body`
  /// (large downloads, streamed chunk by chunk); it is not called for HEAD.
  std::function<void(std::ostream&)> body_writer;
  std::int64_t body_length = 0;
  /// The number of body bytes the response announces.
  std::int64_t content_length() const {
    return body_writer ? body_length : static_cast<std::int64_t>(body.size());
  }
};

/// THE function that turns an error into an HTTP response: gen::problem_for() (status from
/// gen::http_status(), body {"type","title","status","code","detail","field"?}) as
/// application/problem+json.
Response problem(const Error& error);

/// Splits "/a/b%20c/" into {"a", "b c"}; empty segments are dropped.
std::vector<std::string> split_path(std::string_view raw_path);
/// Parses "a=1&b=x%20y" (with '+' as space).
std::map<std::string, std::string> parse_query(std::string_view raw_query);
/// Percent-decodes; `plus_is_space` for query strings. Invalid escapes are kept verbatim.
std::string percent_decode(std::string_view in, bool plus_is_space);
/// Percent-encodes one path segment (RFC 3986 unreserved characters stay).
std::string percent_encode(std::string_view in);

}  // namespace gen::backend
