// The HTTP edge's request threads (server_impl.hpp): a fixed pool; `slow` jobs (streamed
// uploads and downloads, which wait on a client) run at most `slow_cap` at a time so that they
// never hold every thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace gen::backend::edge {

class Pool {
 public:
  Pool(int threads, int slow_cap);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  void submit(std::function<void()> job, bool slow);
  /// Runs what is queued, then joins the threads.
  void stop();

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> fast_;
  std::deque<std::function<void()>> slow_;
  int slow_running_ = 0;
  int slow_cap_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace gen::backend::edge
