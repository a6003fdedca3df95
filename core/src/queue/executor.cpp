#include "gen/core/queue/executor.hpp"

#include "gen/core/queue/completion_batcher.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <new>
#include <thread>
#include <utility>
#include <vector>

#include <gen/sdk/generator.hpp>

#include "gen/core/base/log.hpp"
#include "gen/core/base/media_type.hpp"
#include "gen/core/plugins/plugin_host.hpp"
#include "gen/core/queue/states.hpp"
#include "gen/core/tenancy/config_store.hpp"
#include "storage/write_retry.hpp"

namespace gen {
namespace {

using Clock = std::chrono::steady_clock;

std::int64_t ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

log::Level to_log_level(sdk::LogLevel level) {
  switch (level) {
    case sdk::LogLevel::kDebug:
      return log::Level::kDebug;
    case sdk::LogLevel::kInfo:
      return log::Level::kInfo;
    case sdk::LogLevel::kWarning:
      return log::Level::kWarning;
    case sdk::LogLevel::kError:
      return log::Level::kError;
  }
  return log::Level::kInfo;
}

// A run's log fields (job, task, generator, attempt, step, worker, tenant), built the first
// time a log line needs them: most runs log nothing, and building them took a dozen
// allocations per task. Safe to use from a plugin's own threads (HostContext::log).
class RunLogFields {
 public:
  RunLogFields(const ClaimedTask& task, const std::string& worker) : task_(task), worker_(worker) {}
  const nlohmann::json& get() const noexcept {
    std::call_once(built_, [this] {
      try {
        fields_ = {{"job_id", task_.job_id},       {"task_id", task_.task_id},
                   {"generator", task_.generator}, {"attempt", task_.attempt},
                   {"step", task_.step},           {"worker", worker_},
                   {"tenant", task_.tenant}};
      } catch (...) {
        fields_ = nlohmann::json::object();
      }
    });
    return fields_;
  }

 private:
  const ClaimedTask& task_;
  const std::string& worker_;
  mutable std::once_flag built_;
  mutable nlohmann::json fields_;
};

// The Context a generator sees. Lives on the executing thread's stack for one run() call.
class HostContext final : public sdk::Context {
 public:
  HostContext(JobStore& store, TenantSettings* settings, const ClaimedTask& task,
              std::vector<Artifact> inputs, std::atomic<bool>& cancel, Clock::time_point deadline,
              const RunLogFields& log_fields, const EffectiveLimits& limits)
      : store_(store),
        settings_(settings),
        task_(task),
        input_data_(std::move(inputs)),
        cancel_(cancel),
        deadline_(deadline),
        log_fields_(log_fields),
        limits_(limits) {
    views_.reserve(input_data_.size());
    for (const Artifact& a : input_data_) {
      views_.push_back(sdk::InputArtifact{a.meta.name, a.meta.media_type, a.data});
    }
  }

  const nlohmann::json& params() const override { return task_.params; }
  const std::vector<sdk::InputArtifact>& inputs() const override { return views_; }

  void write_output(std::string_view name, std::string_view media_type,
                    std::string_view data) override {
    if (!admit_output(name, data.size())) return;
    // The media type becomes the download's Content-Type: an invalid one fails the task.
    if (invalid_output_.empty()) {
      if (std::string why = media_type_problem(media_type); !why.empty()) {
        invalid_output_ = "output '" + std::string(name) + "' has an invalid media type '" +
                          printable_for_message(media_type) + "': it " + why;
      }
    }
    auto same_name = [&](const OutputFile& f) { return f.name == name; };
    if (auto it = std::find_if(outputs_.begin(), outputs_.end(), same_name); it != outputs_.end()) {
      it->media_type = std::string(media_type);
      it->data = std::string(data);
      return;
    }
    outputs_.push_back(OutputFile{std::string(name), std::string(media_type), std::string(data)});
  }

  // Batched: at most one fenced write per kProgressIntervalMs. A stale answer means the
  // attempt is no longer ours (rescued, cancelled, deleted): cancelled() turns true.
  void progress(double fraction) override {
    if (std::isnan(fraction)) return;
    fraction = std::clamp(fraction, 0.0, 1.0);
    Clock::time_point now = Clock::now();
    if (written_once_ && (fraction == last_written_ ||
                          ms_between(last_write_, now) < TaskExecutor::kProgressIntervalMs)) {
      return;
    }
    written_once_ = true;
    last_write_ = now;
    last_written_ = fraction;
    try {
      if (store_.progress(task_, fraction) == WriteResult::kStale) stale_ = true;
    } catch (const std::exception& e) {
      nlohmann::json fields = log_fields_.get();
      fields["error"] = e.what();
      log::warning("progress write failed", fields);
    }
  }

  bool cancelled() const override {
    return cancel_.load() || stale_.load() || output_refused_.load() || Clock::now() >= deadline_;
  }

  void log(sdk::LogLevel level, std::string_view message) override {
    log::write(to_log_level(level), message, log_fields_.get());
  }

  // Runtime settings resolve for the job's tenant; any other name reads the environment.
  std::optional<std::string> setting(std::string_view name) const override {
    if (settings_ != nullptr) {
      try {
        if (auto value = settings_->get(task_.tenant, name)) return value;
      } catch (const std::exception& e) {
        nlohmann::json fields = log_fields_.get();
        fields["error"] = e.what();
        fields["setting"] = std::string(name);
        log::warning("cannot read the tenant's settings; using the environment's value", fields);
      }
    }
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr || *value == '\0') return std::nullopt;
    return std::string(value);
  }

  std::string_view job_id() const override { return task_.job_id; }
  std::string_view task_id() const override { return task_.task_id; }
  int attempt() const override { return task_.attempt; }

  bool stale() const { return stale_.load(); }
  /// Why a write went past the output cap; empty when none did.
  const std::string& output_refusal() const { return output_refusal_; }
  /// Why an output was refused (an invalid media type), "" when none was.
  const std::string& invalid_output() const { return invalid_output_; }
  const std::vector<OutputFile>& outputs() const { return outputs_; }
  std::vector<OutputFile> take_outputs() { return std::move(outputs_); }

 private:
  // The output cap: a write that would take the task's outputs (all names together) past it
  // is refused before its bytes are copied, cancelled() turns true, and the task fails
  // permanently whatever run() returns. Bounds what one task can make the worker hold.
  bool admit_output(std::string_view name, std::size_t size) {
    std::int64_t replaced = 0;
    for (const OutputFile& f : outputs_) {
      if (f.name == name) replaced = static_cast<std::int64_t>(f.data.size());
    }
    const std::int64_t total = output_bytes_ - replaced + static_cast<std::int64_t>(size);
    const std::int64_t cap = limits_.output_mb * 1024 * 1024;
    if (cap > 0 && total > cap) {
      if (output_refusal_.empty()) {
        output_refusal_ = "the task's outputs exceed the limit of " +
                          std::to_string(limits_.output_mb) + " MB per task (" +
                          (limits_.output_from_manifest ? "set by the generator's manifest"
                                                        : "WORKER__MAX_TASK_OUTPUT_MB") +
                          "): writing '" + std::string(name) + "' (" + std::to_string(size) +
                          " bytes) would bring them to " + std::to_string(total) + " bytes";
      }
      output_refused_ = true;
      return false;
    }
    output_bytes_ = total;
    return true;
  }

  JobStore& store_;
  TenantSettings* settings_;
  const ClaimedTask& task_;
  std::vector<Artifact> input_data_;  // owns the bytes the views point into
  std::vector<sdk::InputArtifact> views_;
  std::vector<OutputFile> outputs_;
  std::string invalid_output_;
  std::atomic<bool>& cancel_;
  std::atomic<bool> stale_{false};
  Clock::time_point deadline_;
  const RunLogFields& log_fields_;  // run()'s, which outlives the context
  const EffectiveLimits& limits_;   // run()'s, which outlives the context
  std::int64_t output_bytes_ = 0;   // the outputs' total size
  std::atomic<bool> output_refused_{false};
  std::string output_refusal_;
  bool written_once_ = false;
  Clock::time_point last_write_{};
  double last_written_ = -1;
};

}  // namespace

const char* to_string(TaskOutcome outcome) {
  // A final outcome is named as the state its task ends in. (Those names are string literals,
  // so data() is NUL-terminated.)
  switch (outcome) {
    case TaskOutcome::kCompleted:
      return to_string(TaskStatus::kCompleted).data();
    case TaskOutcome::kRetrying:
      return "RETRYING";
    case TaskOutcome::kFailed:
      return to_string(TaskStatus::kFailed).data();
    case TaskOutcome::kCancelled:
      return to_string(TaskStatus::kCancelled).data();
    case TaskOutcome::kStale:
      return "STALE";
    case TaskOutcome::kUnrecorded:
      return "UNRECORDED";
  }
  return "UNRECORDED";
}

TaskExecutor::TaskExecutor(JobStore& store, PluginHost& plugins, std::string worker_id)
    : store_(store), plugins_(plugins), worker_id_(std::move(worker_id)) {}

EffectiveLimits TaskExecutor::effective_limits(const std::string& generator) const {
  const GeneratorLimits manifest = plugins_.limits(generator);
  EffectiveLimits out;
  out.retry_on_timeout = manifest.retry_on_timeout;
  out.memory_from_manifest = manifest.max_task_memory_mb > 0;
  out.memory_mb =
      out.memory_from_manifest ? manifest.max_task_memory_mb : limits_.max_task_memory_mb;
  out.output_from_manifest = manifest.max_task_output_mb > 0;
  out.output_mb =
      out.output_from_manifest ? manifest.max_task_output_mb : limits_.max_task_output_mb;
  return out;
}

std::string TaskExecutor::timeout_kill_message(std::int64_t timeout_ms, std::int64_t grace_ms) {
  return "execution time limit of " + std::to_string(timeout_ms) +
         " ms exceeded; the generator did not stop within the grace of " +
         std::to_string(grace_ms) + " ms and its worker process was restarted";
}

static std::string memory_ceiling_text(const EffectiveLimits& limits) {
  return std::to_string(limits.memory_mb) + " MB per task (" +
         (limits.memory_from_manifest ? "set by the generator's manifest"
                                      : "WORKER__MAX_TASK_MEMORY_MB") +
         ")";
}

std::string TaskExecutor::memory_kill_message(const EffectiveLimits& limits,
                                              std::int64_t allocated_bytes) {
  return "memory limit of " + memory_ceiling_text(limits) + " exceeded: the task held " +
         std::to_string((allocated_bytes + 1024 * 1024 - 1) / (1024 * 1024)) +
         " MB; its worker process was restarted";
}

// The "task finished" log line, at a level that follows the outcome.
static void log_finished(const ExecutionResult& result, const RunLogFields& run_fields) noexcept {
  const bool ok = result.outcome == TaskOutcome::kCompleted ||
                  result.outcome == TaskOutcome::kCancelled ||
                  result.outcome == TaskOutcome::kStale;
  if (ok && !log::enabled(log::Level::kInfo)) return;  // the common case: nothing to build
  try {
    nlohmann::json fields = run_fields.get();
    fields["outcome"] = to_string(result.outcome);
    fields["duration_ms"] = result.duration_ms;
    if (!result.message.empty()) fields["error"] = result.message;
    if (result.code != ErrorCode::kUnset)
      fields["error_code"] = std::string(code_name(result.code));
    switch (result.outcome) {
      case TaskOutcome::kCompleted:
      case TaskOutcome::kCancelled:
      case TaskOutcome::kStale:
        log::info("task finished", fields);
        break;
      case TaskOutcome::kRetrying:
      case TaskOutcome::kFailed:
        log::warning("task finished", fields);
        break;
      case TaskOutcome::kUnrecorded:
        log::error("task finished", fields);
        break;
    }
  } catch (...) {
  }
}

ExecutionResult TaskExecutor::execute(const ClaimedTask& task, std::atomic<bool>& cancel) noexcept {
  return run(task, cancel, nullptr, nullptr);
}

void TaskExecutor::execute_pipelined(const ClaimedTask& task, std::atomic<bool>& cancel,
                                     Finished finished) noexcept {
  bool handed_off = false;
  ExecutionResult result = run(task, cancel, &finished, &handed_off);
  if (!handed_off && finished) finished(result);
}

ExecutionResult TaskExecutor::run(const ClaimedTask& task, std::atomic<bool>& cancel,
                                  const Finished* pipelined, bool* handed_off) noexcept {
  const Clock::time_point started = Clock::now();
  ExecutionResult result;
  const RunLogFields fields(task, worker_id_);

  // Records a failure, fenced on the attempt; fills `result`.
  auto record_failure = [&](ErrorCode code, const std::string& message, bool permanent) {
    result.code = code;
    result.message = message;
    FailResult fr = FailResult::kStale;
    bool written = write_with_retry("record the task's failure", fields.get(),
                                    [&] { fr = store_.fail(task, code, message, permanent); });
    if (!written) {
      result.outcome = TaskOutcome::kUnrecorded;
    } else if (fr == FailResult::kRetrying) {
      result.outcome = TaskOutcome::kRetrying;
    } else if (fr == FailResult::kFailed) {
      result.outcome = TaskOutcome::kFailed;
    } else {
      result.outcome = TaskOutcome::kStale;
    }
  };

  try {
    if (log::enabled(log::Level::kDebug)) log::debug("task started", fields.get());
    sdk::Generator* generator = plugins_.find(task.generator);
    if (generator == nullptr) {
      record_failure(ErrorCode::kGeneratorUnavailable,
                     "generator '" + task.generator + "' is not loaded on worker " + worker_id_,
                     false);
    } else {
      std::vector<Artifact> inputs;
      bool have_inputs = true;
      try {
        if (task.has_inputs) inputs = store_.load_inputs(task);
      } catch (const Error& e) {
        have_inputs = false;
        record_failure(e.code() == ErrorCode::kUnset ? ErrorCode::kInternal : e.code(),
                       std::string("cannot load the task's inputs: ") + e.what(), false);
      } catch (const std::exception& e) {
        have_inputs = false;
        record_failure(ErrorCode::kInternal,
                       std::string("cannot load the task's inputs: ") + e.what(), false);
      }

      if (have_inputs) {
        const Clock::time_point deadline =
            task.timeout_ms > 0 ? started + std::chrono::milliseconds(task.timeout_ms)
                                : Clock::time_point::max();
        const EffectiveLimits limits = effective_limits(task.generator);
        HostContext context(store_, settings_, task, std::move(inputs), cancel, deadline, fields,
                            limits);

        sdk::Status status = sdk::Status::retryable("generator did not run");
        bool out_of_memory = false;
        const Clock::time_point generator_started = Clock::now();
        try {
          status = generator->run(context);
        } catch (const std::bad_alloc& e) {
          // The process's address-space limit (sized from the memory ceiling) or a single
          // impossible allocation: the task ends OUT_OF_MEMORY, the process lives on.
          out_of_memory = true;
          status = sdk::Status::permanent(std::string("out of memory: ") + e.what());
        } catch (const std::exception& e) {
          status = sdk::Status::retryable(std::string("generator threw: ") + e.what());
        } catch (...) {
          status = sdk::Status::retryable("generator threw a non-standard exception");
        }

        const Clock::time_point finished = Clock::now();
        result.generator_ms =
            std::chrono::duration<double, std::milli>(finished - generator_started).count();
        if (!context.output_refusal().empty()) {
          record_failure(ErrorCode::kPayloadTooLarge, context.output_refusal(), true);
        } else if (out_of_memory && !cancel.load()) {
          std::string message =
              "out of memory: an allocation in the generator failed (std::bad_alloc)";
          if (limits.memory_mb > 0) message += "; the limit is " + memory_ceiling_text(limits);
          record_failure(ErrorCode::kOutOfMemory, message, !is_retryable(ErrorCode::kOutOfMemory));
        } else if (task.timeout_ms > 0 && finished >= deadline) {
          record_failure(ErrorCode::kTimeout,
                         "execution time limit of " + std::to_string(task.timeout_ms) +
                             " ms exceeded (time spent queued is not counted)",
                         !(is_retryable(ErrorCode::kTimeout) || limits.retry_on_timeout));
        } else if (status.is_ok() && !context.invalid_output().empty()) {
          record_failure(ErrorCode::kGeneratorFailed,
                         "generator '" + task.generator + "': " + context.invalid_output(), true);
        } else if (status.is_ok() && pipelined != nullptr && batcher_ != nullptr) {
          // Handed to the committer; `pipelined` reports the outcome once it is stored.
          batcher_->complete_async(task, context.take_outputs(),
                                   [this, &task, result, started, finished = *pipelined](
                                       WriteResult wr, bool written) mutable {
                                     result.outcome = !written ? TaskOutcome::kUnrecorded
                                                      : wr == WriteResult::kApplied
                                                          ? TaskOutcome::kCompleted
                                                          : TaskOutcome::kStale;
                                     result.duration_ms = ms_between(started, Clock::now());
                                     log_finished(result, RunLogFields(task, worker_id_));
                                     if (finished) finished(result);
                                   });
          *handed_off = true;
          return result;
        } else if (status.is_ok()) {
          WriteResult wr = WriteResult::kStale;
          bool written = write_with_retry("store the task's outputs", fields.get(), [&] {
            wr = batcher_ ? batcher_->complete(task, context.outputs())
                          : store_.complete(task, context.outputs());
          });
          if (!written) {
            result.outcome = TaskOutcome::kUnrecorded;
          } else {
            result.outcome =
                wr == WriteResult::kApplied ? TaskOutcome::kCompleted : TaskOutcome::kStale;
          }
        } else if (context.stale()) {
          result.outcome = TaskOutcome::kStale;  // someone else owns the task now
          result.message = status.message();
        } else if (cancel.load()) {
          // Job cancelled/deleted (the store already recorded it) or the worker drains and
          // releases the task itself: nothing to write.
          result.outcome = TaskOutcome::kCancelled;
          result.code = ErrorCode::kCancelled;
          result.message = status.message();
        } else if (status.kind() == sdk::Status::Kind::kPermanent) {
          record_failure(ErrorCode::kGeneratorRejectedInput, status.message(), true);
        } else {
          record_failure(ErrorCode::kGeneratorFailed, status.message(), false);
        }
      }
    }
  } catch (const std::exception& e) {
    // Only reachable on a host-side bug or allocation failure; the lease expiry covers it.
    result.outcome = TaskOutcome::kUnrecorded;
    result.code = ErrorCode::kInternal;
    result.message = std::string("executor error: ") + e.what();
  } catch (...) {
    result.outcome = TaskOutcome::kUnrecorded;
    result.code = ErrorCode::kInternal;
    result.message = "executor error";
  }

  result.duration_ms = ms_between(started, Clock::now());
  log_finished(result, fields);
  return result;
}

}  // namespace gen
