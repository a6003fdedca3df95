#include "server_wire.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <string_view>

#include <Poco/Net/HTTPResponse.h>
#include <nlohmann/json.hpp>

#include "gen/backend/api.hpp"
#include "gen/core/base/log.hpp"

namespace gen::backend::edge {

using std::chrono::milliseconds;

namespace {

bool safe_header_value(std::string_view v) {
  return std::none_of(v.begin(), v.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && u != '\t') || u == 0x7F;
  });
}

}  // namespace

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

bool no_body_status(int status) {
  return status == 204 || status == 304 || (status >= 100 && status < 200);
}

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

}  // namespace gen::backend::edge
