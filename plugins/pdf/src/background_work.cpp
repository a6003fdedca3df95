#include "background_work.hpp"

#include <utility>

#include "flate.hpp"

namespace gen::pdf {

BackgroundWork::~BackgroundWork() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (helper_.joinable()) helper_.join();
  run(/*until_empty=*/true);  // what an exception left queued (freeing the tree, say)
}

void BackgroundWork::go_parallel() {
  std::lock_guard lock(mutex_);
  parallel_ = cpu_count() > 1;
}

void BackgroundWork::compress_page(size_t index, std::string content) {
  post([this, index, content = std::move(content)] {
    std::string deflated = deflate_bytes(content);
    std::lock_guard lock(mutex_);
    if (compressed_.size() <= index) compressed_.resize(index + 1);
    compressed_[index] = std::move(deflated);
  });
}

void BackgroundWork::post(std::function<void()> task, bool urgent) {
  {
    std::lock_guard lock(mutex_);
    if (urgent) {
      tasks_.push_front(std::move(task));
    } else {
      tasks_.push_back(std::move(task));
    }
    if (parallel_ && !helper_.joinable()) {
      helper_ = HelperTask::start([this] { run(/*until_empty=*/false); });
    }
  }
  wake_.notify_one();
}

void BackgroundWork::drain() {
  run(/*until_empty=*/true);
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return tasks_.empty() && busy_ == 0; });
  if (error_) std::rethrow_exception(error_);
}

std::string BackgroundWork::take_page(size_t index) {
  std::lock_guard lock(mutex_);
  return index < compressed_.size() ? std::move(compressed_[index]) : std::string();
}

void BackgroundWork::run(bool until_empty) {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (until_empty) {
      if (tasks_.empty()) return;
    } else {
      wake_.wait(lock, [this] { return stop_ || !tasks_.empty(); });
      if (stop_) return;
    }
    std::function<void()> task = std::move(tasks_.front());
    tasks_.pop_front();
    ++busy_;
    lock.unlock();
    try {
      task();
    } catch (...) {
      std::lock_guard error_lock(error_mutex_);
      if (!error_) error_ = std::current_exception();
    }
    task = nullptr;
    lock.lock();
    --busy_;
    if (tasks_.empty() && busy_ == 0) idle_.notify_all();
  }
}

}  // namespace gen::pdf
