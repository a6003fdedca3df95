// Generator SDK v1 — the test harness. Header-only; needs no backend, database or host.
//
// `FakeContext` is a `gen::sdk::Context` that a plugin's unit test fills and inspects:
// params and input artifacts go in, output artifacts, progress values and log lines are
// captured, cancellation and settings are under the test's control.
//
//   #include <gen/sdk/testing.hpp>
//
//   gen::sdk::testing::FakeContext ctx({{"name", "Ada"}});
//   ctx.add_input("data.json", "application/json", R"({"x": 1})");
//   gen::sdk::Status status = ctx.run(my_generator);   // validates params like the host
//   EXPECT_TRUE(status.is_ok()) << status.message();
//   EXPECT_EQ(ctx.output("hello.txt")->data, "Hello, Ada!");
//
// `run()` checks the params against the generator's declared `ParamSpec`s and fills in
// defaults before calling `Generator::run()` with the host's own rules (gen/sdk/params.hpp:
// unknown names, required ones, JSON types with 2.0 accepted as an integer, allowed values,
// `output_name`); a refused param returns `Status::permanent` naming it
// ("params.count: expected integer, got string"), and the generator is not called. An exception
// escaping `Generator::run()` is caught and returned as `Status::retryable` — the host does the
// same (and the generator should not throw). Call `generator.run(ctx)` directly to skip both.
//
// The host's hard limits can be simulated (see generator.hpp's file comment): a time limit
// (`set_time_limit`, or a deadline of your own with `set_deadline`, e.g. one in the past),
// cancellation (`cancel`, `cancel_after_polls`) and the output cap (`set_output_limit`). With
// a time limit or an output cap, `run()` returns what the host would record: a run that went
// past the limit, or wrote past the cap, is a `Status::permanent` naming the limit, whatever
// the generator returned (`timed_out()`, `output_refusal()` say which). The memory ceiling
// and the forced stop cannot be simulated in-process: test that the generator polls
// `cancelled()` in its long loops (`cancellation_polls()`) and bounds what it allocates.
//
// Not thread-safe except `cancelled()` and `cancel()`, which any thread may call, as with
// the host's context. A FakeContext may be reused for several runs; outputs, progress and
// logs accumulate until `clear_observations()`.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gen/sdk/generator.hpp>
#include <gen/sdk/params.hpp>
#include <nlohmann/json.hpp>

namespace gen::sdk::testing {

/// An artifact written by the generator through `Context::write_output()`.
struct OutputArtifact {
  std::string name;
  std::string media_type;
  std::string data;
};

/// A line written through `Context::log()`.
struct LogLine {
  LogLevel level = LogLevel::kInfo;
  std::string message;
};

class FakeContext final : public Context {
 public:
  using Clock = std::chrono::steady_clock;

  FakeContext() = default;
  explicit FakeContext(nlohmann::json params) : params_(std::move(params)) {}
  /// `FakeContext ctx({{"name", "Ada"}})`: params written as a JSON literal. (Without this
  /// overload that call would be ambiguous with the deleted copy constructor.)
  explicit FakeContext(nlohmann::json::initializer_list_t params) : params_(params) {}
  FakeContext(const FakeContext&) = delete;
  FakeContext& operator=(const FakeContext&) = delete;

  // ---- Set-up. Each returns *this so calls chain. ------------------------------------------

  /// The params `run()` validates and the generator sees (an object; default: empty).
  FakeContext& set_params(nlohmann::json params) {
    params_ = std::move(params);
    return *this;
  }
  /// Appends an input artifact. The bytes are copied and stay valid as long as the context.
  FakeContext& add_input(std::string name, std::string media_type, std::string data) {
    input_storage_.push_back(std::move(data));  // deque: earlier elements never move
    inputs_.push_back(InputArtifact{std::move(name), std::move(media_type),
                                    std::string_view(input_storage_.back())});
    return *this;
  }
  /// A value returned by `setting(name)`; unset names return std::nullopt.
  FakeContext& set_setting(std::string name, std::string value) {
    settings_[std::move(name)] = std::move(value);
    return *this;
  }
  FakeContext& set_job_id(std::string id) {
    job_id_ = std::move(id);
    return *this;
  }
  FakeContext& set_task_id(std::string id) {
    task_id_ = std::move(id);
    return *this;
  }
  FakeContext& set_attempt(int attempt) {
    attempt_ = attempt;
    return *this;
  }
  /// `cancelled()` turns true at its `polls`-th call (1: the first poll already sees it),
  /// which lets a test cancel "in the middle" of a run deterministically.
  FakeContext& cancel_after_polls(int polls) {
    cancel_at_poll_ = polls;
    return *this;
  }
  /// `cancelled()` turns true once `deadline` has passed, like the host's time limit.
  FakeContext& set_deadline(Clock::time_point deadline) {
    deadline_ = deadline;
    return *this;
  }
  /// The host's time limit: `cancelled()` turns true `limit` after `run()` starts, and a run
  /// that returns after it is reported as the host's TIMEOUT (see the file comment).
  FakeContext& set_time_limit(std::chrono::milliseconds limit) {
    time_limit_ = limit;
    return *this;
  }
  /// The host's output cap: a write that would take the outputs (all names together) past
  /// `bytes` is refused (nothing stored), `cancelled()` turns true and `run()` reports it.
  FakeContext& set_output_limit(std::size_t bytes) {
    output_limit_ = bytes;
    return *this;
  }
  /// Called for every `log()` as it happens (e.g. to print lines while debugging a test).
  FakeContext& on_log(std::function<void(LogLevel, std::string_view)> sink) {
    log_sink_ = std::move(sink);
    return *this;
  }

  /// Cancels the run (or un-cancels, with false). Safe from any thread.
  void cancel(bool value = true) { cancelled_.store(value); }

  // ---- Running. --------------------------------------------------------------------------

  /// Validates and completes the params against `generator.info()`, then runs it; see the
  /// file comment. The completed params stay in `params()` afterwards.
  Status run(Generator& generator) {
    const GeneratorInfo info = generator.info();
    if (auto error = sdk::complete_params(info, params_)) {
      return Status::permanent(error->describe());
    }
    if (time_limit_) deadline_ = Clock::now() + *time_limit_;
    timed_out_ = false;
    Status status = Status::retryable("generator did not run");
    try {
      status = generator.run(*this);
    } catch (const std::exception& e) {
      status = Status::retryable(std::string("generator threw: ") + e.what());
    } catch (...) {
      status = Status::retryable("generator threw a non-standard exception");
    }
    // What the host records, in its order: a write past the cap, then the time limit.
    if (!output_refusal_.empty()) return Status::permanent(output_refusal_);
    if (time_limit_ && Clock::now() >= *deadline_) {
      timed_out_ = true;
      return Status::permanent("execution time limit of " + std::to_string(time_limit_->count()) +
                               " ms exceeded (time spent queued is not counted)");
    }
    return status;
  }

  /// Checks `params` against `info.params` and fills in defaults, by the host's own rules
  /// (gen::sdk::complete_params in params.hpp). Returns the first problem, described
  /// ("params.count: expected integer, got string"), or nothing when the params are fine.
  static std::optional<std::string> complete_params(const GeneratorInfo& info,
                                                    nlohmann::json& params) {
    if (auto error = sdk::complete_params(info, params, "params")) return error->describe();
    return std::nullopt;
  }

  // ---- Observations. ---------------------------------------------------------------------

  /// Outputs in the order first written; writing a name again replaces it in place.
  const std::vector<OutputArtifact>& outputs() const { return outputs_; }
  /// The output called `name`, or nullptr.
  const OutputArtifact* output(std::string_view name) const {
    for (const OutputArtifact& o : outputs_) {
      if (o.name == name) return &o;
    }
    return nullptr;
  }
  /// The bytes of the output called `name`; throws std::out_of_range naming it when the
  /// generator wrote none (a test framework reports the exception as a failure).
  const std::string& output_data(std::string_view name) const {
    if (const OutputArtifact* o = output(name)) return o->data;
    throw std::out_of_range("no output named '" + std::string(name) + "'");
  }
  /// Every value passed to `progress()`, clamped to [0, 1] as the host does.
  const std::vector<double>& progress_values() const { return progress_; }
  const std::vector<LogLine>& log_lines() const { return logs_; }
  /// True when some log line contains `text`.
  bool logged(std::string_view text) const {
    return std::any_of(logs_.begin(), logs_.end(),
                       [&](const LogLine& l) { return l.message.find(text) != std::string::npos; });
  }
  /// How many times `cancelled()` was called.
  int cancellation_polls() const { return polls_.load(); }
  /// Whether the last `run()` went past `set_time_limit()`'s limit.
  bool timed_out() const { return timed_out_; }
  /// Why a write went past `set_output_limit()`'s cap ("" when none did).
  const std::string& output_refusal() const { return output_refusal_; }

  void clear_observations() {
    outputs_.clear();
    progress_.clear();
    logs_.clear();
    polls_.store(0);
    output_refusal_.clear();
    output_refused_.store(false);
    timed_out_ = false;
  }

  // ---- gen::sdk::Context. ----------------------------------------------------------------

  const nlohmann::json& params() const override { return params_; }
  const std::vector<InputArtifact>& inputs() const override { return inputs_; }

  void write_output(std::string_view name, std::string_view media_type,
                    std::string_view data) override {
    if (output_limit_) {
      std::size_t total = data.size();
      for (const OutputArtifact& o : outputs_) {
        if (o.name != name) total += o.data.size();
      }
      if (total > *output_limit_) {
        if (output_refusal_.empty()) {
          output_refusal_ = "the task's outputs exceed the limit of " +
                            std::to_string(*output_limit_) + " bytes: writing '" +
                            std::string(name) + "' would bring them to " + std::to_string(total) +
                            " bytes";
        }
        output_refused_.store(true);
        return;
      }
    }
    for (OutputArtifact& o : outputs_) {
      if (o.name == name) {  // assign() reuses the buffer: a benchmark's reruns do not allocate
        o.media_type.assign(media_type);
        o.data.assign(data);
        return;
      }
    }
    outputs_.push_back(
        OutputArtifact{std::string(name), std::string(media_type), std::string(data)});
  }

  void progress(double fraction) override { progress_.push_back(std::clamp(fraction, 0.0, 1.0)); }

  bool cancelled() const override {
    const int poll = polls_.fetch_add(1) + 1;
    if (cancelled_.load() || output_refused_.load()) return true;
    if (cancel_at_poll_ > 0 && poll >= cancel_at_poll_) return true;
    return deadline_ && Clock::now() >= *deadline_;
  }

  void log(LogLevel level, std::string_view message) override {
    logs_.push_back(LogLine{level, std::string(message)});
    if (log_sink_) log_sink_(level, message);
  }

  std::optional<std::string> setting(std::string_view name) const override {
    auto it = settings_.find(name);
    if (it == settings_.end()) return std::nullopt;
    return it->second;
  }

  std::string_view job_id() const override { return job_id_; }
  std::string_view task_id() const override { return task_id_; }
  int attempt() const override { return attempt_; }

 private:
  nlohmann::json params_ = nlohmann::json::object();
  std::deque<std::string> input_storage_;
  std::vector<InputArtifact> inputs_;
  std::map<std::string, std::string, std::less<>> settings_;
  std::string job_id_ = "test-job";
  std::string task_id_ = "test-task";
  int attempt_ = 1;

  std::atomic<bool> cancelled_{false};
  mutable std::atomic<int> polls_{0};
  int cancel_at_poll_ = 0;
  std::optional<Clock::time_point> deadline_;
  std::optional<std::chrono::milliseconds> time_limit_;
  bool timed_out_ = false;
  std::optional<std::size_t> output_limit_;
  std::string output_refusal_;
  std::atomic<bool> output_refused_{false};
  std::function<void(LogLevel, std::string_view)> log_sink_;

  std::vector<OutputArtifact> outputs_;
  std::vector<double> progress_;
  std::vector<LogLine> logs_;
};

}  // namespace gen::sdk::testing
