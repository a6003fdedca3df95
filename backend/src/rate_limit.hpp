// Per-tenant request rate limit of one backend process: a token bucket per tenant holding up
// to one second's worth of requests, refilled continuously. Limits come from a callback (the
// LIMITS__REQUESTS_PER_S setting) re-read every few seconds, so changes apply without restart.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace gen::backend {

class RateLimiter {
 public:
  /// `limit_of(tenant)`: requests per second allowed, 0 = unlimited.
  explicit RateLimiter(std::function<std::int64_t(const std::string&)> limit_of)
      : limit_of_(std::move(limit_of)) {}

  /// Takes one request from `tenant`'s bucket at `now_ms`. Returns 0 when allowed, else the
  /// milliseconds until a request would be (for Retry-After).
  std::int64_t acquire(const std::string& tenant, std::int64_t now_ms);
  /// Re-reads every limit on the next request (after a settings change in this process;
  /// other backends pick it up within kRateRefreshMs).
  void invalidate();

 private:
  struct Bucket {
    double tokens = 0;
    std::int64_t refilled_at_ms = 0;
    std::int64_t rate = 0;
    std::int64_t rate_read_at_ms = -1;
  };
  static constexpr std::int64_t kRateRefreshMs = 5000;
  std::function<std::int64_t(const std::string&)> limit_of_;
  std::mutex mutex_;
  std::map<std::string, Bucket> buckets_;
};

/// Failed logins per credential id in one backend process: after kMaxFailures failures within
/// kWindowMs the id is refused (429) until the window ends, so passwords cannot be guessed
/// quickly and PBKDF2 cannot be used to burn the server's CPU through one id.
class LoginThrottle {
 public:
  static constexpr int kMaxFailures = 10;
  static constexpr std::int64_t kWindowMs = 60000;
  /// 0 when `id` may try now, else the milliseconds until it may.
  std::int64_t blocked_for(const std::string& id, std::int64_t now_ms);
  void failed(const std::string& id, std::int64_t now_ms);
  void succeeded(const std::string& id);

 private:
  struct Window {
    std::int64_t start_ms = 0;
    int failures = 0;
  };
  std::mutex mutex_;
  std::map<std::string, Window> windows_;
};

}  // namespace gen::backend
