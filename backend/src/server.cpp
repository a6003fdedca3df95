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
#include "gen/backend/server.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <deque>
#include <exception>
#include <functional>
#include <istream>
#include <mutex>
#include <optional>
#include <ostream>
#include <streambuf>
#include <thread>
#include <unordered_map>
#include <vector>

#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <nlohmann/json.hpp>

#include "gen/backend/api.hpp"
#include "gen/backend/metrics.hpp"
#include "gen/core/base/log.hpp"
#include "http_head.hpp"

namespace gen::backend {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Bytes of an unwanted body read (and dropped) after answering early (413, an upload the
// handler refused), so that a client still sending sees the answer instead of a reset.
constexpr std::size_t kMaxDrainBytes = 4 * 1024 * 1024;
// How long a connection that is being closed keeps reading (and dropping) what the client
// still sends, so that the answer is not lost to a reset.
constexpr milliseconds kLingerTime{2000};
constexpr std::size_t kReadBytes = 64 * 1024;
constexpr milliseconds kTick{100};  // how often deadlines are checked

// RFC 9110 5.6.7 IMF-fixdate, formatted once per second per thread.
const std::string& http_date() {
  thread_local std::time_t cached = 0;
  thread_local std::string text;
  std::time_t now = std::time(nullptr);
  if (now != cached) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buffer[64];
    std::size_t n = std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    text.assign(buffer, n);
    cached = now;
  }
  return text;
}

bool safe_header_value(std::string_view v) {
  return std::none_of(v.begin(), v.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && u != '\t') || u == 0x7F;
  });
}

bool no_body_status(int status) {
  return status == 204 || status == 304 || (status >= 100 && status < 200);
}

// The status line and header fields of `r`. `length` is the body length announced.
std::string serialize_head(const Response& r, bool close, int minor_version) {
  std::string out;
  out.reserve(256);
  out += "HTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  out += Poco::Net::HTTPResponse::getReasonForStatus(
      static_cast<Poco::Net::HTTPResponse::HTTPStatus>(r.status));
  out += "\r\nDate: ";
  out += http_date();
  out += "\r\nServer: generator-backend\r\n";
  if (!no_body_status(r.status)) {
    // The last line of defence against header injection: a value with CR or LF is never
    // written (handlers validate what they echo; this catches what they miss).
    const bool type_ok = safe_header_value(r.content_type);
    if (!r.content_type.empty()) {
      out += "Content-Type: ";
      out += type_ok ? r.content_type : std::string("application/octet-stream");
      out += "\r\n";
    }
    out += "Content-Length: ";
    out += std::to_string(r.content_length());
    out += "\r\n";
  }
  for (const auto& [name, value] : r.headers) {
    if (!http::is_token(name) || !safe_header_value(value)) {
      log::warning("response header dropped: invalid name or value", {{"header", name}});
      continue;
    }
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  if (close) {
    out += "Connection: close\r\n";
  } else if (minor_version == 0) {
    out += "Connection: keep-alive\r\n";
  }
  out += "\r\n";
  return out;
}

// A problem+json response for a refusal at the edge; `status` may be one the error table
// has no code for (431, 501, 505): the body then carries BAD_REQUEST with that status.
Response edge_problem(int status, const std::string& detail) {
  ErrorCode code = status == 413   ? ErrorCode::kPayloadTooLarge
                   : status == 429 ? ErrorCode::kTooManyRequests
                                   : ErrorCode::kBadRequest;
  Response r = problem(Error(code, detail));
  if (r.status != status) {
    r.status = status;
    nlohmann::json body = nlohmann::json::parse(r.body);
    body["status"] = status;
    body["title"] = Poco::Net::HTTPResponse::getReasonForStatus(
        static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
    r.body = body.dump();
  }
  if (status == 429 || status == 503) r.headers["Retry-After"] = "1";
  return r;
}

// Waits until `fd` is ready for `events` or `timeout` passes; false on timeout or error.
bool wait_for(int fd, short events, milliseconds timeout) {
  pollfd p{fd, events, 0};
  for (;;) {
    int n = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

// Sends all of `data` on the non-blocking socket, waiting up to `timeout` for each bit of
// progress. False when the client stopped reading or went away.
bool send_all(int fd, const char* data, std::size_t size, milliseconds timeout) {
  while (size > 0) {
    ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n > 0) {
      data += n;
      size -= static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && wait_for(fd, POLLOUT, timeout)) {
      continue;
    }
    return false;
  }
  return true;
}

// Sends what the socket takes now; returns the bytes sent, or -1 when the connection broke.
ssize_t send_now(int fd, const char* data, std::size_t size) {
  std::size_t sent = 0;
  while (sent < size) {
    ssize_t n = ::send(fd, data + sent, size - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    } else {
      return -1;
    }
  }
  return static_cast<ssize_t>(sent);
}

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

struct Conn {
  int fd = -1;
  std::string client;
  enum class Phase { kHead, kBody, kBusy, kWrite, kLinger } phase = Phase::kHead;
  bool idle = false;  ///< kept alive between requests: no byte of the next one yet
  Clock::time_point deadline;
  std::uint32_t events = 0;  ///< the epoll interest; 0 = not registered
  std::string in;            ///< bytes received and not consumed yet
  // The request in progress.
  http::RequestHead head;
  Request request;
  std::int64_t body_left = 0;
  std::optional<http::ChunkedDecoder> chunked;
  bool streamed = false;
  Clock::time_point started;
  // The response (rest) the I/O thread writes.
  std::string out;
  std::size_t out_pos = 0;
  bool close_after = false;
  std::size_t linger_left = 0;
};
using ConnPtr = std::shared_ptr<Conn>;

// The request threads: a fixed pool; `slow` jobs (streamed uploads and downloads) run at
// most `slow_cap` at a time so that they never hold every thread.
class Pool {
 public:
  Pool(int threads, int slow_cap) : slow_cap_(slow_cap) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
  }
  ~Pool() { stop(); }
  void submit(std::function<void()> job, bool slow) {
    {
      std::lock_guard lock(mutex_);
      (slow ? slow_ : fast_).push_back(std::move(job));
    }
    ready_.notify_one();
  }
  /// Runs what is queued, then joins the threads.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_all();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      ready_.wait(lock, [this] {
        return !fast_.empty() || (!slow_.empty() && slow_running_ < slow_cap_) ||
               (stopping_ && slow_.empty());
      });
      if (fast_.empty() && (slow_.empty() || slow_running_ >= slow_cap_)) return;  // stopping
      bool slow = fast_.empty();
      auto& queue = slow ? slow_ : fast_;
      std::function<void()> job = std::move(queue.front());
      queue.pop_front();
      if (slow) ++slow_running_;
      lock.unlock();
      try {
        job();
      } catch (const std::exception& e) {
        log::error("request thread: unexpected exception", {{"error", e.what()}});
      }
      lock.lock();
      if (slow) {
        --slow_running_;
        ready_.notify_all();
      }
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> fast_;
  std::deque<std::function<void()>> slow_;
  int slow_running_ = 0;
  int slow_cap_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// The body of a streamed upload, decoded from the connection (Content-Length or chunked),
// each read waiting up to the body timeout. What follows the body stays in conn.in.
class BodyIn final : public std::streambuf {
 public:
  BodyIn(Conn& conn, milliseconds timeout) : conn_(conn), timeout_(timeout) {
    left_ = conn.head.content_length.value_or(0);
    if (!conn.head.chunked && left_ == 0) done_ = true;
  }
  bool complete() const { return done_ && !failed_; }
  bool failed() const { return failed_; }
  std::int64_t bytes() const { return bytes_; }

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    for (;;) {
      if (done_ || failed_) return traits_type::eof();
      if (!conn_.in.empty()) {
        decoded_.clear();
        if (conn_.chunked) {
          std::size_t consumed = 0;
          auto state = conn_.chunked->feed(conn_.in, decoded_, consumed);
          conn_.in.erase(0, consumed);
          if (state == http::ChunkedDecoder::State::kError) {
            failed_ = true;
            return traits_type::eof();
          }
          if (state == http::ChunkedDecoder::State::kDone) done_ = true;
        } else {
          auto take = static_cast<std::size_t>(
              std::min<std::int64_t>(left_, static_cast<std::int64_t>(conn_.in.size())));
          decoded_.assign(conn_.in, 0, take);
          conn_.in.erase(0, take);
          left_ -= static_cast<std::int64_t>(take);
          if (left_ == 0) done_ = true;
        }
        if (!decoded_.empty()) {
          bytes_ += static_cast<std::int64_t>(decoded_.size());
          setg(decoded_.data(), decoded_.data(), decoded_.data() + decoded_.size());
          return traits_type::to_int_type(*gptr());
        }
        continue;
      }
      char buffer[kReadBytes];
      ssize_t n = ::recv(conn_.fd, buffer, sizeof buffer, 0);
      if (n > 0) {
        conn_.in.append(buffer, static_cast<std::size_t>(n));
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
                 wait_for(conn_.fd, POLLIN, timeout_)) {
        continue;
      } else {
        failed_ = true;  // the client went away, stopped sending, or broke the connection
      }
    }
  }

 private:
  Conn& conn_;
  milliseconds timeout_;
  std::int64_t left_ = 0;
  std::int64_t bytes_ = 0;
  bool done_ = false;
  bool failed_ = false;
  std::string decoded_;
};

// A streamed download's body: buffered, sent with a deadline per write.
class SocketOut final : public std::streambuf {
 public:
  SocketOut(int fd, milliseconds timeout) : fd_(fd), timeout_(timeout), buffer_(kReadBytes) {
    setp(buffer_.data(), buffer_.data() + buffer_.size());
  }
  bool failed() const { return failed_; }
  std::int64_t written() const { return written_; }

 protected:
  int_type overflow(int_type c) override {
    if (!flush_buffer()) return traits_type::eof();
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(c);
      pbump(1);
    }
    return traits_type::not_eof(c);
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    if (n >= static_cast<std::streamsize>(buffer_.size())) {  // large: straight to the socket
      if (!flush_buffer()) return 0;
      if (!send(s, static_cast<std::size_t>(n))) return 0;
      return n;
    }
    return std::streambuf::xsputn(s, n);
  }
  int sync() override { return flush_buffer() ? 0 : -1; }

 private:
  bool send(const char* data, std::size_t size) {
    if (failed_) return false;
    if (!send_all(fd_, data, size, timeout_)) failed_ = true;
    written_ += static_cast<std::int64_t>(size);
    return !failed_;
  }
  bool flush_buffer() {
    auto n = static_cast<std::size_t>(pptr() - pbase());
    setp(buffer_.data(), buffer_.data() + buffer_.size());
    return n == 0 ? !failed_ : send(buffer_.data(), n);
  }

  int fd_;
  milliseconds timeout_;
  std::vector<char> buffer_;
  bool failed_ = false;
  std::int64_t written_ = 0;
};

Request to_request(const http::RequestHead& head) {
  Request r;
  r.method = head.method;
  auto q = head.target.find('?');
  r.raw_path = head.target.substr(0, q);
  r.path = split_path(r.raw_path);
  if (q != std::string::npos) r.query = parse_query(std::string_view(head.target).substr(q + 1));
  for (const auto& [name, value] : head.fields) {
    auto [it, added] = r.headers.emplace(name, value);
    if (!added) it->second += ", " + value;  // repeated fields combine (RFC 9110 5.3)
  }
  return r;
}

}  // namespace

struct HttpServer::Impl {
  Impl(const Api& a, HttpMetrics& m, ServerOptions o) : api(a), metrics(m), options(o) {}

  const Api& api;
  HttpMetrics& metrics;
  ServerOptions options;
  http::HeadLimits limits;
  Poco::Net::ServerSocket socket;
  int listen_fd = -1;
  int epoll_fd = -1;
  int wake_fd = -1;
  std::unique_ptr<Pool> pool;
  std::thread io;

  // Owned by the I/O thread.
  std::unordered_map<int, ConnPtr> conns;
  std::unordered_map<std::string, int> per_client;
  bool accepting = false;
  Clock::time_point accept_paused_until{};
  Clock::time_point next_tick{};

  // Shared with the request threads and stop().
  std::mutex returned_mutex;
  std::vector<ConnPtr> returned;
  std::atomic<bool> stopping{false};
  std::atomic<bool> aborting{false};
  std::atomic<bool> exiting{false};
  std::atomic<std::size_t> open{0};

  milliseconds header_timeout() const { return milliseconds(options.header_timeout_ms); }
  milliseconds body_timeout() const { return milliseconds(options.body_timeout_ms); }

  void wake() {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd, &one, sizeof one);
  }

  void set_interest(Conn& c, std::uint32_t events) {
    if (c.events == events) return;
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = c.fd;
    int op = c.events == 0 ? EPOLL_CTL_ADD : events == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
    ::epoll_ctl(epoll_fd, op, c.fd, &ev);
    c.events = events;
  }

  void close_conn(const ConnPtr& c) {
    set_interest(*c, 0);
    ::close(c->fd);
    if (!c->client.empty()) {
      auto it = per_client.find(c->client);
      if (it != per_client.end() && --it->second <= 0) per_client.erase(it);
    }
    conns.erase(c->fd);
    open = conns.size();
  }

  void refuse_connection(int fd, int status, const std::string& detail) {
    Response r = edge_problem(status, detail);
    std::string text = serialize_head(r, true, 1) + r.body;
    send_now(fd, text.data(), text.size());
    ::close(fd);
  }

  void accept_all(Clock::time_point now) {
    for (;;) {
      sockaddr_storage ss{};
      socklen_t len = sizeof ss;
      int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&ss), &len,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
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

  void pause_accepting(Clock::time_point now) {
    if (!accepting) return;
    ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, listen_fd, nullptr);
    accepting = false;
    accept_paused_until = now + kTick;
  }

  void resume_accepting() {
    if (accepting || stopping) return;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = listen_fd;
    ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listen_fd, &ev);
    accepting = true;
  }

  // Reads what is available (up to a fair share per wake-up). False when the peer closed
  // or the connection broke.
  bool read_available(Conn& c) {
    char buffer[kReadBytes];
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

  // Starts writing c.out; the rest (a slow reader) is written as the socket drains.
  void write_out(const ConnPtr& c, Clock::time_point now) {
    ssize_t n = send_now(c->fd, c->out.data() + c->out_pos, c->out.size() - c->out_pos);
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

  void response_done(const ConnPtr& c, Clock::time_point now) {
    if (c->close_after || stopping) {
      // Half-close, then read and drop what the client still sends for a moment, so that
      // the answer is not lost to a reset (a lingering close).
      ::shutdown(c->fd, SHUT_WR);
      c->phase = Conn::Phase::kLinger;
      c->in.clear();
      c->linger_left = kMaxDrainBytes;
      c->deadline = now + kLingerTime;
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

  void respond_at_edge(const ConnPtr& c, int status, const std::string& detail,
                       Clock::time_point now) {
    metrics.begin();
    Response r = edge_problem(status, detail);
    metrics.observe(c->head.method.empty() ? "OTHER" : c->head.method, "unmatched", status, 0.0, 0,
                    r.body.size());
    c->out = serialize_head(r, true, 1) + r.body;
    c->out_pos = 0;
    c->close_after = true;
    write_out(c, now);
  }

  // Moves a connection on with the bytes it has: parses a head, buffers a body, dispatches.
  void advance(const ConnPtr& c, Clock::time_point now) {
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

  void start_request(const ConnPtr& c, http::RequestHead head, Clock::time_point now) {
    c->head = std::move(head);
    c->request = to_request(c->head);
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
      if (send_now(c->fd, kContinue.data(), kContinue.size()) !=
          static_cast<ssize_t>(kContinue.size())) {
        close_conn(c);
        return;
      }
    }
  }

  static std::string too_large(std::int64_t limit) {
    return "request body is larger than LIMITS__MAX_REQUEST_BYTES (" + std::to_string(limit) +
           " bytes)";
  }

  // Moves body bytes from c->in into the request; true once the body is complete.
  bool read_body(const ConnPtr& c, Clock::time_point now) {
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

  void dispatch(const ConnPtr& c, bool slow) {
    c->phase = Conn::Phase::kBusy;
    set_interest(*c, 0);
    pool->submit([this, c] { serve(c); }, slow);
  }

  // On a request thread: runs the handler and writes the response (or starts to).
  void serve(const ConnPtr& c) {
    metrics.begin();
    Response out;
    bool close = !c->head.keep_alive || stopping;
    std::int64_t body_bytes = static_cast<std::int64_t>(c->request.body.size());
    try {
      if (c->streamed) {
        if (c->head.expect_continue && c->in.empty()) {
          static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
          send_all(c->fd, kContinue.data(), kContinue.size(), body_timeout());
        }
        BodyIn body(*c, body_timeout());
        std::istream stream(&body);
        c->request.body_stream = &stream;
        out = api.handle(c->request);
        c->request.body_stream = nullptr;
        // What the handler left unread (it failed early): a little is drained so that the
        // client gets the answer, more closes the connection.
        if (!body.complete() && !body.failed()) {
          stream.clear();
          stream.ignore(static_cast<std::streamsize>(kMaxDrainBytes));
        }
        if (!body.complete()) close = true;
        body_bytes = body.bytes();
      } else {
        out = api.handle(c->request);
      }
    } catch (const std::exception& e) {
      close = true;
      log::warning("bad request", {{"error", e.what()}});
      out = problem(Error(ErrorCode::kBadRequest, "could not read the request"));
    }
    const bool head_only = c->request.method == "HEAD" || no_body_status(out.status);
    if (out.body_writer && !head_only) {
      // A streamed download holds its thread while the client reads: it runs under the
      // same cap as streamed uploads, so slow readers never hold every request thread; this
      // thread goes on to the next request.
      auto response = std::make_shared<Response>(std::move(out));
      pool->submit([this, c, response, close,
                    body_bytes] { write_streamed(c, *response, close, body_bytes); },
                   true);
      return;
    }
    c->out = serialize_head(out, close, c->head.minor_version);
    if (!head_only) c->out += out.body;
    // Counted before the client can see the answer (a scrape right after it includes it).
    observe(c, out, body_bytes);
    ssize_t n = send_now(c->fd, c->out.data(), c->out.size());
    if (n < 0) {
      close = true;
      c->out.clear();
      c->out_pos = 0;
    } else {
      c->out_pos = static_cast<std::size_t>(n);
    }
    hand_back(c, close);
  }

  // The head, then the body piece by piece; a client that stops reading for the body timeout
  // ends it. A short body closes the connection (never a next response glued to it).
  void write_streamed(const ConnPtr& c, const Response& out, bool close, std::int64_t body_bytes) {
    SocketOut sink(c->fd, body_timeout());
    std::ostream stream(&sink);
    std::string text = serialize_head(out, close, c->head.minor_version);
    stream.write(text.data(), static_cast<std::streamsize>(text.size()));
    try {
      out.body_writer(stream);
      stream.flush();
    } catch (const std::exception& e) {
      log::debug("could not write the response", {{"error", e.what()}});
      close = true;
    }
    if (sink.failed() ||
        sink.written() != static_cast<std::int64_t>(text.size()) + out.body_length) {
      close = true;
    }
    c->out.clear();
    c->out_pos = 0;
    observe(c, out, body_bytes);
    hand_back(c, close);
  }

  void observe(const ConnPtr& c, const Response& out, std::int64_t body_bytes) {
    double seconds = std::chrono::duration<double>(Clock::now() - c->started).count();
    metrics.observe(c->request.method, api.route_of(c->request), out.status, seconds,
                    static_cast<std::size_t>(body_bytes),
                    static_cast<std::size_t>(out.content_length()));
  }

  // The connection goes back to the I/O thread (with what is left of the answer to write).
  void hand_back(const ConnPtr& c, bool close) {
    c->close_after = close;
    c->request.body.clear();
    {
      std::lock_guard lock(returned_mutex);
      returned.push_back(c);
    }
    wake();
  }

  // A connection back from a request thread.
  void resume(const ConnPtr& c, Clock::time_point now) {
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

  void on_event(const ConnPtr& c, std::uint32_t events, Clock::time_point now) {
    switch (c->phase) {
      case Conn::Phase::kWrite:
        write_out(c, now);
        return;
      case Conn::Phase::kLinger: {
        char buffer[kReadBytes];
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

  void check_deadlines(Clock::time_point now) {
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

  void loop() {
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
          if ((c->phase == Conn::Phase::kHead && c->in.empty()) ||
              c->phase == Conn::Phase::kLinger) {
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
};

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
  impl_->pool = std::make_unique<Pool>(impl_->options.threads, slow_cap);
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
