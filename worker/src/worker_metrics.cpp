#include "worker_metrics.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <thread>
#include <type_traits>
#include <unordered_map>

#include "gen/core/base/clock.hpp"
#include "gen/core/metrics/metrics.hpp"
#include "gen/core/storage/database.hpp"

namespace gen::worker {
namespace {

using prometheus::MetricType;
using U64 = std::atomic<std::uint64_t>;
static_assert(U64::is_always_lock_free, "shared-memory counters need lock-free 64-bit atomics");

// Distinct generator ids tracked; the last entry collects any beyond ("other").
constexpr int kMaxGenerators = 64;
constexpr int kOutcomes = 7;  // indexed by TaskOutcome (1..6)
constexpr int kBuckets = 15;  // gen::metrics::task_buckets().size()
constexpr int kNameBytes = 120;
// Exit causes: [0] clean exit, [1] error exit, [2 + n] signal n.
constexpr int kCauses = 2 + 65;

struct Histogram {
  U64 buckets[kBuckets];  // non-cumulative; summed at scrape
  U64 count;
  U64 sum_us;
};

// One worker process's counters; the supervisor folds a dead one into the retired slot.
struct Counters {
  U64 tasks[kMaxGenerators][kOutcomes];
  Histogram duration[kMaxGenerators];
  Histogram wait[kMaxGenerators];
  U64 claimed[kMaxGenerators];
  U64 retries[kMaxGenerators];
  U64 rescued;
  U64 claim_errors;
  U64 heartbeat_errors;
};

// Gauges of a live worker process (reset, not folded, when it ends).
struct SlotState {
  std::atomic<std::int32_t> pid;
  std::atomic<std::int32_t> busy;
  std::atomic<std::int32_t> generators;  // -1 until its plugins are loaded
};

struct GeneratorName {
  std::atomic<std::int32_t> state;  // 0 free, 1 being written, 2 set
  char name[kNameBytes];
};

}  // namespace

struct SharedMetrics {
  // Odd while the supervisor folds a slot: readers retry.
  U64 sequence;
  std::int32_t processes;
  std::int32_t threads;
  std::atomic<std::int32_t> supervisor_pid;
  std::atomic<std::int32_t> endpoint_pid;
  U64 dead_cpu_us;  // CPU time of ended children (rusage)
  U64 exits[kCauses];
  U64 restarts;
  U64 released;
  U64 requeued;
  U64 kills[3];  // by stats::KillReason (1..2)
  GeneratorName generators[kMaxGenerators];
  SlotState slots[256];
  // processes + 1 Counters follow this header: one per slot, the last one retired.
};

namespace {

static_assert(std::is_trivially_destructible_v<SharedMetrics>);

SharedMetrics* g_shared = nullptr;  // set in a worker process by attach_child()
int g_slot = -1;

Counters& counters_of(SharedMetrics& s, int index) {
  auto* first = reinterpret_cast<Counters*>(reinterpret_cast<char*>(&s) + sizeof(SharedMetrics));
  return first[index];
}
static_assert(sizeof(SharedMetrics) % alignof(Counters) == 0);

void add(U64& to, U64& from) {
  to.fetch_add(from.load(std::memory_order_relaxed), std::memory_order_relaxed);
  from.store(0, std::memory_order_relaxed);
}

void fold_histogram(Histogram& to, Histogram& from) {
  for (int b = 0; b < kBuckets; ++b) add(to.buckets[b], from.buckets[b]);
  add(to.count, from.count);
  add(to.sum_us, from.sum_us);
}

std::uint64_t cpu_us(const rusage& u) {
  auto us = [](const timeval& t) {
    return static_cast<std::uint64_t>(t.tv_sec) * 1000000u + static_cast<std::uint64_t>(t.tv_usec);
  };
  return us(u.ru_utime) + us(u.ru_stime);
}

// Index of `generator` in the shared name table, adding it when new.
int generator_index(std::string_view generator) {
  static std::mutex mutex;
  static std::unordered_map<std::string, int> cache;
  std::lock_guard lock(mutex);
  if (auto it = cache.find(std::string(generator)); it != cache.end()) return it->second;
  int found = kMaxGenerators - 1;  // "other" when the table is full
  std::string name(generator.substr(0, kNameBytes - 1));
  for (int i = 0; i < kMaxGenerators - 1; ++i) {
    GeneratorName& g = g_shared->generators[i];
    std::int32_t st = g.state.load(std::memory_order_acquire);
    if (st == 0) {
      std::int32_t expected = 0;
      if (g.state.compare_exchange_strong(expected, 1)) {
        std::memcpy(g.name, name.c_str(), name.size() + 1);
        g.state.store(2, std::memory_order_release);
        found = i;
        break;
      }
      st = expected;
    }
    while (st == 1) {  // another process is writing this entry's name
      std::this_thread::yield();
      st = g.state.load(std::memory_order_acquire);
    }
    if (name == g.name) {
      found = i;
      break;
    }
  }
  cache.emplace(std::string(generator), found);
  return found;
}

void observe(Histogram& h, double seconds) {
  const std::vector<double>& bounds = metrics::task_buckets();
  for (int b = 0; b < kBuckets; ++b) {
    if (seconds <= bounds[static_cast<std::size_t>(b)]) {
      h.buckets[b].fetch_add(1, std::memory_order_relaxed);
      break;
    }
  }
  h.count.fetch_add(1, std::memory_order_relaxed);
  h.sum_us.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

// When the claimed task says since when it waited (a `queued_at_ms` member, once the job
// store returns one), the enqueue-to-start wait.
template <typename Task>
std::int64_t queued_at_of(const Task& task) {
  if constexpr (requires { task.queued_at_ms; }) {
    if constexpr (std::is_integral_v<std::remove_cvref_t<decltype(task.queued_at_ms)>>) {
      return task.queued_at_ms;
    } else {
      return task.queued_at_ms.value_or(0);
    }
  } else {
    return 0;
  }
}

std::string cause_label(int index) {
  if (index == 0) return "exit_clean";
  if (index == 1) return "exit_error";
  const int sig = index - 2;
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal_" + std::to_string(sig);
}

}  // namespace

MetricsRegion::MetricsRegion(int processes, int threads) {
  if (processes < 1 || processes > 256) throw std::invalid_argument("processes out of range");
  if (metrics::task_buckets().size() != kBuckets) throw std::logic_error("task bucket count");
  bytes_ = sizeof(SharedMetrics) + static_cast<std::size_t>(processes + 1) * sizeof(Counters);
  void* p = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "mmap");
  // Anonymous mappings are zero-filled: every atomic starts at 0.
  shared_ = static_cast<SharedMetrics*>(p);
  shared_->processes = processes;
  shared_->threads = threads;
  shared_->supervisor_pid = static_cast<std::int32_t>(::getpid());
  for (auto& slot : shared_->slots) slot.generators = -1;
}

MetricsRegion::~MetricsRegion() {
  if (shared_) ::munmap(shared_, bytes_);
}

void MetricsRegion::attach_child(int slot) {
  g_shared = shared_;
  g_slot = slot;
}

void MetricsRegion::child_started(int slot, pid_t pid) {
  SlotState& s = shared_->slots[slot];
  s.busy = 0;
  s.generators = -1;
  s.pid = static_cast<std::int32_t>(pid);
}

void MetricsRegion::child_exited(int slot, int status, const rusage& usage, bool restarting) {
  SharedMetrics& s = *shared_;
  s.sequence.fetch_add(1, std::memory_order_acq_rel);  // odd: fold in progress
  Counters& from = counters_of(s, slot);
  Counters& to = counters_of(s, s.processes);
  for (int g = 0; g < kMaxGenerators; ++g) {
    for (int o = 0; o < kOutcomes; ++o) add(to.tasks[g][o], from.tasks[g][o]);
    fold_histogram(to.duration[g], from.duration[g]);
    fold_histogram(to.wait[g], from.wait[g]);
    add(to.claimed[g], from.claimed[g]);
    add(to.retries[g], from.retries[g]);
  }
  add(to.rescued, from.rescued);
  add(to.claim_errors, from.claim_errors);
  add(to.heartbeat_errors, from.heartbeat_errors);
  s.dead_cpu_us.fetch_add(cpu_us(usage));
  SlotState& st = s.slots[slot];
  st.pid = 0;
  st.busy = 0;
  st.generators = -1;
  int cause = 1;
  if (WIFSIGNALED(status)) {
    cause = 2 + std::min(WTERMSIG(status), 64);
  } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    cause = 0;
  }
  s.exits[cause].fetch_add(1);
  if (restarting) s.restarts.fetch_add(1);
  s.sequence.fetch_add(1, std::memory_order_acq_rel);  // even again
}

void MetricsRegion::helper_exited(const rusage& usage) {
  shared_->sequence.fetch_add(1, std::memory_order_acq_rel);
  shared_->dead_cpu_us.fetch_add(cpu_us(usage));
  shared_->sequence.fetch_add(1, std::memory_order_acq_rel);
}

void MetricsRegion::set_endpoint_pid(pid_t pid) {
  shared_->endpoint_pid = static_cast<std::int32_t>(pid);
}

void MetricsRegion::tasks_released(int n) {
  if (n > 0) shared_->released.fetch_add(static_cast<std::uint64_t>(n));
}

void MetricsRegion::tasks_requeued(int n) {
  if (n > 0) shared_->requeued.fetch_add(static_cast<std::uint64_t>(n));
}

MetricsRegion::Liveness MetricsRegion::liveness() const {
  Liveness l;
  l.configured = shared_->processes;
  for (int i = 0; i < shared_->processes; ++i) {
    const SlotState& st = shared_->slots[i];
    if (st.pid.load() <= 0) continue;
    ++l.running;
    const int generators = st.generators.load();
    if (generators < 0) continue;
    ++l.ready;
    l.min_generators = l.min_generators < 0 ? generators : std::min(l.min_generators, generators);
  }
  return l;
}

std::vector<prometheus::MetricFamily> MetricsRegion::collect() const {
  SharedMetrics& s = *shared_;
  const std::vector<double>& bounds = metrics::task_buckets();
  struct Totals {
    std::uint64_t tasks[kMaxGenerators][kOutcomes] = {};
    std::uint64_t duration[kMaxGenerators][kBuckets + 2] = {};  // buckets, count, sum_us
    std::uint64_t wait[kMaxGenerators][kBuckets + 2] = {};
    std::uint64_t claimed[kMaxGenerators] = {};
    std::uint64_t retries[kMaxGenerators] = {};
    std::uint64_t rescued = 0, claim_errors = 0, heartbeat_errors = 0, dead_cpu_us = 0;
    std::uint64_t exits[kCauses] = {};
    std::uint64_t restarts = 0, released = 0, requeued = 0;
    std::uint64_t kills[3] = {};
    int busy = 0, threads = 0, running = 0;
    metrics::ProcessStats process;
  };
  auto totals = std::make_unique<Totals>();
  for (int tries = 0;; ++tries) {
    const std::uint64_t before = s.sequence.load(std::memory_order_acquire);
    if (before % 2 == 1 && tries < 1000) {
      std::this_thread::sleep_for(std::chrono::microseconds(100));
      continue;
    }
    Totals& t = *totals;
    t = Totals{};
    for (int c = 0; c <= s.processes; ++c) {
      Counters& k = counters_of(s, c);
      for (int g = 0; g < kMaxGenerators; ++g) {
        for (int o = 0; o < kOutcomes; ++o) t.tasks[g][o] += k.tasks[g][o].load();
        for (int b = 0; b < kBuckets; ++b) {
          t.duration[g][b] += k.duration[g].buckets[b].load();
          t.wait[g][b] += k.wait[g].buckets[b].load();
        }
        t.duration[g][kBuckets] += k.duration[g].count.load();
        t.duration[g][kBuckets + 1] += k.duration[g].sum_us.load();
        t.wait[g][kBuckets] += k.wait[g].count.load();
        t.wait[g][kBuckets + 1] += k.wait[g].sum_us.load();
        t.claimed[g] += k.claimed[g].load();
        t.retries[g] += k.retries[g].load();
      }
      t.rescued += k.rescued.load();
      t.claim_errors += k.claim_errors.load();
      t.heartbeat_errors += k.heartbeat_errors.load();
    }
    for (int c = 0; c < kCauses; ++c) t.exits[c] = s.exits[c].load();
    t.restarts = s.restarts.load();
    t.released = s.released.load();
    t.requeued = s.requeued.load();
    for (int k = 0; k < 3; ++k) t.kills[k] = s.kills[k].load();
    t.dead_cpu_us = s.dead_cpu_us.load();
    // Process metrics over the supervisor, the live worker processes and the endpoint.
    std::vector<pid_t> pids = {static_cast<pid_t>(s.supervisor_pid.load())};
    if (s.endpoint_pid.load() > 0) pids.push_back(static_cast<pid_t>(s.endpoint_pid.load()));
    for (int i = 0; i < s.processes; ++i) {
      const SlotState& st = s.slots[i];
      if (st.pid.load() <= 0) continue;
      pids.push_back(static_cast<pid_t>(st.pid.load()));
      ++t.running;
      t.busy += st.busy.load();
      if (st.generators.load() >= 0) t.threads += s.threads;
    }
    for (std::size_t i = 0; i < pids.size(); ++i) {
      auto p = metrics::read_process_stats(pids[i]);
      if (!p) continue;
      if (i == 0) {  // the supervisor: the service's start time and fd limit
        t.process.start_time_seconds = p->start_time_seconds;
        t.process.max_fds = p->max_fds;
      }
      t.process.cpu_seconds += p->cpu_seconds;
      t.process.resident_memory_bytes += p->resident_memory_bytes;
      t.process.virtual_memory_bytes += p->virtual_memory_bytes;
      t.process.open_fds += p->open_fds;
      t.process.threads += p->threads;
    }
    t.process.cpu_seconds += static_cast<double>(t.dead_cpu_us) / 1e6;
    if (s.sequence.load(std::memory_order_acquire) == before || tries >= 1000) break;
  }
  const Totals& t = *totals;

  std::vector<std::string> names(kMaxGenerators);
  for (int g = 0; g < kMaxGenerators - 1; ++g) {
    if (s.generators[g].state.load(std::memory_order_acquire) == 2) names[g] = s.generators[g].name;
  }
  // Beyond the table's capacity, generators share "other"; shown once it counted anything.
  if (t.claimed[kMaxGenerators - 1] > 0) names[kMaxGenerators - 1] = "other";

  std::vector<prometheus::MetricFamily> out;
  out.push_back(metrics::build_info("worker"));

  auto tasks = metrics::family(
      "generator_worker_tasks_total",
      "Task executions finished, by generator and outcome (COMPLETED, RETRYING, FAILED, "
      "CANCELLED, STALE: result refused by fencing, UNRECORDED: database unavailable).",
      MetricType::Counter);
  auto claimed = metrics::family("generator_worker_tasks_claimed_total",
                                 "Tasks claimed by this host's worker processes, by generator.",
                                 MetricType::Counter);
  auto retries = metrics::family(
      "generator_worker_task_retries_total",
      "Claimed tasks that were not on their first attempt (retries and rescued runs).",
      MetricType::Counter);
  auto duration =
      metrics::family("generator_worker_task_duration_seconds",
                      "Execution time of a task attempt (queue wait excluded), by generator.",
                      MetricType::Histogram);
  auto wait =
      metrics::family("generator_worker_task_queue_wait_seconds",
                      "Time from a task being queued to a worker claiming it, by generator.",
                      MetricType::Histogram);
  std::uint64_t stale = 0;
  for (int g = 0; g < kMaxGenerators; ++g) {
    if (names[g].empty()) continue;
    for (int o = 1; o < kOutcomes; ++o) {
      metrics::add_value(
          tasks, {{"generator", names[g]}, {"outcome", to_string(static_cast<TaskOutcome>(o))}},
          static_cast<double>(t.tasks[g][o]));
    }
    stale += t.tasks[g][static_cast<int>(TaskOutcome::kStale)];
    metrics::add_value(claimed, {{"generator", names[g]}}, static_cast<double>(t.claimed[g]));
    metrics::add_value(retries, {{"generator", names[g]}}, static_cast<double>(t.retries[g]));
    auto add_hist = [&](prometheus::MetricFamily& f, const std::uint64_t* h) {
      std::vector<std::uint64_t> cumulative(kBuckets);
      std::uint64_t running = 0;
      for (int b = 0; b < kBuckets; ++b) cumulative[static_cast<std::size_t>(b)] = running += h[b];
      // A count read a moment after its buckets may be ahead of them; never behind.
      const std::uint64_t count = std::max(h[kBuckets], running);
      metrics::add_histogram(f, {{"generator", names[g]}}, bounds, cumulative, count,
                             static_cast<double>(h[kBuckets + 1]) / 1e6);
    };
    add_hist(duration, t.duration[g]);
    if (t.wait[g][kBuckets] > 0) add_hist(wait, t.wait[g]);
  }
  out.push_back(std::move(tasks));
  out.push_back(std::move(claimed));
  out.push_back(std::move(retries));
  out.push_back(std::move(duration));
  out.push_back(std::move(wait));

  auto scalar = [&](const char* name, const char* help, MetricType type, double value) {
    auto f = metrics::family(name, help, type);
    metrics::add_value(f, {}, value);
    out.push_back(std::move(f));
  };
  scalar("generator_worker_fenced_writes_total",
         "Results refused because the attempt was no longer current (outcome STALE).",
         MetricType::Counter, static_cast<double>(stale));
  scalar("generator_worker_rescued_tasks_total",
         "Tasks whose lease had expired (holder stopped heartbeating) re-queued by this host.",
         MetricType::Counter, static_cast<double>(t.rescued));
  scalar("generator_worker_released_tasks_total",
         "Tasks of a dead worker process released for an immediate retry.", MetricType::Counter,
         static_cast<double>(t.released));
  scalar("generator_worker_requeued_tasks_total",
         "Tasks of a worker process restarted because another task exceeded its limits, put "
         "back in the queue with their attempt given back.",
         MetricType::Counter, static_cast<double>(t.requeued));
  auto kills = metrics::family(
      "generator_worker_task_kills_total",
      "Tasks ended by force, with their worker process, by the limit they exceeded: timeout "
      "(time limit + WORKER__TIMEOUT_GRACE_MS) or memory (the per-task memory ceiling).",
      MetricType::Counter);
  metrics::add_value(kills, {{"reason", "timeout"}},
                     static_cast<double>(t.kills[static_cast<int>(stats::KillReason::kTimeout)]));
  metrics::add_value(kills, {{"reason", "memory"}},
                     static_cast<double>(t.kills[static_cast<int>(stats::KillReason::kMemory)]));
  out.push_back(std::move(kills));
  auto db_errors = metrics::family("generator_worker_database_errors_total",
                                   "Failed claim and heartbeat round trips.", MetricType::Counter);
  metrics::add_value(db_errors, {{"operation", "claim"}}, static_cast<double>(t.claim_errors));
  metrics::add_value(db_errors, {{"operation", "heartbeat"}},
                     static_cast<double>(t.heartbeat_errors));
  out.push_back(std::move(db_errors));

  auto threads = metrics::family("generator_worker_threads",
                                 "Executor threads of the running worker processes, busy with a "
                                 "task or idle.",
                                 MetricType::Gauge);
  metrics::add_value(threads, {{"state", "busy"}}, t.busy);
  metrics::add_value(threads, {{"state", "idle"}}, std::max(0, t.threads - t.busy));
  out.push_back(std::move(threads));
  scalar("generator_worker_processes", "Worker processes running.", MetricType::Gauge, t.running);
  scalar("generator_worker_configured_processes",
         "Worker processes the supervisor keeps running (THREADS__DRAMATIQ_PROCESSES).",
         MetricType::Gauge, s.processes);
  scalar("generator_worker_configured_threads",
         "Executor threads per worker process (THREADS__DRAMATIQ_THREADS).", MetricType::Gauge,
         s.threads);
  auto exits = metrics::family("generator_worker_process_exits_total",
                               "Worker processes that ended, by cause (exit_clean, exit_error or "
                               "the signal that killed it, e.g. SIGKILL).",
                               MetricType::Counter);
  for (int c = 0; c < kCauses; ++c) {
    if (c < 2 || t.exits[c] > 0) {
      metrics::add_value(exits, {{"cause", cause_label(c)}}, static_cast<double>(t.exits[c]));
    }
  }
  out.push_back(std::move(exits));
  scalar("generator_worker_process_restarts_total",
         "Worker processes restarted by the supervisor after ending unasked.", MetricType::Counter,
         static_cast<double>(t.restarts));
  metrics::append_process_metrics(out, t.process);
  return out;
}

namespace stats {

void plugins_loaded(std::size_t generators) {
  if (!g_shared) return;
  g_shared->slots[g_slot].generators = static_cast<std::int32_t>(generators);
}

void task_claimed(const ClaimedTask& task) {
  if (!g_shared) return;
  const int g = generator_index(task.generator);
  Counters& c = counters_of(*g_shared, g_slot);
  c.claimed[g].fetch_add(1, std::memory_order_relaxed);
  if (task.attempt > 1) c.retries[g].fetch_add(1, std::memory_order_relaxed);
  if (const std::int64_t queued_at = queued_at_of(task); queued_at > 0) {
    observe(c.wait[g], static_cast<double>(std::max<std::int64_t>(0, now_ms() - queued_at)) / 1e3);
  }
}

void task_started() {
  if (!g_shared) return;
  g_shared->slots[g_slot].busy.fetch_add(1, std::memory_order_relaxed);
}

void thread_idle() {
  if (!g_shared) return;
  g_shared->slots[g_slot].busy.fetch_sub(1, std::memory_order_relaxed);
}

void task_finished(const ClaimedTask& task, const ExecutionResult& result) {
  if (!g_shared) return;
  const int g = generator_index(task.generator);
  Counters& c = counters_of(*g_shared, g_slot);
  const int o = static_cast<int>(result.outcome);
  if (o > 0 && o < kOutcomes) c.tasks[g][o].fetch_add(1, std::memory_order_relaxed);
  observe(c.duration[g], static_cast<double>(result.duration_ms) / 1e3);
}

void tasks_rescued(int n) {
  if (!g_shared || n <= 0) return;
  counters_of(*g_shared, g_slot).rescued.fetch_add(static_cast<std::uint64_t>(n));
}

void task_killed(KillReason reason) {
  if (!g_shared) return;
  const int k = static_cast<int>(reason);
  if (k > 0 && k < 3) g_shared->kills[k].fetch_add(1);
}

void database_error(Operation operation) {
  if (!g_shared) return;
  Counters& c = counters_of(*g_shared, g_slot);
  (operation == Operation::kClaim ? c.claim_errors : c.heartbeat_errors).fetch_add(1);
}

}  // namespace stats
}  // namespace gen::worker
