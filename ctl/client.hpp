// generatorctl's HTTP client: one request per call over Poco's HTTPClientSession, the bearer
// token and tenant sent on every call, problem+json errors turned into CtlError.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace gen::ctl {

/// Process exit codes (documented in docs/api.md#generatorctl and `generatorctl --help`).
enum ExitCode : int {
  kExitOk = 0,
  kExitApiError = 1,     ///< the server refused the request (4xx)
  kExitUsage = 2,        ///< bad command line
  kExitUnreachable = 3,  ///< no connection to the server
  kExitJobFailed = 4,    ///< --wait: the job ended FAILED or CANCELLED
  kExitServerError = 5,  ///< the server failed (5xx)
  kExitTimeout = 6,      ///< --wait: the job did not end in time
};

/// An error with the exit code it maps to.
class CtlError : public std::runtime_error {
 public:
  CtlError(int exit_code, const std::string& message)
      : std::runtime_error(message), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

struct HttpResult {
  int status = 0;
  std::map<std::string, std::string> headers;  ///< names lowercased
  std::string body;
  nlohmann::json json() const;
};

/// A request body written while it is sent (files streamed from disk, never whole in
/// memory): its exact length and the function that writes it.
struct BodyWriter {
  std::int64_t length = 0;
  std::function<void(std::ostream&)> write;
};

class Client {
 public:
  /// `url` like http://127.0.0.1:8080; throws CtlError(kExitUsage) when malformed.
  Client(const std::string& url, std::string token, std::string tenant);

  /// Sends the request; throws CtlError for connection failures and (unless `allow_error`)
  /// for 4xx/5xx answers, with the problem's detail and field.
  HttpResult request(const std::string& method, const std::string& path,
                     const std::string& body = {}, const std::string& content_type = {},
                     const std::map<std::string, std::string>& headers = {},
                     bool allow_error = false) const;
  /// Like request(), with the body from `body` and, when `sink` is set, a successful answer's
  /// body copied to `sink` as it arrives (HttpResult::body then stays empty).
  HttpResult stream(const std::string& method, const std::string& path, const BodyWriter* body,
                    const std::string& content_type,
                    const std::map<std::string, std::string>& headers, std::ostream* sink) const;
  nlohmann::json get_json(const std::string& path) const;
  nlohmann::json send_json(const std::string& method, const std::string& path,
                           const nlohmann::json& body) const;

 private:
  HttpResult send(const std::string& method, const std::string& path, const BodyWriter* body,
                  const std::string& content_type,
                  const std::map<std::string, std::string>& headers, std::ostream* sink,
                  bool allow_error) const;
  std::string host_;
  unsigned short port_ = 8080;
  std::string token_;
  std::string tenant_;
};

/// Percent-encodes one path segment.
std::string encode_segment(const std::string& in);

}  // namespace gen::ctl
