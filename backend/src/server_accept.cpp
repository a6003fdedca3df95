// Accepting connections on the HTTP edge's I/O thread: the caps on connections in all and
// per client address (refused with 503 or 429 and closed), a pause when out of descriptors,
// and closing a connection (server_impl.hpp).
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "gen/core/base/log.hpp"
#include "server_impl.hpp"
#include "server_wire.hpp"

namespace gen::backend {

using edge::Clock;
using edge::Conn;
using edge::ConnPtr;
using edge::kTick;

namespace {

// The key a connection counts under for the per-client cap: the IPv4 address, or the /64 of
// an IPv6 one (one subscriber usually holds a whole /64).
std::string client_key(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(ss);
    return std::string(reinterpret_cast<const char*>(&a.sin_addr), 4);
  }
  if (ss.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(ss);
    const auto* bytes = reinterpret_cast<const char*>(&a.sin6_addr);
    if (IN6_IS_ADDR_V4MAPPED(&a.sin6_addr)) return std::string(bytes + 12, 4);
    return std::string(bytes, 8);
  }
  return {};
}

}  // namespace

void HttpServer::Impl::close_conn(const ConnPtr& c) {
  set_interest(*c, 0);
  ::close(c->fd);
  if (!c->client.empty()) {
    auto it = per_client.find(c->client);
    if (it != per_client.end() && --it->second <= 0) per_client.erase(it);
  }
  conns.erase(c->fd);
  open = conns.size();
}

void HttpServer::Impl::refuse_connection(int fd, int status, const std::string& detail) {
  Response r = edge::edge_problem(status, detail);
  std::string text = edge::serialize_head(r, true, 1) + r.body;
  edge::send_now(fd, text.data(), text.size());
  ::close(fd);
}

void HttpServer::Impl::accept_all(Clock::time_point now) {
  for (;;) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    int fd =
        ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors: stop accepting for a moment instead of spinning.
        log::warning("cannot accept a connection", {{"error", std::strerror(errno)}});
        pause_accepting(now);
      }
      return;
    }
    std::string key = client_key(ss);
    if (conns.size() >= static_cast<std::size_t>(options.max_connections)) {
      refuse_connection(fd, 503,
                        "too many connections (HOSTING__MAX_CONNECTIONS = " +
                            std::to_string(options.max_connections) + ")");
      continue;
    }
    int& count = per_client[key];
    if (options.max_connections_per_client > 0 && count >= options.max_connections_per_client) {
      refuse_connection(fd, 429,
                        "too many connections from this address "
                        "(HOSTING__MAX_CONNECTIONS_PER_CLIENT = " +
                            std::to_string(options.max_connections_per_client) + ")");
      continue;
    }
    ++count;
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto c = std::make_shared<Conn>();
    c->fd = fd;
    c->client = std::move(key);
    c->deadline = now + header_timeout();
    conns.emplace(fd, c);
    open = conns.size();
    set_interest(*c, EPOLLIN);
  }
}

void HttpServer::Impl::pause_accepting(Clock::time_point now) {
  if (!accepting) return;
  ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, listen_fd, nullptr);
  accepting = false;
  accept_paused_until = now + kTick;
}

void HttpServer::Impl::resume_accepting() {
  if (accepting || stopping) return;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listen_fd;
  ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listen_fd, &ev);
  accepting = true;
}

}  // namespace gen::backend
