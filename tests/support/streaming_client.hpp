// A raw HTTP/1.1 client for tests that must not hold a body in memory: the request body comes
// from a producer (sent with Content-Length or chunked), the response body goes to a sink.
// One connection per request ("Connection: close").
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness.hpp"

namespace gen::itest {

/// Fills `buffer` with up to `size` bytes of the body; returns how many (0: the end).
using BodyProducer = std::function<std::size_t(char* buffer, std::size_t size)>;
/// Receives the response body piece by piece.
using BodySink = std::function<void(const char* data, std::size_t size)>;

struct StreamedRequest {
  std::string method = "GET";
  std::string path;
  std::map<std::string, std::string> headers;
  BodyProducer body;                           ///< none: no body
  std::optional<std::int64_t> content_length;  ///< none (with a body): chunked
};

/// Sends the request; the response's body goes to `sink` when given, else to
/// HttpResponse::body. A write failure (the server answered early and closed) stops sending
/// and the response is still read.
inline HttpResponse stream_request(int port, const StreamedRequest& request,
                                   const BodySink& sink = {}) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
  }
  bool writable = true;
  auto send_all = [&](const char* data, std::size_t size) {
    while (writable && size > 0) {
      ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
      if (n <= 0) {
        writable = false;
        return;
      }
      data += n;
      size -= static_cast<std::size_t>(n);
    }
  };
  std::string head = request.method + " " + request.path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  head += "Connection: close\r\n";
  for (const auto& [name, value] : request.headers) head += name + ": " + value + "\r\n";
  if (request.body) {
    head += request.content_length
                ? "Content-Length: " + std::to_string(*request.content_length) + "\r\n"
                : std::string("Transfer-Encoding: chunked\r\n");
  }
  head += "\r\n";
  send_all(head.data(), head.size());
  if (request.body) {
    std::string buffer(256 * 1024, '\0');
    while (writable) {
      std::size_t n = request.body(buffer.data(), buffer.size());
      if (!request.content_length) {
        char size_line[32];
        int len = std::snprintf(size_line, sizeof size_line, "%zx\r\n", n);
        send_all(size_line, static_cast<std::size_t>(len));
      }
      if (n == 0) break;
      send_all(buffer.data(), n);
      if (!request.content_length) send_all("\r\n", 2);
    }
    if (!request.content_length) send_all("\r\n", 2);
  }
  ::shutdown(fd, SHUT_WR);

  // The response: status line and headers, then the body until the connection closes.
  HttpResponse response;
  std::string pending;
  bool in_body = false;
  std::int64_t received = 0;
  std::string chunk(256 * 1024, '\0');
  auto deliver = [&](const char* data, std::size_t size) {
    received += static_cast<std::int64_t>(size);
    if (sink) {
      sink(data, size);
    } else {
      response.body.append(data, size);
    }
  };
  for (;;) {
    ssize_t n = ::recv(fd, chunk.data(), chunk.size(), 0);
    if (n <= 0) break;
    if (in_body) {
      deliver(chunk.data(), static_cast<std::size_t>(n));
      continue;
    }
    pending.append(chunk.data(), static_cast<std::size_t>(n));
    auto end = pending.find("\r\n\r\n");
    if (end == std::string::npos) continue;
    std::string head_text = pending.substr(0, end);
    std::size_t line_end = head_text.find("\r\n");
    std::string status_line = head_text.substr(0, line_end);
    auto space = status_line.find(' ');
    response.status = space == std::string::npos ? 0 : std::stoi(status_line.substr(space + 1));
    std::size_t pos = line_end == std::string::npos ? head_text.size() : line_end + 2;
    while (pos < head_text.size()) {
      auto next = head_text.find("\r\n", pos);
      if (next == std::string::npos) next = head_text.size();
      std::string line = head_text.substr(pos, next - pos);
      auto colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        response.headers[name] = value;
      }
      pos = next + 2;
    }
    in_body = true;
    if (pending.size() > end + 4) deliver(pending.data() + end + 4, pending.size() - end - 4);
    pending.clear();
  }
  if (!in_body) throw std::runtime_error("no HTTP response from the server");
  return response;
}

/// Deterministic pseudo-random bytes, a function of the position alone (splitmix64 of the
/// 8-byte word index), with a boundary-like line every 64 KiB so that a multipart parser
/// meets near-misses.
class ByteSource {
 public:
  explicit ByteSource(std::int64_t size, std::uint64_t seed = 0x9E3779B97F4A7C15ull)
      : size_(size), seed_(seed) {}
  std::int64_t size() const { return size_; }
  std::int64_t produced() const { return produced_; }
  /// The byte at `at`.
  char at(std::int64_t at) {
    static constexpr char kNearMiss[] = "\r\n--gen-boundary-7MA4YWxk";
    std::int64_t in_block = at % 65536;
    if (in_block < static_cast<std::int64_t>(sizeof kNearMiss - 1)) return kNearMiss[in_block];
    std::uint64_t index = static_cast<std::uint64_t>(at >> 3);
    if (index != cached_index_) {
      std::uint64_t z = seed_ + index * 0x9E3779B97F4A7C15ull;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      cached_word_ = z ^ (z >> 31);
      cached_index_ = index;
    }
    return static_cast<char>(cached_word_ >> ((at & 7) * 8));
  }
  /// The next bytes, as a BodyProducer.
  std::size_t read(char* out, std::size_t max) {
    std::size_t n = static_cast<std::size_t>(
        std::min<std::int64_t>(static_cast<std::int64_t>(max), size_ - produced_));
    for (std::size_t i = 0; i < n; ++i) out[i] = at(produced_ + static_cast<std::int64_t>(i));
    produced_ += static_cast<std::int64_t>(n);
    return n;
  }
  std::string range(std::int64_t first, std::int64_t length) {
    std::string out(static_cast<std::size_t>(length), '\0');
    for (std::int64_t i = 0; i < length; ++i) out[static_cast<std::size_t>(i)] = at(first + i);
    return out;
  }

 private:
  std::int64_t size_;
  std::uint64_t seed_;
  std::int64_t produced_ = 0;
  std::uint64_t cached_index_ = ~0ull;
  std::uint64_t cached_word_ = 0;
};

/// A multipart/form-data body streamed from parts: text fields, and files read from a
/// ByteSource. `size()` is known up front (for Content-Length).
class StreamedForm {
 public:
  static constexpr const char* kBoundary = "gen-boundary-7MA4YWxkTrZu0gW";
  static std::string content_type() {
    return std::string("multipart/form-data; boundary=") + kBoundary;
  }
  void add_field(const std::string& name, const std::string& value) {
    pieces_.push_back({head(name, "", "") + value + "\r\n", nullptr});
  }
  void add_file(const std::string& name, const std::string& filename,
                const std::string& content_type, ByteSource& source) {
    pieces_.push_back({head(name, filename, content_type), nullptr});
    pieces_.push_back({{}, &source});
    pieces_.push_back({"\r\n", nullptr});
  }
  std::int64_t size() const {
    std::int64_t n = static_cast<std::int64_t>(tail().size());
    for (const Piece& p : pieces_) {
      n += p.source ? p.source->size() : static_cast<std::int64_t>(p.text.size());
    }
    return n;
  }
  std::size_t read(char* out, std::size_t max) {
    while (index_ <= pieces_.size()) {
      if (index_ == pieces_.size()) {  // the closing delimiter
        std::string t = tail();
        std::size_t n = std::min(max, t.size() - offset_);
        std::copy_n(t.data() + offset_, n, out);
        offset_ += n;
        if (n == 0) return 0;
        return n;
      }
      Piece& p = pieces_[index_];
      std::size_t n = 0;
      if (p.source) {
        n = p.source->read(out, max);
      } else {
        n = std::min(max, p.text.size() - offset_);
        std::copy_n(p.text.data() + offset_, n, out);
        offset_ += n;
      }
      if (n > 0) return n;
      ++index_;
      offset_ = 0;
    }
    return 0;
  }

 private:
  struct Piece {
    std::string text;
    ByteSource* source;
  };
  static std::string head(const std::string& name, const std::string& filename,
                          const std::string& content_type) {
    std::string h =
        std::string("--") + kBoundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"";
    if (!filename.empty()) h += "; filename=\"" + filename + "\"";
    h += "\r\n";
    if (!content_type.empty()) h += "Content-Type: " + content_type + "\r\n";
    return h + "\r\n";
  }
  static std::string tail() { return std::string("--") + kBoundary + "--\r\n"; }
  std::vector<Piece> pieces_;
  std::size_t index_ = 0;
  std::size_t offset_ = 0;
};

}  // namespace gen::itest
