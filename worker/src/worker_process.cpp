#include "worker_process.hpp"

#include <jemalloc/jemalloc.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "gen/core/base/clock.hpp"
#include "gen/core/base/errors.hpp"
#include "gen/core/base/log.hpp"
#include "gen/core/content/library.hpp"
#include "gen/core/plugins/plugin_host.hpp"
#include "gen/core/queue/completion_batcher.hpp"
#include "gen/core/queue/executor.hpp"
#include "gen/core/queue/job_store.hpp"
#include "gen/core/storage/database.hpp"
#include "gen/core/storage/task_signal.hpp"
#include "gen/core/tenancy/config_store.hpp"
#include "gen/core/webhooks/webhooks.hpp"
#include "worker_metrics.hpp"

namespace gen::worker {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Largest batch one claim transaction takes.
constexpr int kMaxClaimBatch = 1024;
// The local queue holds about this much work per thread (by the tasks' mean run time), at
// least 2 and at most kMaxDepth tasks per thread: a prefetched task waits here for ~20 ms
// at most on average, so short tasks are claimed in large batches (one transaction per
// hundreds of tasks) while long ones are not hoarded away from other workers.
constexpr double kLocalQueueMs = 20.0;
constexpr int kMaxDepth = 128;
// After the drain timeout the running generators are asked to stop; this is how long they
// get to return before the process releases what is left and exits.
constexpr milliseconds kCancelGrace{2000};
// Pause after a database error in a loop: starts here, doubles up to the maximum.
constexpr milliseconds kMaxErrorPause{5000};
// How often the watchdog looks at the running tasks' run time and memory.
constexpr milliseconds kWatchdogInterval{50};
// Address space a worker process may use beyond its size at start-up and its tasks' memory
// ceilings: the threads' stacks, database buffers, allocator slack, plugins' own threads.
constexpr std::int64_t kAddressSpaceSlackMb = 1024;

// This thread's jemalloc counters of bytes allocated and freed (thread.allocatedp,
// thread.deallocatedp): the memory a task's thread holds is their difference. Null when the
// allocator does not offer them (then only the address-space limit bounds a task).
struct ThreadMemory {
  const std::uint64_t* allocated = nullptr;
  const std::uint64_t* deallocated = nullptr;
};

ThreadMemory thread_memory() {
  ThreadMemory m;
  std::uint64_t* allocated = nullptr;
  std::uint64_t* deallocated = nullptr;
  std::size_t size = sizeof(allocated);
  if (mallctl("thread.allocatedp", &allocated, &size, nullptr, 0) != 0) return m;
  size = sizeof(deallocated);
  if (mallctl("thread.deallocatedp", &deallocated, &size, nullptr, 0) != 0) return m;
  m.allocated = allocated;
  m.deallocated = deallocated;
  return m;
}

// Another thread's counter: written by its thread only; a relaxed 64-bit load never tears.
std::uint64_t read_counter(const std::uint64_t* counter) {
  return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

// The process's address space now (VmSize), in MB; 0 when unreadable.
std::int64_t address_space_mb() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t pages = 0;
  if (!(statm >> pages)) return 0;
  return pages * ::sysconf(_SC_PAGESIZE) / (1024 * 1024);
}

// Waits up to `timeout` for SIGTERM or SIGINT (blocked in every thread). True when one came.
bool wait_for_stop_signal(milliseconds timeout) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  ts.tv_nsec = static_cast<long>((timeout.count() % 1000) * 1000000);
  for (;;) {
    int sig = sigtimedwait(&set, nullptr, &ts);
    if (sig == SIGTERM || sig == SIGINT) return true;
    if (sig < 0 && errno == EINTR) continue;  // rare; the remaining time is not tracked
    return false;
  }
}

[[noreturn]] void finish(int code) {
  std::fflush(stdout);
  std::fflush(stderr);
  ::_exit(code);
}

class WorkerProcess {
 public:
  WorkerProcess(const Settings& settings, std::string id)
      : settings_(settings), id_(std::move(id)) {}

  [[noreturn]] void run() {
    if (!open_database()) finish(0);  // stopped while waiting for the database
    plugins_ = std::make_unique<PluginHost>(settings_.plugins_path);
    plugins_->load_all();  // after fork(): Qt and plugin code never run in the supervisor
    stats::plugins_loaded(plugins_->generators().size());
    store_ = std::make_unique<JobStore>(*db_);
    // Import and field jobs' outputs go into the content library as their steps complete.
    store_->set_ingest(std::make_shared<content::LibraryIngest>());
    batcher_ = std::make_unique<CompletionBatcher>(*store_, kMaxClaimBatch);
    executor_ = std::make_unique<TaskExecutor>(*store_, *plugins_, id_);
    executor_->set_completion_batcher(batcher_.get());
    config_ = std::make_unique<ConfigStore>(*db_, settings_.runtime_defaults);
    tenant_settings_ = std::make_unique<TenantSettings>(*config_, std::chrono::seconds(2));
    executor_->set_tenant_settings(tenant_settings_.get());
    executor_->set_limits({.max_task_memory_mb = settings_.max_task_memory_mb,
                           .max_task_output_mb = settings_.max_task_output_mb,
                           .timeout_grace_ms = settings_.timeout_grace_ms});

    limit_address_space();  // before any task can run; the threads' stacks use the slack
    idle_threads_ = settings_.worker_threads;
    for (int i = 0; i < settings_.worker_threads; ++i) {
      std::thread([this] { executor_loop(); }).detach();
    }
    std::thread claimer([this] { claim_loop(); });
    std::thread([this] { heartbeat_loop(); }).detach();
    std::thread([this] { webhook_loop(); }).detach();
    listener_ = TaskListener::create(*db_);
    std::thread([this] { listen_loop(); }).detach();
    std::thread([this] { watchdog_loop(); }).detach();

    std::vector<std::string> generators;
    for (const auto& info : plugins_->generators()) generators.push_back(info.id);
    log::info("worker process started",
              {{"worker", id_}, {"threads", settings_.worker_threads}, {"generators", generators}});

    while (!wait_for_stop_signal(milliseconds(1000))) {
    }
    drain(claimer);
  }

 private:
  struct Running {
    ClaimedTask task;
    std::atomic<bool> cancel{false};
    Clock::time_point started = Clock::now();
    bool timeout_signalled = false;
    // The executing thread's allocator counters and their values when the task started.
    ThreadMemory memory;
    std::uint64_t allocated_at_start = 0;
    std::uint64_t deallocated_at_start = 0;
    std::int64_t memory_ceiling_bytes = 0;  // 0: none

    // Bytes the task's thread allocated and did not free since the task started.
    std::int64_t memory_held() const {
      if (memory.allocated == nullptr) return 0;
      const std::uint64_t allocated = read_counter(memory.allocated) - allocated_at_start;
      const std::uint64_t freed = read_counter(memory.deallocated) - deallocated_at_start;
      return static_cast<std::int64_t>(allocated) - static_cast<std::int64_t>(freed);
    }
  };

  enum class Limit { kTime, kMemory };

  bool open_database() {
    milliseconds pause(200);
    for (;;) {
      try {
        // A session each for the executor threads, the claimer, the committer, the heartbeat,
        // the webhook deliverer and its delivery threads, and the watchdog.
        db_ = Database::open(settings_.database_url,
                             settings_.worker_threads + 5 + settings_.webhook_concurrency);
        return true;
      } catch (const Error& e) {
        if (!is_retryable(e.code())) {
          log::error("cannot open the database", {{"worker", id_}, {"error", e.what()}});
          finish(2);
        }
        log::warning("database unavailable, retrying",
                     {{"worker", id_}, {"error", e.what()}, {"retry_in_ms", pause.count()}});
      } catch (const std::exception& e) {
        log::warning("database unavailable, retrying",
                     {{"worker", id_}, {"error", e.what()}, {"retry_in_ms", pause.count()}});
      }
      if (wait_for_stop_signal(pause)) return false;
      pause = std::min(pause * 2, kMaxErrorPause);
    }
  }

  // Keeps a local queue (graphile-worker's lesson): up to depth x threads tasks held by
  // this process, running or waiting, claimed in batches of up to kMaxClaimBatch. The depth
  // follows the tasks' mean run time (kLocalQueueMs; 2 until tasks have run). It claims at
  // once when a thread is idle with nothing queued (latency), else only once at least half
  // the capacity is free (batching). A full batch loops at once; otherwise it sleeps
  // WORKER__POLL_INTERVAL_MS, woken early by a finished task or a task notification.
  // Prefetched tasks are leased like running ones (the heartbeat renews them); their
  // execution time limit starts when a thread picks them up.
  int capacity() const {
    int depth = 2;
    if (mean_run_ms_ >= 0) {
      depth = static_cast<int>(
          std::clamp(kLocalQueueMs / std::max(mean_run_ms_, 0.01), 2.0, double(kMaxDepth)));
    }
    return depth * settings_.worker_threads;
  }
  int room() const { return capacity() - (unsettled_ + static_cast<int>(queue_.size())); }
  bool should_claim() const {
    const int free = room();
    if (free <= 0) return false;  // results still being stored count as held
    if (idle_threads_ > 0 && queue_.empty()) return true;
    return free >= std::max(1, capacity() / 2);
  }

  // Called with mutex_ held when a task finished (`kick`: it may have queued its job's next
  // step) or a thread freed up. Wakes the claimer only when one of its waits would end:
  // room for a claim, or the first kick since its last claim. Woken for every finished task,
  // it woke only to wait again.
  void wake_claimer(bool kick) {
    const bool first_kick = kick && !kick_;
    if (kick) kick_ = true;
    if (first_kick || should_claim()) claimer_cv_.notify_one();
  }

  void claim_loop() {
    milliseconds error_pause(settings_.poll_interval_ms);
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      if (!should_claim()) {
        claimer_cv_.wait(lock, [&] { return stopping_ || should_claim(); });
        continue;
      }
      int wanted = room();
      wanted = std::min(wanted, kMaxClaimBatch);
      kick_ = false;
      lock.unlock();
      std::vector<ClaimedTask> claimed;
      bool failed = false;
      try {
        claimed = store_->claim(id_, wanted, settings_.lease_ms());
        for (const ClaimedTask& task : claimed) stats::task_claimed(task);
        error_pause = milliseconds(settings_.poll_interval_ms);
      } catch (const std::exception& e) {
        failed = true;
        stats::database_error(stats::Operation::kClaim);
        log::warning("claim failed, retrying",
                     {{"worker", id_}, {"error", e.what()}, {"retry_in_ms", error_pause.count()}});
      }
      lock.lock();
      for (auto& task : claimed) queue_.push_back(std::move(task));
      if (!claimed.empty()) tasks_cv_.notify_all();

      if (failed) {
        claimer_cv_.wait_for(lock, error_pause, [&] { return stopping_; });
        error_pause = std::min(error_pause * 2, kMaxErrorPause);
      } else if (static_cast<int>(claimed.size()) < wanted) {
        claimer_cv_.wait_for(lock, milliseconds(settings_.poll_interval_ms),
                             [&] { return stopping_ || kick_; });
      }
    }
  }

  // Wakes the claimer as soon as tasks become runnable (LISTEN/NOTIFY on PostgreSQL, a
  // datagram socket beside the SQLite file). Polling in claim_loop covers lost wake-ups.
  void listen_loop() {
    for (;;) {
      if (!listener_->wait(milliseconds(1000))) continue;
      std::lock_guard lock(mutex_);
      kick_ = true;
      claimer_cv_.notify_one();
    }
  }

  void executor_loop() {
    const ThreadMemory memory = thread_memory();
    std::unique_lock lock(mutex_);
    for (;;) {
      // Once the process ends for a task's limit, nothing new starts (claimed tasks are
      // re-queued by the supervisor).
      tasks_cv_.wait(lock, [&] { return !queue_.empty() && !ending_for_limit_; });
      auto entry = std::make_shared<Running>();
      entry->task = std::move(queue_.front());
      queue_.pop_front();
      entry->memory = memory;
      if (memory.allocated != nullptr) {
        entry->allocated_at_start = read_counter(memory.allocated);
        entry->deallocated_at_start = read_counter(memory.deallocated);
      }
      entry->memory_ceiling_bytes =
          executor_->effective_limits(entry->task.generator).memory_mb * 1024 * 1024;
      --idle_threads_;
      running_[entry->task.task_id] = entry;
      ++unsettled_;
      lock.unlock();

      stats::task_started();
      // A successful run's completion is committed in the background with other threads'
      // (CompletionBatcher::complete_async) while this thread takes its next task; the task
      // stays leased and counted in unsettled_ until `settled` ran.
      executor_->execute_pipelined(
          entry->task, entry->cancel, [this, entry](const ExecutionResult& result) {
            stats::task_finished(entry->task, result);
            std::lock_guard settled_lock(mutex_);
            // Mean generator run time (moving average over ~the last 100 tasks) sizes the
            // local queue; the commit of the result is left out, it is shared work.
            const double run_ms = result.generator_ms;
            mean_run_ms_ = mean_run_ms_ < 0 ? run_ms : mean_run_ms_ + (run_ms - mean_run_ms_) / 100;
            --unsettled_;
            ++finished_;
            // A completed task may have queued its job's next step: look for it now.
            wake_claimer(result.outcome == TaskOutcome::kCompleted);
            drained_cv_.notify_all();
          });
      stats::thread_idle();

      lock.lock();
      running_.erase(entry->task.task_id);
      ++idle_threads_;
      wake_claimer(false);
      drained_cv_.notify_all();
    }
  }

  // Delivers webhooks (webhooks.hpp): up to WEBHOOKS__CONCURRENCY at once (capped per receiver
  // and per tenant), polling for due ones every 500 ms or when one finishes; rescues
  // deliveries of stopped workers and prunes old ones now and then. Stops claiming when the
  // process drains; a delivery in flight then is retried elsewhere.
  void webhook_loop() {
    WebhookOptions options;
    options.allow_hosts = settings_.webhook_allow_hosts;
    options.retry_base_ms = settings_.webhook_retry_base_ms;
    options.timeout_ms = settings_.webhook_timeout_ms;
    options.retention_ms = settings_.retention_s * 1000;
    options.concurrency = settings_.webhook_concurrency;
    options.max_per_receiver = settings_.webhook_max_per_receiver;
    options.max_per_tenant = settings_.webhook_max_per_tenant;
    WebhookDeliverer deliverer(*db_, id_, options);
    Clock::time_point next_upkeep = Clock::now();
    milliseconds error_pause(500);
    for (;;) {
      {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
      }
      try {
        if (Clock::now() >= next_upkeep) {
          next_upkeep = Clock::now() + std::chrono::seconds(5);
          if (int rescued = deliverer.rescue_expired(); rescued > 0) {
            log::warning("rescued webhook deliveries whose lease expired",
                         {{"worker", id_}, {"deliveries", rescued}});
          }
          deliverer.prune();
        }
        error_pause = milliseconds(500);
        if (deliverer.start_due() > 0) continue;
        deliverer.wait_for_slot(milliseconds(500));
      } catch (const std::exception& e) {
        log::warning("webhook delivery loop failed", {{"worker", id_}, {"error", e.what()}});
        std::this_thread::sleep_for(error_pause);
        error_pause = std::min(error_pause * 2, kMaxErrorPause);
      }
    }
  }

  // Renews the leases, stops tasks whose job was cancelled or that ran past their time
  // limit, and rescues tasks of workers that stopped heartbeating. Runs until _exit.
  void heartbeat_loop() {
    const milliseconds interval(settings_.heartbeat_interval_ms);
    for (;;) {
      std::this_thread::sleep_for(interval);
      try {
        std::vector<std::string> cancelled = store_->heartbeat(id_, settings_.lease_ms());
        std::lock_guard lock(mutex_);
        for (const std::string& task_id : cancelled) {
          auto it = running_.find(task_id);
          if (it == running_.end() || it->second->cancel.exchange(true)) continue;
          log::info("job cancelled; asking the task to stop",
                    {{"worker", id_}, {"task_id", task_id}, {"job_id", it->second->task.job_id}});
        }
      } catch (const std::exception& e) {
        stats::database_error(stats::Operation::kHeartbeat);
        log::warning("heartbeat failed", {{"worker", id_}, {"error", e.what()}});
      }
      if (settings_.retention_s > 0 && Clock::now() >= next_prune_) {
        next_prune_ = Clock::now() + std::chrono::seconds(60);
        try {
          int pruned = store_->prune_finished(now_ms() - settings_.retention_s * 1000);
          if (pruned > 0) log::info("pruned finished jobs", {{"worker", id_}, {"jobs", pruned}});
        } catch (const std::exception& e) {
          log::warning("pruning failed", {{"worker", id_}, {"error", e.what()}});
        }
      }
      try {
        int rescued = store_->rescue_expired();
        stats::tasks_rescued(rescued);
        if (rescued > 0) {
          log::warning("rescued tasks whose lease expired", {{"worker", id_}, {"tasks", rescued}});
        }
      } catch (const std::exception& e) {
        log::warning("lease rescue failed", {{"worker", id_}, {"error", e.what()}});
      }
      std::lock_guard lock(mutex_);
      const Clock::time_point now = Clock::now();
      for (auto& [task_id, entry] : running_) {
        if (entry->timeout_signalled || entry->task.timeout_ms <= 0) continue;
        if (now - entry->started < milliseconds(entry->task.timeout_ms)) continue;
        entry->timeout_signalled = true;
        entry->cancel = true;
        log::warning("task ran past its time limit; asking it to stop",
                     {{"worker", id_},
                      {"task_id", task_id},
                      {"job_id", entry->task.job_id},
                      {"generator", entry->task.generator},
                      {"timeout_ms", entry->task.timeout_ms}});
      }
    }
  }

  // The hard limits (docs/worker.md#hard-limits). A thread cannot be stopped from outside,
  // so a task past its time limit + WORKER__TIMEOUT_GRACE_MS, or holding more memory than its
  // ceiling (its thread's allocator counters), ends with its whole process: it is recorded
  // TIMEOUT / OUT_OF_MEMORY, the other running tasks get the grace to finish, and the process
  // exits with kExitTaskLimit. The supervisor then puts what the process still held back in
  // the queue with its attempt given back (JobStore::requeue_worker: only once the process is
  // dead, so no run of it can write again) and starts a new process at once.
  void watchdog_loop() {
    for (;;) {
      std::this_thread::sleep_for(kWatchdogInterval);
      std::shared_ptr<Running> culprit;
      Limit limit = Limit::kTime;
      std::int64_t held = 0;
      {
        std::lock_guard lock(mutex_);
        const Clock::time_point now = Clock::now();
        for (auto& [task_id, entry] : running_) {
          const std::int64_t timeout = entry->task.timeout_ms;
          if (timeout > 0 &&
              now - entry->started >= milliseconds(timeout + settings_.timeout_grace_ms)) {
            culprit = entry;
            limit = Limit::kTime;
            break;
          }
          if (entry->memory_ceiling_bytes > 0) {
            held = entry->memory_held();
            if (held > entry->memory_ceiling_bytes) {
              culprit = entry;
              limit = Limit::kMemory;
              break;
            }
          }
        }
      }
      if (culprit) restart_for_limit(culprit, limit, held);
    }
  }

  [[noreturn]] void restart_for_limit(const std::shared_ptr<Running>& culprit, Limit limit,
                                      std::int64_t held) {
    const ClaimedTask& task = culprit->task;
    const EffectiveLimits limits = executor_->effective_limits(task.generator);
    const ErrorCode code = limit == Limit::kTime ? ErrorCode::kTimeout : ErrorCode::kOutOfMemory;
    const std::string message =
        limit == Limit::kTime
            ? TaskExecutor::timeout_kill_message(task.timeout_ms, settings_.timeout_grace_ms)
            : TaskExecutor::memory_kill_message(limits, held);
    const bool permanent =
        !(is_retryable(code) || (limit == Limit::kTime && limits.retry_on_timeout));
    stats::task_killed(limit == Limit::kTime ? stats::KillReason::kTimeout
                                             : stats::KillReason::kMemory);
    std::vector<std::string> others;
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;  // no more claims; the claimer returns
      ending_for_limit_ = true;
      claimer_cv_.notify_all();
      culprit->cancel = true;
      for (auto& [task_id, entry] : running_) {
        if (entry == culprit) continue;
        others.push_back(task_id);
        // A memory hog keeps allocating until the process ends: ask the others to stop now
        // (a cancelled run writes nothing; the supervisor re-queues it).
        if (limit == Limit::kMemory) entry->cancel = true;
      }
      // Claimed but never started: re-queued by the supervisor with the rest.
      for (const ClaimedTask& queued : queue_) others.push_back(queued.task_id);
      queue_.clear();
    }
    log::error(limit == Limit::kTime
                   ? "task ran past its time limit and grace; restarting the worker process"
                   : "task exceeded its memory limit; restarting the worker process",
               {{"worker", id_},
                {"task_id", task.task_id},
                {"job_id", task.job_id},
                {"generator", task.generator},
                {"attempt", task.attempt},
                {"error", message},
                {"other_tasks", others}});

    // The culprit's failure first, fenced on its attempt (kStale: it ended meanwhile).
    bool recorded = false;
    milliseconds pause(100);
    for (int attempt = 1; attempt <= 8 && !recorded; ++attempt) {
      try {
        store_->fail(task, code, message, permanent);
        recorded = true;
      } catch (const std::exception& e) {
        log::warning("cannot record the task's failure, retrying",
                     {{"worker", id_}, {"task_id", task.task_id}, {"error", e.what()}});
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, kMaxErrorPause);
      }
    }

    // The others may finish within the grace (a memory kill waits at most a second).
    milliseconds grace(settings_.timeout_grace_ms);
    if (limit == Limit::kMemory) grace = std::min(grace, milliseconds(1000));
    {
      std::unique_lock lock(mutex_);
      drained_cv_.wait_for(lock, grace, [&] {
        return std::all_of(running_.begin(), running_.end(),
                           [&](const auto& item) { return item.second == culprit; });
      });
    }
    batcher_->flush();  // results already handed to the committer are stored
    // Unrecorded, the culprit must not get its attempt back: exit as a crash, whose tasks the
    // supervisor releases with WORKER_DIED (an attempt each).
    finish(recorded ? kExitTaskLimit : 1);
  }

  // Bounds the process's address space (RLIMIT_AS) to its size now plus every thread's
  // memory ceiling plus a slack, so that a task allocating faster than the watchdog looks
  // gets std::bad_alloc (OUT_OF_MEMORY) instead of taking the host's memory. The largest
  // ceiling any generator's manifest sets counts for each thread.
  void limit_address_space() {
    if (settings_.max_task_memory_mb <= 0) return;
    const std::int64_t ceiling_mb =
        std::max(settings_.max_task_memory_mb, plugins_->largest_memory_override_mb());
    const std::int64_t base_mb = address_space_mb();
    const std::int64_t limit_mb =
        base_mb + ceiling_mb * settings_.worker_threads + kAddressSpaceSlackMb;
    rlimit current{};
    if (::getrlimit(RLIMIT_AS, &current) != 0) return;
    rlim_t wanted = static_cast<rlim_t>(limit_mb) * 1024 * 1024;
    if (current.rlim_max != RLIM_INFINITY) wanted = std::min(wanted, current.rlim_max);
    if (current.rlim_cur != RLIM_INFINITY && current.rlim_cur < wanted) return;  // already lower
    rlimit next{wanted, current.rlim_max};
    if (::setrlimit(RLIMIT_AS, &next) != 0) {
      log::warning("cannot limit the worker process's address space",
                   {{"worker", id_}, {"error", std::strerror(errno)}});
      return;
    }
    log::info("address space limited",
              {{"worker", id_},
               {"limit_mb", static_cast<std::int64_t>(wanted / (1024 * 1024))},
               {"at_start_mb", base_mb},
               {"task_memory_mb", ceiling_mb},
               {"threads", settings_.worker_threads}});
  }

  // SIGTERM: stop claiming, let running (and already claimed) tasks finish for up to
  // WORKER__DRAIN_TIMEOUT_S, then ask the rest to stop, release them for a retry, and exit.
  [[noreturn]] void drain(std::thread& claimer) {
    std::unique_lock lock(mutex_);
    stopping_ = true;
    claimer_cv_.notify_all();
    const std::size_t busy = running_.size() + queue_.size();
    log::info("worker process draining",
              {{"worker", id_}, {"running", busy}, {"drain_timeout_s", settings_.drain_timeout_s}});
    lock.unlock();
    claimer.join();  // a claim in flight finishes first; its tasks are queued and run
    lock.lock();

    // Idle: nothing running or waiting, and every result handed to the committer stored.
    auto idle = [&] { return running_.empty() && queue_.empty() && unsettled_ == 0; };
    const Clock::time_point deadline =
        Clock::now() + std::chrono::seconds(settings_.drain_timeout_s);
    drained_cv_.wait_until(lock, deadline, idle);
    if (!idle()) {
      std::vector<std::string> ids;
      for (auto& [task_id, entry] : running_) {
        entry->cancel = true;
        ids.push_back(task_id);
      }
      for (const auto& task : queue_) ids.push_back(task.task_id);
      queue_.clear();  // never started; released below with the running ones
      log::warning("drain timeout reached; stopping the remaining tasks",
                   {{"worker", id_}, {"tasks", ids}});
      drained_cv_.wait_for(lock, kCancelGrace, [&] { return running_.empty(); });
      lock.unlock();
      batcher_->flush();  // results already handed over are stored, not released
      release_remaining();
    }
    log::info("worker process stopped", {{"worker", id_}, {"tasks_finished", finished_}});
    finish(0);
  }

  void release_remaining() {
    milliseconds pause(200);
    for (int attempt = 1;; ++attempt) {
      try {
        int released = store_->release_worker(
            id_, ErrorCode::kWorkerDied, "worker stopped before the task finished (drain timeout)");
        log::info("released unfinished tasks for retry", {{"worker", id_}, {"tasks", released}});
        return;
      } catch (const std::exception& e) {
        if (attempt >= 5) {
          log::error("cannot release unfinished tasks; they are retried once their lease expires",
                     {{"worker", id_}, {"error", e.what()}});
          return;
        }
        log::warning("cannot release unfinished tasks, retrying",
                     {{"worker", id_}, {"error", e.what()}});
      }
      std::this_thread::sleep_for(pause);
      pause *= 2;
    }
  }

  const Settings& settings_;
  const std::string id_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<PluginHost> plugins_;
  std::unique_ptr<JobStore> store_;
  std::unique_ptr<CompletionBatcher> batcher_;
  std::unique_ptr<TaskListener> listener_;
  Clock::time_point next_prune_ = Clock::now() + std::chrono::seconds(10);
  std::unique_ptr<TaskExecutor> executor_;
  std::unique_ptr<ConfigStore> config_;
  std::unique_ptr<TenantSettings> tenant_settings_;

  std::mutex mutex_;
  std::condition_variable tasks_cv_;    // queue_ gained tasks
  std::condition_variable claimer_cv_;  // a thread freed up, kick_, or stopping_
  std::condition_variable drained_cv_;  // a task finished
  std::deque<ClaimedTask> queue_;
  std::map<std::string, std::shared_ptr<Running>> running_;
  int idle_threads_ = 0;
  int unsettled_ = 0;        // tasks taken by a thread whose outcome is not stored yet
  double mean_run_ms_ = -1;  // -1: no task has run yet
  bool stopping_ = false;
  bool ending_for_limit_ = false;  // restart_for_limit() runs: no task starts any more
  bool kick_ = false;
  std::int64_t finished_ = 0;
};

}  // namespace

void run_worker_process(const Settings& settings, const std::string& worker_id) {
  try {
    // Drain (not die) when the supervisor goes away without telling us.
    const pid_t parent = ::getppid();
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::raise(SIGTERM);  // it is already gone: stays pending
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    pthread_sigmask(SIG_UNBLOCK, &chld, nullptr);

    // Lives until _exit: destructors of the process state never run, by design.
    auto* process = new WorkerProcess(settings, worker_id);
    process->run();
  } catch (const std::exception& e) {
    log::error("worker process failed", {{"worker", worker_id}, {"error", e.what()}});
  } catch (...) {
    log::error("worker process failed", {{"worker", worker_id}});
  }
  finish(1);
}

}  // namespace gen::worker
