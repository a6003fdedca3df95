// A request thread's side of the HTTP edge (server_impl.hpp): runs Api::handle() on a
// complete request, or on a streamed upload read from the socket as the handler asks for it;
// serializes the answer and sends what the socket takes at once (the rest goes back to the
// I/O thread), or streams a large download itself, each write under the body timeout; then
// hands the connection back.
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <istream>
#include <ostream>
#include <streambuf>
#include <vector>

#include "gen/backend/api.hpp"
#include "gen/backend/metrics.hpp"
#include "gen/core/base/log.hpp"
#include "server_impl.hpp"
#include "server_wire.hpp"

namespace gen::backend {

using edge::Clock;
using edge::Conn;
using edge::ConnPtr;
using edge::kMaxDrainBytes;
using edge::kReadBytes;
using std::chrono::milliseconds;

namespace {

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
                 edge::wait_for(conn_.fd, POLLIN, timeout_)) {
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
    if (!edge::send_all(fd_, data, size, timeout_)) failed_ = true;
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

}  // namespace

void HttpServer::Impl::dispatch(const ConnPtr& c, bool slow) {
  c->phase = Conn::Phase::kBusy;
  set_interest(*c, 0);
  pool->submit([this, c] { serve(c); }, slow);
}

void HttpServer::Impl::serve(const ConnPtr& c) {
  metrics.begin();
  Response out;
  bool close = !c->head.keep_alive || stopping;
  std::int64_t body_bytes = static_cast<std::int64_t>(c->request.body.size());
  try {
    if (c->streamed) {
      if (c->head.expect_continue && c->in.empty()) {
        static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        edge::send_all(c->fd, kContinue.data(), kContinue.size(), body_timeout());
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
  const bool head_only = c->request.method == "HEAD" || edge::no_body_status(out.status);
  if (out.body_writer && !head_only) {
    // A streamed download holds its thread while the client reads: it runs under the
    // same cap as streamed uploads, so slow readers never hold every request thread; this
    // thread goes on to the next request.
    auto response = std::make_shared<Response>(std::move(out));
    pool->submit(
        [this, c, response, close, body_bytes] { write_streamed(c, *response, close, body_bytes); },
        true);
    return;
  }
  c->out = edge::serialize_head(out, close, c->head.minor_version);
  if (!head_only) c->out += out.body;
  // Counted before the client can see the answer (a scrape right after it includes it).
  observe(c, out, body_bytes);
  ssize_t n = edge::send_now(c->fd, c->out.data(), c->out.size());
  if (n < 0) {
    close = true;
    c->out.clear();
    c->out_pos = 0;
  } else {
    c->out_pos = static_cast<std::size_t>(n);
  }
  hand_back(c, close);
}

void HttpServer::Impl::write_streamed(const ConnPtr& c, const Response& out, bool close,
                                      std::int64_t body_bytes) {
  SocketOut sink(c->fd, body_timeout());
  std::ostream stream(&sink);
  std::string text = edge::serialize_head(out, close, c->head.minor_version);
  stream.write(text.data(), static_cast<std::streamsize>(text.size()));
  try {
    out.body_writer(stream);
    stream.flush();
  } catch (const std::exception& e) {
    log::debug("could not write the response", {{"error", e.what()}});
    close = true;
  }
  if (sink.failed() || sink.written() != static_cast<std::int64_t>(text.size()) + out.body_length) {
    close = true;
  }
  c->out.clear();
  c->out_pos = 0;
  observe(c, out, body_bytes);
  hand_back(c, close);
}

void HttpServer::Impl::observe(const ConnPtr& c, const Response& out, std::int64_t body_bytes) {
  double seconds = std::chrono::duration<double>(Clock::now() - c->started).count();
  metrics.observe(c->request.method, api.route_of(c->request), out.status, seconds,
                  static_cast<std::size_t>(body_bytes),
                  static_cast<std::size_t>(out.content_length()));
}

void HttpServer::Impl::hand_back(const ConnPtr& c, bool close) {
  c->close_after = close;
  c->request.body.clear();
  {
    std::lock_guard lock(returned_mutex);
    returned.push_back(c);
  }
  wake();
}

}  // namespace gen::backend
