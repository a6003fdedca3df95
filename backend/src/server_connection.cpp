// The connection state machine on the HTTP edge's I/O thread (server_impl.hpp): read a
// request head under its deadline and size limit and parse it strictly, buffer the body, hand
// the complete request to a request thread, write what a slow reader did not take at once,
// then keep-alive (idle deadline, pipelined requests in order) or a lingering close.
//
//   kHead --head parsed--> kBody --body complete--> kBusy (a request thread owns it)
//   kHead --head of a streamed upload--> kBusy (the request thread reads the body)
//   kBusy --handed back--> [kWrite: a slow reader takes the rest] --> kHead (keep-alive)
//                                                                  or kLinger --> closed
//   a refusal at the edge (400, 413, 431 ...) --> [kWrite] --> kLinger --> closed
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "gen/backend/api.hpp"
#include "gen/backend/metrics.hpp"
#include "gen/core/base/log.hpp"
#include "server_impl.hpp"
#include "server_wire.hpp"

namespace gen::backend {

using edge::Clock;
using edge::Conn;
using edge::ConnPtr;
using std::chrono::milliseconds;

namespace {

std::string too_large(std::int64_t limit) {
  return "request body is larger than LIMITS__MAX_REQUEST_BYTES (" + std::to_string(limit) +
         " bytes)";
}

}  // namespace

void HttpServer::Impl::on_event(const ConnPtr& c, std::uint32_t events, Clock::time_point now) {
  switch (c->phase) {
    case Conn::Phase::kWrite:
      write_out(c, now);
      return;
    case Conn::Phase::kLinger: {
      char buffer[edge::kReadBytes];
      for (;;) {
        ssize_t n = ::recv(c->fd, buffer, sizeof buffer, 0);
        if (n > 0 && static_cast<std::size_t>(n) < c->linger_left) {
          c->linger_left -= static_cast<std::size_t>(n);
          continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
        close_conn(c);  // EOF, an error, or enough dropped
        return;
      }
    }
    case Conn::Phase::kHead:
    case Conn::Phase::kBody:
      if (!read_available(*c) || (events & (EPOLLERR | EPOLLHUP))) {
        // The client closed (or broke) the connection; a request it completed before is
        // still answered only when whole (then it is already dispatched).
        advance(c, now);
        if (c->phase == Conn::Phase::kHead || c->phase == Conn::Phase::kBody) close_conn(c);
        return;
      }
      if (c->phase == Conn::Phase::kBody) c->deadline = now + body_timeout();
      advance(c, now);
      return;
    case Conn::Phase::kBusy:
      return;
  }
}

bool HttpServer::Impl::read_available(Conn& c) {
  char buffer[edge::kReadBytes];
  for (int round = 0; round < 4; ++round) {
    ssize_t n = ::recv(c.fd, buffer, sizeof buffer, 0);
    if (n > 0) {
      c.in.append(buffer, static_cast<std::size_t>(n));
      if (static_cast<std::size_t>(n) < sizeof buffer) return true;
      if (c.phase == Conn::Phase::kHead && c.in.size() > options.max_header_bytes) return true;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;
  }
  return true;
}

void HttpServer::Impl::advance(const ConnPtr& c, Clock::time_point now) {
  if (c->phase == Conn::Phase::kHead) {
    if (c->idle) {
      c->in.erase(0, http::skip_leading_empty_lines(c->in));
      if (c->in.empty()) return;
      c->idle = false;
      c->deadline = now + header_timeout();
    }
    std::size_t end = http::find_head_end(c->in);
    if (end == std::string::npos) {
      if (c->in.size() > options.max_header_bytes) {
        respond_at_edge(c, 431,
                        "the request head is larger than HOSTING__MAX_HEADER_BYTES (" +
                            std::to_string(options.max_header_bytes) + " bytes)",
                        now);
      }
      return;
    }
    std::size_t skip = http::skip_leading_empty_lines(c->in);
    http::HeadResult parsed =
        http::parse_request_head(std::string_view(c->in).substr(skip, end - skip), limits);
    c->in.erase(0, end);
    if (!parsed.head) {
      respond_at_edge(c, parsed.error.status, parsed.error.message, now);
      return;
    }
    start_request(c, std::move(*parsed.head), now);
    if (c->phase != Conn::Phase::kBody) return;
  }
  if (c->phase == Conn::Phase::kBody && read_body(c, now)) dispatch(c, false);
}

void HttpServer::Impl::start_request(const ConnPtr& c, http::RequestHead head,
                                     Clock::time_point now) {
  c->head = std::move(head);
  c->request = edge::to_request(c->head);
  c->started = now;
  const bool has_body = c->head.chunked || c->head.content_length.value_or(0) > 0;
  if (has_body && api.streams_body(c->request)) {
    c->streamed = true;
    if (c->head.chunked) c->chunked.emplace();
    dispatch(c, true);
    return;
  }
  if (!has_body) {
    dispatch(c, false);
    return;
  }
  const std::int64_t limit = api.options().max_request_bytes;
  if (c->head.content_length.value_or(0) > limit) {
    respond_at_edge(c, 413, too_large(limit), now);
    return;
  }
  c->phase = Conn::Phase::kBody;
  c->deadline = now + body_timeout();
  c->body_left = c->head.content_length.value_or(0);
  if (c->head.chunked) c->chunked.emplace();
  if (c->head.expect_continue && c->in.empty()) {
    static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    if (edge::send_now(c->fd, kContinue.data(), kContinue.size()) !=
        static_cast<ssize_t>(kContinue.size())) {
      close_conn(c);
      return;
    }
  }
}

bool HttpServer::Impl::read_body(const ConnPtr& c, Clock::time_point now) {
  const std::int64_t limit = api.options().max_request_bytes;
  if (c->chunked) {
    std::size_t consumed = 0;
    auto state = c->chunked->feed(c->in, c->request.body, consumed);
    c->in.erase(0, consumed);
    if (state == http::ChunkedDecoder::State::kError) {
      respond_at_edge(c, 400, "malformed chunked body: " + c->chunked->error(), now);
      return false;
    }
    if (static_cast<std::int64_t>(c->request.body.size()) > limit) {
      c->request.body.clear();
      respond_at_edge(c, 413, too_large(limit), now);
      return false;
    }
    return state == http::ChunkedDecoder::State::kDone;
  }
  auto take = static_cast<std::size_t>(
      std::min<std::int64_t>(c->body_left, static_cast<std::int64_t>(c->in.size())));
  c->request.body.append(c->in, 0, take);
  c->in.erase(0, take);
  c->body_left -= static_cast<std::int64_t>(take);
  return c->body_left == 0;
}

void HttpServer::Impl::respond_at_edge(const ConnPtr& c, int status, const std::string& detail,
                                       Clock::time_point now) {
  metrics.begin();
  Response r = edge::edge_problem(status, detail);
  metrics.observe(c->head.method.empty() ? "OTHER" : c->head.method, "unmatched", status, 0.0, 0,
                  r.body.size());
  c->out = edge::serialize_head(r, true, 1) + r.body;
  c->out_pos = 0;
  c->close_after = true;
  write_out(c, now);
}

void HttpServer::Impl::write_out(const ConnPtr& c, Clock::time_point now) {
  ssize_t n = edge::send_now(c->fd, c->out.data() + c->out_pos, c->out.size() - c->out_pos);
  if (n < 0) {
    close_conn(c);
    return;
  }
  c->out_pos += static_cast<std::size_t>(n);
  if (c->out_pos < c->out.size()) {
    // The deadline runs from the last progress (a client that reads slowly but steadily
    // is served; one that stops reading is dropped).
    if (c->phase != Conn::Phase::kWrite || n > 0) c->deadline = now + body_timeout();
    c->phase = Conn::Phase::kWrite;
    set_interest(*c, EPOLLOUT);
    return;
  }
  c->out.clear();
  c->out_pos = 0;
  response_done(c, now);
}

void HttpServer::Impl::response_done(const ConnPtr& c, Clock::time_point now) {
  if (c->close_after || stopping) {
    // Half-close, then read and drop what the client still sends for a moment, so that
    // the answer is not lost to a reset (a lingering close).
    ::shutdown(c->fd, SHUT_WR);
    c->phase = Conn::Phase::kLinger;
    c->in.clear();
    c->linger_left = edge::kMaxDrainBytes;
    c->deadline = now + edge::kLingerTime;
    set_interest(*c, EPOLLIN);
    return;
  }
  c->phase = Conn::Phase::kHead;
  c->idle = true;
  c->deadline = now + milliseconds(options.idle_timeout_ms);
  c->head = {};
  c->request = {};
  c->chunked.reset();
  c->streamed = false;
  set_interest(*c, EPOLLIN);
  advance(c, now);  // a pipelined request may be waiting in c->in
}

void HttpServer::Impl::resume(const ConnPtr& c, Clock::time_point now) {
  if (aborting) {
    close_conn(c);
    return;
  }
  if (c->out_pos < c->out.size()) {
    write_out(c, now);
    return;
  }
  c->out.clear();
  c->out_pos = 0;
  response_done(c, now);
}

}  // namespace gen::backend
