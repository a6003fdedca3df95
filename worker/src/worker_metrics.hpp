// The worker's metrics across processes. The supervisor maps one shared memory region
// (MAP_SHARED | MAP_ANONYMOUS) before it forks anything; every process of the worker host
// sees it:
//  * each worker process counts into the slot of the supervisor's slot index it runs in
//    (lock-free atomics, no system call on the hot path) through the `stats::` hooks below;
//  * when a worker process dies, the supervisor folds its slot's counters into a 'retired'
//    slot and zeroes the slot, under a sequence lock, so totals never go backwards across
//    restarts; it also adds the dead process's CPU time (from wait4's rusage);
//  * the HTTP endpoint process (http_endpoint.hpp) sums every slot at scrape time.
// So one scrape of a worker host returns the totals over all its processes.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include <prometheus/metric_family.h>

#include "gen/core/queue/executor.hpp"
#include "gen/core/queue/job_store.hpp"

namespace gen::worker {

struct SharedMetrics;  // the layout lives in worker_metrics.cpp

/// The supervisor's handle on the shared region. Create before the first fork.
class MetricsRegion {
 public:
  /// Room for `processes` worker slots of `threads` threads each. Throws std::system_error.
  MetricsRegion(int processes, int threads);
  ~MetricsRegion();
  MetricsRegion(const MetricsRegion&) = delete;
  MetricsRegion& operator=(const MetricsRegion&) = delete;

  // --- supervisor side (single-threaded) ---------------------------------------------------
  /// In a freshly forked worker process: route the `stats::` hooks to slot `slot`.
  void attach_child(int slot);
  /// A worker process of `slot` started with `pid`.
  void child_started(int slot, pid_t pid);
  /// The worker process of `slot` ended with wait status `status`: folds its counters into
  /// the retired slot, adds its CPU time, and counts the exit by cause.
  void child_exited(int slot, int status, const rusage& usage, bool restarting);
  /// Another child (database helper, HTTP endpoint) ended: keep its CPU time in the totals.
  void helper_exited(const rusage& usage);
  /// The HTTP endpoint process's pid (0: none), for the process metrics.
  void set_endpoint_pid(pid_t pid);
  /// Tasks of a dead worker process released for retry (called in the helper process).
  void tasks_released(int n);
  /// Tasks of a worker process restarted for a task's limit, re-queued with their attempts
  /// given back (called in the helper process).
  void tasks_requeued(int n);

  // --- endpoint side -----------------------------------------------------------------------
  /// Every worker metric, summed over the processes, plus process_* over the supervisor,
  /// the worker processes and the endpoint. Consistent with respect to folds.
  std::vector<prometheus::MetricFamily> collect() const;

  struct Liveness {
    int configured = 0;       ///< THREADS__DRAMATIQ_PROCESSES
    int running = 0;          ///< worker processes alive
    int ready = 0;            ///< of those, how many loaded their plugins
    int min_generators = -1;  ///< fewest generators available in a ready process; -1: none
  };
  Liveness liveness() const;

 private:
  SharedMetrics* shared_ = nullptr;
  std::size_t bytes_ = 0;
};

/// Hooks called by a worker process (no-ops outside one, e.g. in tests). Thread-safe.
namespace stats {
/// Plugins loaded: the process is ready to run tasks with `generators` generators.
void plugins_loaded(std::size_t generators);
void task_claimed(const ClaimedTask& task);
/// An executor thread took a task (busy) / is done with it (idle again).
void task_started();
void thread_idle();
/// A task's final outcome (for a pipelined completion: once it is stored).
void task_finished(const ClaimedTask& task, const ExecutionResult& result);
/// Tasks whose expired lease this process rescued.
void tasks_rescued(int n);
enum class Operation : int { kClaim = 1, kHeartbeat = 2 };
/// Why a worker process ended one of its tasks by force (and itself with it).
enum class KillReason : int { kTimeout = 1, kMemory = 2 };
void task_killed(KillReason reason);
void database_error(Operation operation);
}  // namespace stats

}  // namespace gen::worker
