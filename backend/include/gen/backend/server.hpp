// The HTTP edge: a server that reads HTTP/1.1 requests off the wire, turns each into a
// gen::backend::Request, runs Api::handle() and writes the Response back. Nothing else in the
// backend sees sockets.
//
// One I/O thread owns every connection while it is idle, reading a request head or buffering
// a body, and while it writes a response the client reads slowly; a fixed pool of request
// threads sees only complete requests. So idle, slow or silent clients cost a file descriptor
// and a few bytes each, never a request thread; each phase has a deadline, and connections are
// capped per client address and in all (docs/security.md).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace gen::backend {

class Api;
class HttpMetrics;

/// The edge's limits (HOSTING__* settings; README.md's table).
struct ServerOptions {
  int threads = 8;  ///< request threads (HOSTING__THREADS)
  /// From a connection's first byte of a request (or its accept) to the end of the head.
  int header_timeout_ms = 10000;
  /// Longest wait for the next bytes of a request body, or for the client to take more of a
  /// response.
  int body_timeout_ms = 10000;
  /// A kept-alive connection with no request in progress is closed after this.
  int idle_timeout_ms = 60000;
  /// Connections open at once (further ones get 503 and are closed); capped by the file
  /// descriptor limit.
  int max_connections = 10000;
  /// Connections open at once from one client address (IPv6: one /64); 0 = no cap. Further
  /// ones get 429 and are closed.
  int max_connections_per_client = 128;
  /// The request line and header fields together (431 beyond).
  std::size_t max_header_bytes = 32 * 1024;
};

class HttpServer {
 public:
  /// Binds host:port (SO_REUSEADDR) right away. Throws gen::Error(kInvalidConfiguration,
  /// field HOSTING__PORT) when the address cannot be bound, e.g. the port is taken.
  /// `api` and `metrics` must outlive the server.
  HttpServer(const Api& api, HttpMetrics& metrics, const std::string& host, int port,
             ServerOptions options);
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
