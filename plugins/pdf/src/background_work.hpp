// Work off pdf.render's layout thread: deflating page bodies (the largest single cost of a
// long document) as soon as each page is laid out, making the subset fonts, and freeing the
// Markdown tree. One helper thread, started when a second page begins (a one-page document
// never starts it); the thread that renders also runs what is still queued when it needs
// the results.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "helper_threads.hpp"

namespace gen::pdf {

class BackgroundWork {
 public:
  BackgroundWork() = default;
  /// Stops and joins the helper, then runs what an exception left queued (freeing the tree,
  /// say).
  ~BackgroundWork();
  BackgroundWork(const BackgroundWork&) = delete;
  BackgroundWork& operator=(const BackgroundWork&) = delete;

  /// From now on queued work runs on a helper thread too (a second page has begun; a
  /// one-page document's few tasks are not worth a thread).
  void go_parallel();

  /// Queues the compression of page `index`'s body.
  void compress_page(size_t index, std::string content);

  /// Queues `task`; an urgent one runs before what is already queued.
  void post(std::function<void()> task, bool urgent = false);

  /// Runs what is queued, waits for the task in flight; rethrows a task's exception.
  void drain();

  /// Page `index`'s compressed body (after drain()).
  std::string take_page(size_t index);

 private:
  void run(bool until_empty);

  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<std::function<void()>> tasks_;
  bool parallel_ = false;
  int busy_ = 0;
  bool stop_ = false;
  std::vector<std::string> compressed_;
  std::mutex error_mutex_;
  std::exception_ptr error_;
  HelperTask helper_;
};

}  // namespace gen::pdf
