#include "server_pool.hpp"

#include <exception>

#include "gen/core/base/log.hpp"

namespace gen::backend::edge {

Pool::Pool(int threads, int slow_cap) : slow_cap_(slow_cap) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
}

Pool::~Pool() {
  stop();
}

void Pool::submit(std::function<void()> job, bool slow) {
  {
    std::lock_guard lock(mutex_);
    (slow ? slow_ : fast_).push_back(std::move(job));
  }
  ready_.notify_one();
}

void Pool::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  ready_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void Pool::run() {
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

}  // namespace gen::backend::edge
