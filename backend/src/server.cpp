#include "gen/backend/server.hpp"

#include <chrono>
#include <exception>
#include <istream>
#include <thread>

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/ThreadPool.h>

#include "gen/backend/api.hpp"
#include "gen/backend/metrics.hpp"
#include "gen/core/log.hpp"

namespace gen::backend {
namespace {

// Bytes of an oversized body read (and dropped) before answering 413, so that a client
// still sending gets the answer instead of a connection reset.
constexpr std::int64_t kMaxDrainBytes = 4ll * 1024 * 1024;

Request to_request(Poco::Net::HTTPServerRequest& in) {
  Request r;
  r.method = in.getMethod();
  const std::string& uri = in.getURI();
  auto q = uri.find('?');
  r.raw_path = uri.substr(0, q);
  r.path = split_path(r.raw_path);
  if (q != std::string::npos) r.query = parse_query(std::string_view(uri).substr(q + 1));
  for (const auto& [name, value] : in) r.headers[name] = value;
  return r;
}

bool announces_body(const Poco::Net::HTTPServerRequest& in) {
  return in.getChunkedTransferEncoding() || (in.hasContentLength() && in.getContentLength64() > 0);
}

// Reads the body when the request announces one; false when it exceeds `limit`.
bool read_body(Poco::Net::HTTPServerRequest& in, std::int64_t limit, std::string& body) {
  if (!announces_body(in)) return true;
  std::istream& stream = in.stream();
  if (in.hasContentLength() && in.getContentLength64() > limit) {
    stream.ignore(kMaxDrainBytes);
    return false;
  }
  char buffer[64 * 1024];
  while (stream) {
    stream.read(buffer, sizeof buffer);
    body.append(buffer, static_cast<std::size_t>(stream.gcount()));
    if (static_cast<std::int64_t>(body.size()) > limit) {
      body.clear();
      stream.ignore(kMaxDrainBytes);
      return false;
    }
  }
  return true;
}

void write_response(const Response& out, Poco::Net::HTTPServerResponse& response, bool close,
                    bool head) {
  response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(out.status));
  for (const auto& [name, value] : out.headers) response.set(name, value);
  if (close) response.setKeepAlive(false);
  if (out.status == 204 || out.status == 304) {
    response.send();  // no Content-Length on 204 (RFC 9110 8.6)
    return;
  }
  if (!out.content_type.empty()) response.setContentType(out.content_type);
  if (out.body_writer) {  // streamed: a known length, written piece by piece
    response.setContentLength64(out.body_length);
    std::ostream& stream = response.send();
    if (!head) out.body_writer(stream);
    return;
  }
  response.sendBuffer(out.body.data(), out.body.size());
}

class Handler final : public Poco::Net::HTTPRequestHandler {
 public:
  Handler(const Api& api, HttpMetrics& metrics) : api_(api), metrics_(metrics) {}

  void handleRequest(Poco::Net::HTTPServerRequest& in,
                     Poco::Net::HTTPServerResponse& response) override {
    auto started = std::chrono::steady_clock::now();
    metrics_.begin();
    Request request;
    Response out;
    bool close = false;
    bool streamed = false;
    std::int64_t body_bytes = 0;
    try {
      request = to_request(in);
      streamed = api_.streams_body(request);
      if (streamed) {
        // The handler reads it (multipart uploads go to storage chunk by chunk) and enforces
        // the tenant's limit itself.
        if (announces_body(in)) request.body_stream = &in.stream();
        if (in.hasContentLength()) body_bytes = in.getContentLength64();
        out = api_.handle(request);
        // What the handler left unread (it failed early): a little is drained so that the
        // client gets the answer, more closes the connection.
        if (request.body_stream) {
          std::istream& rest = in.stream();
          if (rest.good()) rest.ignore(kMaxDrainBytes);
          if (!rest.eof()) close = true;
        }
      } else if (!read_body(in, api_.options().max_request_bytes, request.body)) {
        close = true;
        out = problem(Error(ErrorCode::kPayloadTooLarge,
                            "request body is larger than LIMITS__MAX_REQUEST_BYTES (" +
                                std::to_string(api_.options().max_request_bytes) + " bytes)"));
      } else {
        out = api_.handle(request);
      }
    } catch (const std::exception& e) {  // reading the request failed (client went away ...)
      close = true;
      log::warning("bad request", {{"error", e.what()}});
      out = problem(Error(ErrorCode::kBadRequest, "could not read the request"));
    }
    std::exception_ptr broken;
    try {
      write_response(out, response, close, request.method == "HEAD");
    } catch (const std::exception& e) {
      log::debug("could not write the response", {{"error", e.what()}});
      // A streamed body broke off after its headers went out: drop the connection so that
      // the client sees a short body, never a next response glued to it.
      if (out.body_writer && response.sent()) broken = std::current_exception();
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (!streamed) body_bytes = static_cast<std::int64_t>(request.body.size());
    metrics_.observe(request.method, api_.route_of(request), out.status, seconds,
                     static_cast<std::size_t>(body_bytes),
                     static_cast<std::size_t>(out.content_length()));
    if (broken) std::rethrow_exception(broken);
  }

 private:
  const Api& api_;
  HttpMetrics& metrics_;
};

class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Factory(const Api& api, HttpMetrics& metrics) : api_(api), metrics_(metrics) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new Handler(api_, metrics_);
  }

 private:
  const Api& api_;
  HttpMetrics& metrics_;
};

}  // namespace

struct HttpServer::Impl {
  Poco::Net::ServerSocket socket;
  std::unique_ptr<Poco::ThreadPool> pool;
  std::unique_ptr<Poco::Net::HTTPServer> server;
};

HttpServer::HttpServer(const Api& api, HttpMetrics& metrics, const std::string& host, int port,
                       int max_threads)
    : impl_(std::make_unique<Impl>()) {
  try {
    // SO_REUSEADDR (restart while old connections linger in TIME_WAIT), never SO_REUSEPORT:
    // a second backend on a taken port must fail, not share it.
    impl_->socket.bind(Poco::Net::SocketAddress(host, static_cast<Poco::UInt16>(port)),
                       /*reuseAddress=*/true, /*reusePort=*/false);
    impl_->socket.listen(256);
  } catch (const Poco::Exception& e) {
    throw Error(ErrorCode::kInvalidConfiguration,
                "cannot listen on " + host + ":" + std::to_string(port) + ": " + e.displayText() +
                    (e.code() == EADDRINUSE || e.displayText().find("in use") != std::string::npos
                         ? " (another process holds the port; change HOSTING__PORT)"
                         : ""),
                "HOSTING__PORT");
  }
  // Poco's default pool caps at 16 threads: give the server its own, sized by settings.
  impl_->pool = std::make_unique<Poco::ThreadPool>(2, std::max(2, max_threads), 60);
  auto* params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(std::max(2, max_threads));
  params->setMaxQueued(1024);
  params->setKeepAlive(true);
  params->setTimeout(Poco::Timespan(60, 0));
  params->setServerName("generator-backend");
  impl_->server = std::make_unique<Poco::Net::HTTPServer>(new Factory(api, metrics), *impl_->pool,
                                                          impl_->socket, params);
}

HttpServer::~HttpServer() {
  if (impl_->server) impl_->server->stopAll(true);
}

void HttpServer::start() {
  impl_->server->start();
}

void HttpServer::stop(std::chrono::milliseconds grace) {
  impl_->server->stop();
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (impl_->server->currentConnections() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  impl_->server->stopAll(true);
  impl_->pool->joinAll();
}

int HttpServer::port() const {
  return impl_->socket.address().port();
}

}  // namespace gen::backend
