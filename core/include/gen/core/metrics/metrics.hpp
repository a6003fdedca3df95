// Monitoring shared by both services: Prometheus exposition helpers over prometheus-cpp's
// data model (MetricFamily + TextSerializer; Poco or a plain socket serves the HTTP), the
// process metrics of the official clients read from /proc, the queue metrics read from the
// task table at scrape time (bounded, cached), and the readiness checks behind /ready.
// docs/monitoring.md lists every metric.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <prometheus/metric_family.h>

namespace gen {

class Database;
class PluginHost;

namespace metrics {

/// Content-Type of the Prometheus text format served at /metrics.
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

/// Upper bounds (seconds) of request latency histograms: 0.5 ms .. 10 s.
const std::vector<double>& latency_buckets();
/// Upper bounds (seconds) of task duration and queue wait histograms: 10 ms .. 1 h.
const std::vector<double>& task_buckets();
/// Upper bounds (bytes) of request/response size histograms: 128 B .. 64 MiB.
const std::vector<double>& size_buckets();

/// True for a header that says the request came through a proxy or load balancer: a name
/// starting with "X-Forwarded-", or "Forwarded", "X-Real-IP" or "Via" (any case). The
/// backend's and the worker's /metrics refuse a request carrying one (404), by this rule.
bool is_forwarded_header(std::string_view name);

/// Text exposition of `families` (prometheus::TextSerializer).
std::string serialize(const std::vector<prometheus::MetricFamily>& families);

using Labels = std::vector<std::pair<std::string, std::string>>;

/// Builders for families assembled at scrape time (values that live outside a Registry).
prometheus::MetricFamily family(std::string name, std::string help, prometheus::MetricType type);
void add_value(prometheus::MetricFamily& family, const Labels& labels, double value);
/// `cumulative` holds one cumulative count per bound of `bounds` (the +Inf bucket is `count`).
void add_histogram(prometheus::MetricFamily& family, const Labels& labels,
                   const std::vector<double>& bounds, const std::vector<std::uint64_t>& cumulative,
                   std::uint64_t count, double sum);

/// What the official Prometheus clients export as process_* metrics, read from /proc.
struct ProcessStats {
  double resident_memory_bytes = 0;
  double virtual_memory_bytes = 0;
  double cpu_seconds = 0;  ///< user + system
  double open_fds = 0;
  double max_fds = 0;             ///< soft RLIMIT_NOFILE
  double start_time_seconds = 0;  ///< since the Unix epoch
  double threads = 0;
};
/// Reads /proc/<pid> (0: this process). nullopt when the process is gone or unreadable.
std::optional<ProcessStats> read_process_stats(pid_t pid = 0);
/// Appends process_resident_memory_bytes, process_virtual_memory_bytes,
/// process_cpu_seconds_total, process_open_fds, process_max_fds, process_start_time_seconds
/// and process_threads.
void append_process_metrics(std::vector<prometheus::MetricFamily>& out, const ProcessStats& stats);

/// generator_build_info{service,version,sdk_abi} 1.
prometheus::MetricFamily build_info(std::string_view service);

/// generator_plugins{state} (every PluginState, zeros included) and
/// generator_generators_available.
void append_plugin_metrics(std::vector<prometheus::MetricFamily>& out, const PluginHost& plugins);

/// Queue metrics from the task table, computed at scrape time with a bounded number of
/// index-backed queries and cached for `max_age`, so many scrapers (or replicas) cost the
/// database at most one round of queries per second per process:
///  * generator_queue_tasks{state="QUEUED"|"RUNNING",generator}: runnable-now queued tasks
///    (tasks_claimable partial index) and running ones (tasks_leased partial index);
///  * generator_queue_delayed_tasks{generator}: QUEUED with run_after in the future
///    (retry backoff or a delayed job);
///  * generator_queue_oldest_task_age_seconds: now - MIN(queued_at) over runnable tasks (0
///    when none);
///  * generator_queue_scrape_errors_total and generator_queue_up (1 when the last read worked);
///  * generator_content_versions{status}: the content library's versions.
/// PENDING tasks (later steps waiting for an earlier one) and final states are not counted:
/// no index covers them and they are not demand a worker can serve.
class QueueStats {
 public:
  explicit QueueStats(Database& db, std::chrono::milliseconds max_age = std::chrono::seconds(1));
  /// Thread-safe; concurrent callers share one database round.
  void append_to(std::vector<prometheus::MetricFamily>& out);

 private:
  struct Snapshot {
    std::vector<std::pair<std::string, double>> queued, delayed, running;  // by generator
    std::vector<std::pair<std::string, double>> content_versions;          // by status
    double oldest_age_seconds = 0;
    bool ok = false;
  };
  Snapshot read();
  Database& db_;
  std::chrono::milliseconds max_age_;
  std::mutex mutex_;
  std::optional<std::chrono::steady_clock::time_point> taken_at_;
  Snapshot cached_;
  std::uint64_t errors_ = 0;
};

/// One readiness check's verdict.
struct CheckResult {
  bool ok = false;
  std::string detail;
};

/// The checks behind GET /ready. Each check runs on a helper thread under `timeout`; a check
/// that does not answer in time is "not ready (timed out)" and is not started again until it
/// returns, so a hung database never piles up threads. /health never runs these: a slow
/// check can make a service not ready, never unhealthy.
class Readiness {
 public:
  using Check = std::function<CheckResult()>;
  explicit Readiness(std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));
  ~Readiness();
  Readiness(const Readiness&) = delete;
  Readiness& operator=(const Readiness&) = delete;

  /// Adds a named check (call before the first run()).
  void add(std::string name, Check check);
  /// The standard database check: reachable (a round trip), the SQLite file still present,
  /// and migrations current (schema_version() == latest_schema_version()). `db` must
  /// outlive every check run.
  void add_database(Database& db);
  /// Plugins loaded: at least one generator available; counts plugins by state.
  void add_plugins(const PluginHost& plugins);

  struct Report {
    bool ready = false;
    std::string json;  ///< {"status":"ready"|"not ready","checks":{name:{ok,detail,...}}}
  };
  /// Runs every check (in parallel, each under the timeout). Thread-safe.
  Report run();

 private:
  struct Entry;
  std::chrono::milliseconds timeout_;
  std::vector<std::shared_ptr<Entry>> checks_;
};

/// The database check on its own (used by Readiness::add_database).
CheckResult check_database(Database& db);

}  // namespace metrics
}  // namespace gen
