// The HTTP/1.1 edge (server.hpp). Why not Poco's HTTPServer any more: it gives each connection
// a pool thread that blocks reading the request head, so eight idle connections stopped
// /health and slow header drips blocked every client (issue 13), and its parser accepts the
// request-smuggling forms RFC 9112 says to refuse.
//
// Design: one I/O thread runs epoll over the listening socket and every connection. It
// accepts (caps per client address and in all), reads a request head under a deadline and a
// size limit, parses it strictly (http_head.hpp), buffers the body (Content-Length or
// chunked, a deadline between reads, the size limit), and only then hands the COMPLETE
// request to the request-thread pool. The pool thread runs Api::handle(), serializes the
// response and sends what the socket takes at once; a remainder (a client reading slowly)
// goes back to the I/O thread. Two things run on a pool thread against the socket, each with
// a deadline per read or write, together at most half the pool at once so that slow clients
// cannot take every thread: streamed uploads (Api::streams_body: multipart submissions go to
// storage as they arrive) and streamed downloads (Response::body_writer). After a response the
// connection returns to the I/O thread (keep-alive, idle deadline); pipelined requests are
// served in order, one at a time per connection.
//
// The files of the edge: server_impl.hpp names them and what runs where.
#include "gen/backend/server.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <Poco/Net/NetException.h>
#include <Poco/Net/SocketAddress.h>

#include "gen/core/base/errors.hpp"
#include "gen/core/base/log.hpp"
#include "server_impl.hpp"

namespace gen::backend {

using edge::Clock;
using edge::kTick;
using std::chrono::milliseconds;

void HttpServer::Impl::wake() {
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd, &one, sizeof one);
}

void HttpServer::Impl::set_interest(Conn& c, std::uint32_t events) {
  if (c.events == events) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = c.fd;
  int op = c.events == 0 ? EPOLL_CTL_ADD : events == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
  ::epoll_ctl(epoll_fd, op, c.fd, &ev);
  c.events = events;
}

void HttpServer::Impl::check_deadlines(Clock::time_point now) {
  std::vector<ConnPtr> expired;
  for (auto& [fd, c] : conns) {
    if (c->phase != Conn::Phase::kBusy && now >= c->deadline) expired.push_back(c);
  }
  for (const ConnPtr& c : expired) {
    if (c->phase == Conn::Phase::kHead && !c->idle && !c->in.empty()) {
      log::debug("request head timed out", {{"field", "HOSTING__HEADER_TIMEOUT_MS"}});
    } else if (c->phase == Conn::Phase::kBody) {
      log::debug("request body timed out", {{"field", "HOSTING__BODY_TIMEOUT_MS"}});
    }
    close_conn(c);
  }
}

void HttpServer::Impl::loop() {
  epoll_event events[256];
  for (;;) {
    int n = ::epoll_wait(epoll_fd, events, 256, static_cast<int>(kTick.count()));
    auto now = Clock::now();
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == listen_fd) {
        if (!stopping) accept_all(now);
      } else if (fd == wake_fd) {
        std::uint64_t count = 0;
        [[maybe_unused]] auto r = ::read(wake_fd, &count, sizeof count);
        std::vector<ConnPtr> back;
        {
          std::lock_guard lock(returned_mutex);
          back.swap(returned);
        }
        for (const ConnPtr& c : back) resume(c, now);
      } else {
        auto it = conns.find(fd);
        if (it != conns.end()) on_event(ConnPtr(it->second), events[i].events, now);
      }
    }
    if (stopping && accepting) {
      ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, listen_fd, nullptr);
      accepting = false;
      // Connections between requests are closed now; the others finish their request.
      std::vector<ConnPtr> idle;
      for (auto& [fd, c] : conns) {
        if ((c->phase == Conn::Phase::kHead && c->in.empty()) || c->phase == Conn::Phase::kLinger) {
          idle.push_back(c);
        }
      }
      for (const ConnPtr& c : idle) close_conn(c);
    }
    if (aborting) {
      std::vector<ConnPtr> all;
      for (auto& [fd, c] : conns) all.push_back(c);
      for (const ConnPtr& c : all) {
        if (c->phase == Conn::Phase::kBusy) {
          ::shutdown(c->fd, SHUT_RDWR);  // its request thread fails fast and returns it
        } else {
          close_conn(c);
        }
      }
      if (exiting) return;
    }
    if (now >= next_tick) {
      next_tick = now + kTick;
      if (!accepting && !stopping && now >= accept_paused_until) resume_accepting();
      check_deadlines(now);
    }
  }
}

HttpServer::HttpServer(const Api& api, HttpMetrics& metrics, const std::string& host, int port,
                       ServerOptions options)
    : impl_(std::make_unique<Impl>(api, metrics, options)) {
  try {
    // SO_REUSEADDR (restart while old connections linger in TIME_WAIT), never SO_REUSEPORT:
    // a second backend on a taken port must fail, not share it.
    impl_->socket.bind(Poco::Net::SocketAddress(host, static_cast<Poco::UInt16>(port)),
                       /*reuseAddress=*/true, /*reusePort=*/false);
    impl_->socket.listen(1024);
  } catch (const Poco::Exception& e) {
    throw Error(ErrorCode::kInvalidConfiguration,
                "cannot listen on " + host + ":" + std::to_string(port) + ": " + e.displayText() +
                    (e.code() == EADDRINUSE || e.displayText().find("in use") != std::string::npos
                         ? " (another process holds the port; change HOSTING__PORT)"
                         : ""),
                "HOSTING__PORT");
  }
  ServerOptions& o = impl_->options;
  o.threads = std::max(2, o.threads);
  // Each connection is a file descriptor: take the hard limit, and keep the cap below it
  // (room for the database, plugins, storage files).
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0) {
    if (files.rlim_cur < files.rlim_max) {
      rlim_t wanted = std::min<rlim_t>(files.rlim_max, 1 << 20);
      rlimit raised{wanted, files.rlim_max};
      if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) files.rlim_cur = wanted;
    }
    auto room = static_cast<long long>(files.rlim_cur) - 256 - 2 * o.threads;
    if (room < o.max_connections) {
      log::warning("HOSTING__MAX_CONNECTIONS capped by the file descriptor limit",
                   {{"configured", o.max_connections}, {"effective", std::max(64ll, room)}});
      o.max_connections = static_cast<int>(std::max(64ll, room));
    }
  }
  impl_->limits.max_head_bytes = o.max_header_bytes;
  impl_->listen_fd = impl_->socket.impl()->sockfd();
  impl_->socket.setBlocking(false);
  impl_->epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  impl_->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (impl_->epoll_fd < 0 || impl_->wake_fd < 0) {
    throw Error(ErrorCode::kInternal, std::string("epoll/eventfd: ") + std::strerror(errno));
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = impl_->wake_fd;
  ::epoll_ctl(impl_->epoll_fd, EPOLL_CTL_ADD, impl_->wake_fd, &ev);
}

HttpServer::~HttpServer() {
  if (impl_->io.joinable()) stop(milliseconds(0));
  if (impl_->epoll_fd >= 0) ::close(impl_->epoll_fd);
  if (impl_->wake_fd >= 0) ::close(impl_->wake_fd);
}

void HttpServer::start() {
  const int slow_cap = std::max(1, impl_->options.threads / 2);
  impl_->pool = std::make_unique<edge::Pool>(impl_->options.threads, slow_cap);
  impl_->resume_accepting();
  impl_->io = std::thread([this] { impl_->loop(); });
}

void HttpServer::stop(std::chrono::milliseconds grace) {
  if (!impl_->io.joinable()) return;
  impl_->stopping = true;
  impl_->wake();
  auto deadline = Clock::now() + grace;
  while (impl_->open > 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  impl_->aborting = true;
  impl_->wake();
  impl_->pool->stop();  // requests still running finish (their sockets are shut down)
  impl_->exiting = true;
  impl_->wake();
  impl_->io.join();
  for (auto& [fd, c] : impl_->conns) ::close(fd);
  impl_->conns.clear();
}

int HttpServer::port() const {
  return impl_->socket.address().port();
}

}  // namespace gen::backend
