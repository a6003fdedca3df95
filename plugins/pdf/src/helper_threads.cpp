#include "helper_threads.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace gen::pdf {

struct HelperTask::State {
  std::function<void()> task;
  std::mutex mutex;
  std::condition_variable finished_cv;
  bool finished = false;
  std::exception_ptr error;
};

namespace {

using namespace std::chrono_literals;

/// How long an idle helper waits for work before it ends.
constexpr auto kIdleLifetime = 60s;

struct Pool {
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::shared_ptr<HelperTask::State>> queue;  // handed to idle helpers
  size_t idle = 0;
};

Pool& pool() {
  static Pool* instance = new Pool();  // never destroyed: idle helpers wait on it until exit
  return *instance;
}

void run(HelperTask::State& state) {
  try {
    state.task();
  } catch (...) {
    state.error = std::current_exception();
  }
  state.task = nullptr;  // its captures die here, not in whoever holds the last reference
  std::lock_guard lock(state.mutex);
  state.finished = true;
  state.finished_cv.notify_all();
}

void helper_main(std::shared_ptr<HelperTask::State> first) {
  run(*first);
  first.reset();
  Pool& p = pool();
  std::unique_lock lock(p.mutex);
  for (;;) {
    ++p.idle;
    const bool woken = p.wake.wait_for(lock, kIdleLifetime, [&] { return !p.queue.empty(); });
    --p.idle;
    if (!woken) return;
    std::shared_ptr<HelperTask::State> state = std::move(p.queue.front());
    p.queue.pop_front();
    lock.unlock();
    run(*state);
    state.reset();
    lock.lock();
  }
}

}  // namespace

unsigned cpu_count() {
  static const unsigned count = std::max(1u, std::thread::hardware_concurrency());
  return count;
}

HelperTask HelperTask::start(std::function<void()> task) {
  auto state = std::make_shared<State>();
  state->task = std::move(task);
  Pool& p = pool();
  {
    std::lock_guard lock(p.mutex);
    if (p.idle > p.queue.size()) {
      p.queue.push_back(state);
      p.wake.notify_one();
      return HelperTask(std::move(state));
    }
  }
  std::thread(helper_main, state).detach();
  return HelperTask(std::move(state));
}

HelperTask& HelperTask::operator=(HelperTask&& other) noexcept {
  if (this != &other) {
    if (joinable()) {
      try {
        join();
      } catch (...) {  // the task's error has nobody left to report to
      }
    }
    state_ = std::move(other.state_);
  }
  return *this;
}

HelperTask::~HelperTask() {
  if (!joinable()) return;
  try {
    join();
  } catch (...) {  // as above
  }
}

void HelperTask::join() {
  std::shared_ptr<State> state = std::move(state_);
  if (!state) return;
  std::unique_lock lock(state->mutex);
  state->finished_cv.wait(lock, [&] { return state->finished; });
  if (state->error) std::rethrow_exception(state->error);
}

}  // namespace gen::pdf
