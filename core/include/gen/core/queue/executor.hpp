// Runs one claimed task to its end: finds the generator, loads the inputs, calls the plugin's
// `run()` behind a host-side Context, and records the outcome in the job store (complete or
// fail, fenced on the attempt). Used by every executor thread of generator-worker.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "gen/core/base/errors.hpp"
#include "gen/core/queue/job_store.hpp"

namespace gen {

class PluginHost;
class CompletionBatcher;
class TenantSettings;

/// What became of one execution, for the worker's counters and logs. Zero is not valid.
enum class TaskOutcome : int {
  kCompleted = 1,   ///< outputs stored, task completed
  kRetrying = 2,    ///< failed; the store queued another attempt after a backoff
  kFailed = 3,      ///< failed for good (permanent error or attempts exhausted)
  kCancelled = 4,   ///< stopped because its job was cancelled/deleted or the worker is draining
  kStale = 5,       ///< the result was refused: the attempt is no longer current
  kUnrecorded = 6,  ///< the outcome could not be written (database down); the lease will expire
};

/// "COMPLETED", "RETRYING", "FAILED", "CANCELLED", "STALE", "UNRECORDED".
const char* to_string(TaskOutcome outcome);

struct ExecutionResult {
  TaskOutcome outcome = TaskOutcome::kCompleted;
  ErrorCode code = ErrorCode::kUnset;  ///< the error recorded; kUnset when it succeeded
  std::string message;                 ///< the error message recorded; empty on success
  std::int64_t duration_ms = 0;        ///< execution time, queue wait excluded
  double generator_ms = 0;  ///< time inside the generator alone (no input loading or writes)
};

/// The worker's hard limits of one task (WORKER__MAX_TASK_MEMORY_MB, WORKER__MAX_TASK_OUTPUT_MB,
/// WORKER__TIMEOUT_GRACE_MS). A plugin's manifest may set its own per generator
/// (GeneratorLimits, plugin_host.hpp). Sizes of 0 mean "no limit".
struct TaskLimitSettings {
  std::int64_t max_task_memory_mb = 0;
  std::int64_t max_task_output_mb = 0;
  std::int64_t timeout_grace_ms = 0;
};

/// The limits that apply to one generator's tasks: the manifest's where it sets them, else the
/// worker's settings. `*_from_manifest` say which, for the messages.
struct EffectiveLimits {
  std::int64_t memory_mb = 0;  ///< 0: no ceiling
  std::int64_t output_mb = 0;  ///< 0: no cap
  bool memory_from_manifest = false;
  bool output_from_manifest = false;
  bool retry_on_timeout = false;
};

class TaskExecutor {
 public:
  /// Both references must outlive the executor. `worker_id` tags logs and error messages.
  /// One executor may serve many threads at once: `execute()` keeps no state in members.
  TaskExecutor(JobStore& store, PluginHost& plugins, std::string worker_id);

  /// Runs `task` (already claimed by this worker) and records its outcome. Never throws.
  ///
  /// `cancel` is owned by the caller and may be set from any thread: when the job was
  /// cancelled or deleted, when the worker drains, or when the attempt passed its time limit.
  /// The generator sees it through `Context::cancelled()`, which also turns true on its own
  /// once `task.timeout_ms` of execution time has passed. After `run()` returns:
  ///  * a write past the output cap    -> fail(kPayloadTooLarge), permanent, naming the cap
  ///                                      (the write was refused before its bytes were copied
  ///                                      and cancelled() turned true);
  ///  * past the time limit            -> fail(kTimeout), permanent unless the generator's
  ///                                      manifest says retry_on_timeout;
  ///  * `cancel` set, not ok           -> nothing is written: the store already cancelled the
  ///                                      job, or the draining worker releases the task;
  ///  * std::bad_alloc escaped `run()` -> fail(kOutOfMemory), permanent, naming the ceiling;
  ///  * Status::permanent              -> fail(kGeneratorRejectedInput), no retry;
  ///  * Status::retryable or exception -> fail(kGeneratorFailed), retried with backoff.
  /// Final writes that hit a database error are retried for a while before giving up.
  ExecutionResult execute(const ClaimedTask& task, std::atomic<bool>& cancel) noexcept;

  /// Like execute(), but a successful run's completion is handed to the batcher's committer
  /// (complete_async) and this returns before it is stored: `finished` then runs on the
  /// committer thread with the final outcome (COMPLETED, STALE when fencing refused it, or
  /// UNRECORDED). Every other outcome calls `finished` before this returns. Needs a batcher.
  /// `task` must stay valid until `finished` has run: the run's last log line names it.
  void execute_pipelined(const ClaimedTask& task, std::atomic<bool>& cancel,
                         std::function<void(const ExecutionResult&)> finished) noexcept;

  /// Completions go through `batcher` (group commit with other threads) when set; it must
  /// outlive the executor. Without one, each completion is its own transaction.
  void set_completion_batcher(CompletionBatcher* batcher) { batcher_ = batcher; }
  /// `Context::setting()` resolves runtime settings for the task's tenant through `settings`
  /// (which must outlive the executor); without it, every name reads the process environment.
  void set_tenant_settings(TenantSettings* settings) { settings_ = settings; }

  /// The worker's limits of one task; without a call, no output cap and no ceiling named.
  void set_limits(const TaskLimitSettings& limits) { limits_ = limits; }
  const TaskLimitSettings& limits() const { return limits_; }
  /// What applies to `generator`'s tasks (its manifest's limits over the worker's).
  EffectiveLimits effective_limits(const std::string& generator) const;

  /// The messages of the limits the worker process enforces by force (worker_process.cpp):
  /// the task is recorded with them, then the process is restarted. Sizes are rounded up to
  /// whole MB.
  static std::string timeout_kill_message(std::int64_t timeout_ms, std::int64_t grace_ms);
  static std::string memory_kill_message(const EffectiveLimits& limits,
                                         std::int64_t allocated_bytes);

  /// Minimum spacing of the fenced progress writes a generator triggers.
  static constexpr std::int64_t kProgressIntervalMs = 500;

 private:
  JobStore& store_;
  PluginHost& plugins_;
  std::string worker_id_;
  using Finished = std::function<void(const ExecutionResult&)>;
  // `pipelined` set: a successful run's completion goes to complete_async, `*handed_off`
  // becomes true and the returned result is not final.
  ExecutionResult run(const ClaimedTask& task, std::atomic<bool>& cancel, const Finished* pipelined,
                      bool* handed_off) noexcept;

  CompletionBatcher* batcher_ = nullptr;
  TenantSettings* settings_ = nullptr;
  TaskLimitSettings limits_;
};

}  // namespace gen
