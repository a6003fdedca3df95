#include "http_endpoint.hpp"

#include <netdb.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/ServerSocketImpl.h>
#include <Poco/ThreadPool.h>

#include "gen/core/base/log.hpp"
#include "gen/core/base/problem.hpp"
#include "gen/core/metrics/metrics.hpp"
#include "gen/core/storage/database.hpp"

namespace gen::worker {
namespace {

// A thread per connection, as many as kMaxThreads at once (a slow or idle client holds one
// for at most kTimeoutS per read); up to kMaxQueued more wait for a thread, and beyond that
// Poco closes new connections at once. One request per connection (Connection: close).
constexpr int kMaxThreads = 64;
constexpr int kMaxQueued = 64;
constexpr int kTimeoutS = 5;

struct Reply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

Reply problem(ErrorCode code, const std::string& detail) {
  Problem p = problem_for(Error(code, detail));
  return {p.status, std::string(kProblemContentType), std::move(p.body)};
}

class Endpoint {
 public:
  Endpoint(const Settings& settings, const MetricsRegion& metrics)
      : settings_(settings), metrics_(metrics) {
    readiness_.add("database", [this] { return check_database(); });
    readiness_.add("plugins", [this] { return check_workers(); });
  }

  // `path` without the query.
  Reply route(const Poco::Net::HTTPServerRequest& request, const std::string& path) {
    const std::string& method = request.getMethod();
    const bool metrics = settings_.enable_metrics && path == "/metrics";
    if (path != "/health" && path != "/ready" && !metrics) {
      return problem(ErrorCode::kNotFound, "no route for " + method + " " + path);
    }
    if (method != "GET" && method != "HEAD") {
      return problem(ErrorCode::kMethodNotAllowed,
                     method + " is not allowed on " + path + "; allowed: GET, HEAD");
    }
    if (path == "/health") return {200, "application/json", R"({"status":"ok"})"};
    if (path == "/ready") {
      metrics::Readiness::Report report = readiness_.run();
      return {report.ready ? 200 : 503, "application/json", std::move(report.json)};
    }
    // /metrics: never through a proxy or load balancer.
    for (const auto& [name, value] : request) {
      if (metrics::is_forwarded_header(name)) {
        return problem(ErrorCode::kNotFound,
                       "/metrics is not served to forwarded requests (" + name + " is set)");
      }
    }
    return {200, std::string(metrics::kContentType), metrics::serialize(metrics_.collect())};
  }

 private:
  metrics::CheckResult check_database() {
    std::lock_guard lock(db_mutex_);
    if (!db_) db_ = Database::open(settings_.database_url, 1);  // throws: not ready
    return metrics::check_database(*db_);
  }

  metrics::CheckResult check_workers() const {
    MetricsRegion::Liveness l = metrics_.liveness();
    metrics::CheckResult r;
    r.ok = l.ready > 0 && l.min_generators > 0;
    r.detail = std::to_string(l.running) + " of " + std::to_string(l.configured) +
               " worker process(es) running, " + std::to_string(l.ready) +
               " with plugins loaded (" +
               (l.min_generators < 0 ? std::string("none") : std::to_string(l.min_generators)) +
               " generator(s) available)";
    return r;
  }

  const Settings& settings_;
  const MetricsRegion& metrics_;
  metrics::Readiness readiness_;
  std::mutex db_mutex_;
  std::unique_ptr<Database> db_;
};

class Handler final : public Poco::Net::HTTPRequestHandler {
 public:
  explicit Handler(Endpoint& endpoint) : endpoint_(endpoint) {}

  void handleRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response) override {
    const std::string path = request.getURI().substr(0, request.getURI().find('?'));
    Reply reply;
    try {
      reply = endpoint_.route(request, path);
    } catch (const std::exception& e) {
      log::error("metrics endpoint: request failed", {{"path", path}, {"error", e.what()}});
      reply = problem(ErrorCode::kInternal, "the request failed (see the worker's log)");
    }
    response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(reply.status));
    response.setContentType(reply.content_type);
    response.set("Cache-Control", "no-store");
    if (reply.status == 405) response.set("Allow", "GET, HEAD");
    response.setKeepAlive(false);
    response.sendBuffer(reply.body.data(), reply.body.size());  // the head alone for HEAD
  }

 private:
  Endpoint& endpoint_;
};

class HandlerFactory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit HandlerFactory(Endpoint& endpoint) : endpoint_(endpoint) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new Handler(endpoint_);
  }

 private:
  Endpoint& endpoint_;
};

// The socket bind_endpoint() made, listening already, as a Poco ServerSocket (which owns it
// from then on). Poco 1.11 has no public constructor for that (ServerSocket::fromFileDescriptor
// came in 1.12), so the protected ones are reached through these two subclasses.
class ListeningSocketImpl final : public Poco::Net::ServerSocketImpl {
 public:
  explicit ListeningSocketImpl(int fd) { reset(fd); }
};

class ListeningSocket final : public Poco::Net::ServerSocket {
 public:
  explicit ListeningSocket(int fd) : ServerSocket(new ListeningSocketImpl(fd), true) {}
};

}  // namespace

// Raw sockets on purpose: the supervisor binds the port once, before any fork, and keeps the
// plain descriptor (close-on-exec, closed by hand in every other child) across endpoint
// restarts. A Poco socket object there would be a reference-counted handle that closes the
// port when its last copy goes, copied into every forked process.
int bind_endpoint(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found) != 0) {
    errno = EADDRNOTAVAIL;
    return -1;
  }
  int fd = -1;
  for (addrinfo* a = found; a; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // never SO_REUSEPORT
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 128) == 0) break;
    int saved = errno;
    ::close(fd);
    fd = -1;
    errno = saved;
  }
  ::freeaddrinfo(found);
  return fd;
}

void run_endpoint_process(const Settings& settings, int listen_fd, const MetricsRegion& metrics) {
  const pid_t parent = ::getppid();
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent) ::_exit(0);
  try {
    // These live until _exit, like the worker processes' state: nothing is torn down.
    auto* endpoint = new Endpoint(settings, metrics);
    auto* threads = new Poco::ThreadPool(1, kMaxThreads);
    Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(kMaxThreads);
    params->setMaxQueued(kMaxQueued);
    params->setTimeout(Poco::Timespan(kTimeoutS, 0));
    params->setKeepAlive(false);
    auto* server = new Poco::Net::HTTPServer(new HandlerFactory(*endpoint), *threads,
                                             ListeningSocket(listen_fd), params);
    server->start();
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int sig = 0;
    sigwait(&set, &sig);  // blocked since the supervisor's fork
  } catch (const std::exception& e) {
    log::error("metrics endpoint failed", {{"error", e.what()}});
  }
  std::fflush(stderr);
  ::_exit(0);
}

}  // namespace gen::worker
