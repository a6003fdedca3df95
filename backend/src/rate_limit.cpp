#include "rate_limit.hpp"

#include <algorithm>
#include <cmath>

namespace gen::backend {

std::int64_t RateLimiter::acquire(const std::string& tenant, std::int64_t now_ms) {
  std::unique_lock lock(mutex_);
  Bucket& b = buckets_[tenant];
  if (b.rate_read_at_ms < 0 || now_ms - b.rate_read_at_ms >= kRateRefreshMs) {
    lock.unlock();  // the callback may hit the database
    std::int64_t rate = limit_of_(tenant);
    lock.lock();
    if (b.rate_read_at_ms < 0 || rate != b.rate) {
      b.tokens = static_cast<double>(rate);  // a new or changed limit starts with a full bucket
      b.refilled_at_ms = now_ms;
    }
    b.rate = rate;
    b.rate_read_at_ms = now_ms;
  }
  if (b.rate <= 0) return 0;
  double elapsed_s =
      static_cast<double>(std::max<std::int64_t>(0, now_ms - b.refilled_at_ms)) / 1000;
  b.tokens =
      std::min(static_cast<double>(b.rate), b.tokens + elapsed_s * static_cast<double>(b.rate));
  b.refilled_at_ms = now_ms;
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return 0;
  }
  return std::max<std::int64_t>(
      1, static_cast<std::int64_t>(std::ceil((1 - b.tokens) * 1000 / static_cast<double>(b.rate))));
}

void RateLimiter::invalidate() {
  std::lock_guard lock(mutex_);
  for (auto& [tenant, bucket] : buckets_) bucket.rate_read_at_ms = -1;
}

std::int64_t LoginThrottle::blocked_for(const std::string& id, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  auto it = windows_.find(id);
  if (it == windows_.end()) return 0;
  if (now_ms - it->second.start_ms >= kWindowMs) {
    windows_.erase(it);
    return 0;
  }
  return it->second.failures >= kMaxFailures ? it->second.start_ms + kWindowMs - now_ms : 0;
}

void LoginThrottle::failed(const std::string& id, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  if (windows_.size() > 100000) windows_.clear();  // bounded memory under a spray of ids
  Window& w = windows_[id];
  if (w.failures == 0 || now_ms - w.start_ms >= kWindowMs) w = Window{now_ms, 0};
  ++w.failures;
}

void LoginThrottle::succeeded(const std::string& id) {
  std::lock_guard lock(mutex_);
  windows_.erase(id);
}

}  // namespace gen::backend
