// Private to the HTTP edge (server.hpp): the connection record and HttpServer::Impl, whose
// member functions are spread over files by the thread that runs them:
//   server.cpp             construction, start/stop, the I/O thread's epoll loop, deadlines
//   server_accept.cpp      accepting connections under the caps, closing them
//   server_connection.cpp  the connection state machine on the I/O thread: read a head,
//                          buffer a body, write what a slow reader has not taken, keep-alive
//   server_requests.cpp    a request thread: run Api::handle(), write (or stream) the answer
// with server_wire.hpp (bytes on the wire) and server_pool.hpp (the request threads).
//
// A connection (Conn) belongs to the I/O thread except while its phase is kBusy: then exactly
// one request thread owns it until it hands it back (Impl::hand_back()).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <Poco/Net/ServerSocket.h>

#include "gen/backend/http.hpp"
#include "gen/backend/server.hpp"
#include "http_head.hpp"
#include "server_pool.hpp"

namespace gen::backend::edge {

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

}  // namespace gen::backend::edge

namespace gen::backend {

class Api;
class HttpMetrics;

struct HttpServer::Impl {
  using Clock = edge::Clock;
  using Conn = edge::Conn;
  using ConnPtr = edge::ConnPtr;
  using milliseconds = edge::milliseconds;

  Impl(const Api& a, HttpMetrics& m, ServerOptions o) : api(a), metrics(m), options(o) {}

  const Api& api;
  HttpMetrics& metrics;
  ServerOptions options;
  http::HeadLimits limits;
  Poco::Net::ServerSocket socket;
  int listen_fd = -1;
  int epoll_fd = -1;
  int wake_fd = -1;
  std::unique_ptr<edge::Pool> pool;
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

  // server.cpp: the I/O thread
  void loop();
  /// Wakes the I/O thread (a connection handed back, stop()); any thread.
  void wake();
  void set_interest(Conn& c, std::uint32_t events);
  void check_deadlines(Clock::time_point now);

  // server_accept.cpp
  void accept_all(Clock::time_point now);
  void pause_accepting(Clock::time_point now);
  void resume_accepting();
  void refuse_connection(int fd, int status, const std::string& detail);
  void close_conn(const ConnPtr& c);

  // server_connection.cpp: the I/O thread's side of a connection
  void on_event(const ConnPtr& c, std::uint32_t events, Clock::time_point now);
  /// Reads what is available (up to a fair share per wake-up). False when the peer closed
  /// or the connection broke.
  bool read_available(Conn& c);
  /// Moves a connection on with the bytes it has: parses a head, buffers a body, dispatches.
  void advance(const ConnPtr& c, Clock::time_point now);
  void start_request(const ConnPtr& c, http::RequestHead head, Clock::time_point now);
  /// Moves body bytes from c->in into the request; true once the body is complete.
  bool read_body(const ConnPtr& c, Clock::time_point now);
  void respond_at_edge(const ConnPtr& c, int status, const std::string& detail,
                       Clock::time_point now);
  /// Starts writing c.out; the rest (a slow reader) is written as the socket drains.
  void write_out(const ConnPtr& c, Clock::time_point now);
  void response_done(const ConnPtr& c, Clock::time_point now);
  /// A connection back from a request thread.
  void resume(const ConnPtr& c, Clock::time_point now);

  // server_requests.cpp: a request thread's side
  /// Hands the complete request (or, `slow`, a streamed upload) to the request threads.
  void dispatch(const ConnPtr& c, bool slow);
  /// On a request thread: runs the handler and writes the response (or starts to).
  void serve(const ConnPtr& c);
  /// The head, then the body piece by piece; a client that stops reading for the body
  /// timeout ends it. A short body closes the connection (never a next response glued to it).
  void write_streamed(const ConnPtr& c, const Response& out, bool close, std::int64_t body_bytes);
  void observe(const ConnPtr& c, const Response& out, std::int64_t body_bytes);
  /// The connection goes back to the I/O thread (with what is left of the answer to write).
  void hand_back(const ConnPtr& c, bool close);
};

}  // namespace gen::backend
