// Helper threads for pdf.render, kept between renders.
//
// A render starts up to two helpers (the Markdown parser, the page compressor). Creating
// them anew per document cost more than a tenth of a render's CPU time: the thread itself,
// its first-touched stack and malloc arena pages, and libdeflate's per-thread compressor.
// A helper that finished its task waits for the next one instead, and ends after a minute
// without work. The plugin library is never unloaded (see core's PluginHost), so a waiting
// helper never outlives its code.
#pragma once

#include <exception>
#include <functional>
#include <memory>

namespace gen::pdf {

/// The number of CPUs, read once per process (std::thread::hardware_concurrency() reads
/// /sys on every call).
unsigned cpu_count();

/// A task running on a helper thread; join() (or the destructor) waits until it finished.
class HelperTask {
 public:
  /// Runs `task` on an idle helper thread, or on a new one when none is idle: the task
  /// never waits for another render's work.
  static HelperTask start(std::function<void()> task);

  HelperTask() = default;
  HelperTask(HelperTask&&) noexcept = default;
  HelperTask& operator=(HelperTask&& other) noexcept;
  HelperTask(const HelperTask&) = delete;
  HelperTask& operator=(const HelperTask&) = delete;
  ~HelperTask();

  bool joinable() const { return state_ != nullptr; }
  /// Waits for the task; rethrows what it threw.
  void join();

  struct State;

 private:
  explicit HelperTask(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

}  // namespace gen::pdf
