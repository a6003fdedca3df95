// The Poco edge: an HTTP server that turns each Poco request into a gen::backend::Request,
// runs Api::handle() and writes the Response back. Nothing else in the backend sees Poco::Net.
#pragma once

#include <chrono>
#include <memory>
#include <string>

namespace gen::backend {

class Api;
class HttpMetrics;

class HttpServer {
 public:
  /// Binds host:port (SO_REUSEADDR) right away. Throws gen::Error(kInvalidConfiguration,
  /// field HOSTING__PORT) when the address cannot be bound, e.g. the port is taken.
  /// `api` and `metrics` must outlive the server.
  HttpServer(const Api& api, HttpMetrics& metrics, const std::string& host, int port,
             int max_threads);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void start();
  /// Stops accepting, lets in-flight requests finish for up to `grace`, then closes the rest.
  void stop(std::chrono::milliseconds grace);
  /// The bound port (useful with port 0).
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gen::backend
