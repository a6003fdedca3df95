#include "http_endpoint.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "gen/core/base/log.hpp"
#include "gen/core/metrics/metrics.hpp"
#include "gen/core/storage/database.hpp"

namespace gen::worker {
namespace {

constexpr std::size_t kMaxRequestHeadBytes = 16 * 1024;
constexpr int kMaxConnections = 64;
constexpr int kReadTimeoutS = 5;

struct HttpRequest {
  std::string method, path;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

const char* reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

HttpReply problem(int status, const std::string& code, const std::string& detail) {
  HttpReply r;
  r.status = status;
  r.content_type = "application/problem+json";
  std::string type = code;
  for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  r.body = nlohmann::json{
      {"type", "https://generator.dev/problems/" + type},
      {"title", reason(status)},
      {"status", status},
      {"code", code},
      {"detail",
       detail}}.dump();
  return r;
}

// Reads the request head (request line + headers); the endpoint takes no bodies.
bool read_request(int fd, HttpRequest& out) {
  std::string head;
  char buffer[4096];
  while (head.find("\r\n\r\n") == std::string::npos) {
    if (head.size() > kMaxRequestHeadBytes) return false;
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return false;
    head.append(buffer, static_cast<std::size_t>(n));
  }
  head.resize(head.find("\r\n\r\n"));
  std::size_t line_end = head.find("\r\n");
  std::string_view line = std::string_view(head).substr(0, line_end);
  auto sp1 = line.find(' ');
  auto sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) return false;
  out.method = std::string(line.substr(0, sp1));
  std::string target(line.substr(sp1 + 1, sp2 - sp1 - 1));
  out.path = target.substr(0, target.find('?'));
  std::size_t pos = line_end;
  while (pos != std::string::npos && pos < head.size()) {
    pos += 2;
    std::size_t end = head.find("\r\n", pos);
    std::string_view h = std::string_view(head).substr(
        pos, end == std::string::npos ? head.size() - pos : end - pos);
    pos = end;
    auto colon = h.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = h.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    out.headers.emplace_back(std::string(h.substr(0, colon)), std::string(value));
  }
  return true;
}

void send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

class Endpoint {
 public:
  Endpoint(const Settings& settings, const MetricsRegion& metrics)
      : settings_(settings), metrics_(metrics) {
    readiness_.add("database", [this] { return check_database(); });
    readiness_.add("plugins", [this] { return check_workers(); });
  }

  void serve(int listen_fd) {
    for (;;) {
      int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        log::error("metrics endpoint: accept failed", {{"error", std::strerror(errno)}});
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
      if (connections_.fetch_add(1) >= kMaxConnections) {
        connections_.fetch_sub(1);
        ::close(fd);
        continue;
      }
      std::thread([this, fd] {
        handle(fd);
        ::close(fd);
        connections_.fetch_sub(1);
      }).detach();
    }
  }

 private:
  void handle(int fd) {
    timeval tv{kReadTimeoutS, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    HttpRequest request;
    HttpReply reply;
    if (!read_request(fd, request)) {
      reply = problem(400, "BAD_REQUEST", "could not read the request");
    } else {
      try {
        reply = route(request);
      } catch (const std::exception& e) {
        log::error("metrics endpoint: request failed",
                   {{"path", request.path}, {"error", e.what()}});
        reply = problem(500, "INTERNAL_ERROR", "the request failed (see the worker's log)");
      }
    }
    std::string head = "HTTP/1.1 " + std::to_string(reply.status) + " " + reason(reply.status) +
                       "\r\nContent-Type: " + reply.content_type +
                       "\r\nContent-Length: " + std::to_string(reply.body.size()) +
                       "\r\nCache-Control: no-store\r\nConnection: close\r\n" +
                       (reply.status == 405 ? "Allow: GET, HEAD\r\n" : "") + "\r\n";
    send_all(fd, head);
    if (request.method != "HEAD") send_all(fd, reply.body);
  }

  HttpReply route(const HttpRequest& request) {
    const bool metrics = settings_.enable_metrics && request.path == "/metrics";
    if (request.path != "/health" && request.path != "/ready" && !metrics) {
      return problem(404, "NOT_FOUND", "no route for " + request.method + " " + request.path);
    }
    if (request.method != "GET" && request.method != "HEAD") {
      return problem(
          405, "METHOD_NOT_ALLOWED",
          request.method + " is not allowed on " + request.path + "; allowed: GET, HEAD");
    }
    if (request.path == "/health") return {200, "application/json", R"({"status":"ok"})"};
    if (request.path == "/ready") {
      metrics::Readiness::Report report = readiness_.run();
      return {report.ready ? 200 : 503, "application/json", std::move(report.json)};
    }
    // /metrics: never through a proxy or load balancer.
    for (const auto& [name, value] : request.headers) {
      if (metrics::is_forwarded_header(name)) {
        return problem(404, "NOT_FOUND",
                       "/metrics is not served to forwarded requests (" + name + " is set)");
      }
    }
    return {200, std::string(metrics::kContentType), metrics::serialize(metrics_.collect())};
  }

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
  std::atomic<int> connections_{0};
};

}  // namespace

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
    // Lives until _exit, like the worker processes' state.
    auto* endpoint = new Endpoint(settings, metrics);
    std::thread([endpoint, listen_fd] { endpoint->serve(listen_fd); }).detach();
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
