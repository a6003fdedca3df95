// bench_queue: how fast the task table moves work through real worker processes.
//
// Phase 1 (throughput): pre-loads N no-op tasks, starts `generator-worker` with P processes x
// T threads, and waits until every task is COMPLETED. tasks/s = N / (last finish - first
// start), from the task table's own timestamps.
// Phase 2 (latency): with the worker idle, submits tasks one at a time and reports the
// enqueue-to-start wait (started_at - queued_at, millisecond resolution), p50 and p99.
//
// Usage: bench_queue [--backend sqlite|postgres|all] [--tasks N] [--processes P] [--threads T]
//                    [--latency-samples K]
// PostgreSQL comes from GENERATOR_TEST_POSTGRES_URL (scripts/postgres-for-tests.sh prints one).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <Poco/Data/Session.h>

#include "gen/core/queue/job_store.hpp"
#include "gen/core/storage/database.hpp"
#include "storage/session.hpp"
#include "test_database.hpp"

using namespace Poco::Data::Keywords;

namespace {

struct Options {
  std::string backend = "all";
  int tasks = 20000;
  int processes = 2;
  int threads = 8;
  int latency_samples = 200;
};

std::string build_dir() {
  // bench_queue lives in <build>/bin.
  return std::filesystem::canonical("/proc/self/exe").parent_path().parent_path().string();
}

pid_t start_worker(const std::string& url, const Options& o) {
  pid_t pid = fork();
  if (pid == 0) {
    std::string b = build_dir();
    setenv("DATABASE__URL", url.c_str(), 1);
    setenv("PLUGINS__PATH", (b + "/bench/plugins").c_str(), 1);
    setenv("THREADS__DRAMATIQ_PROCESSES", std::to_string(o.processes).c_str(), 1);
    setenv("THREADS__DRAMATIQ_THREADS", std::to_string(o.threads).c_str(), 1);
    setenv("HOSTING__METRICS_PORT", "0", 1);
    setenv("LOGGING__LEVEL", "warning", 1);
    setenv("WORKER__POLL_INTERVAL_MS", "10", 1);
    std::string exe = b + "/bin/generator-worker";
    execl(exe.c_str(), exe.c_str(), "run", static_cast<char*>(nullptr));
    std::perror("exec generator-worker");
    _exit(127);
  }
  return pid;
}

void stop_worker(pid_t pid) {
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
}

// Whether any task is still queued or running: two probes of the partial indexes (ORDER BY
// as the index), not a count over the table. Polling must not load the database it measures
// (a COUNT(*) every 100 ms took ~10% of a core at 40,000 tasks).
bool work_left(gen::Database& db) {
  Poco::Data::Session s = db.session();
  std::vector<std::string> ids;
  s << "SELECT id FROM (SELECT id FROM tasks WHERE state = 'QUEUED' ORDER BY priority DESC,"
       " run_after_ms, id LIMIT 1) q UNION ALL SELECT id FROM (SELECT id FROM tasks WHERE"
       " state = 'RUNNING' ORDER BY lease_expires_at_ms LIMIT 1) r",
      into(ids), now;
  return !ids.empty();
}

Poco::Int64 count_completed(gen::Database& db) {
  Poco::Data::Session s = db.session();
  Poco::Int64 n = 0;
  s << "SELECT COUNT(*) FROM tasks WHERE state IN ('COMPLETED', 'FAILED')", into(n), now;
  return n;
}

gen::JobSpec noop_job() {
  gen::JobSpec spec;
  spec.steps.push_back({"bench.noop", nlohmann::json::object(), 1, 60000});
  return spec;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  std::size_t i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

void run(const std::string& backend, const Options& o) {
  gen::test::TestDatabase tdb(backend);
  auto db = gen::Database::open(tdb.url(), 4);
  db->migrate();
  gen::JobStore store(*db);

  // Phase 1: throughput.
  std::vector<gen::JobSpec> batch(1000, noop_job());
  auto load_start = std::chrono::steady_clock::now();
  for (int loaded = 0; loaded < o.tasks; loaded += 1000) {
    batch.resize(static_cast<std::size_t>(std::min(1000, o.tasks - loaded)));
    store.submit_many(batch);
  }
  double load_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
  auto wall_start = std::chrono::steady_clock::now();
  pid_t worker = start_worker(tdb.url(), o);
  while (work_left(*db)) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  Poco::Int64 first_start = 0, last_finish = 0, failed = 0;
  {
    Poco::Data::Session s = db->session();
    s << "SELECT MIN(started_at_ms), MAX(finished_at_ms) FROM tasks", into(first_start),
        into(last_finish), now;
    s << "SELECT COUNT(*) FROM tasks WHERE state <> 'COMPLETED'", into(failed), now;
  }
  double drain_s = static_cast<double>(last_finish - first_start) / 1000.0;
  double rate = drain_s > 0 ? o.tasks / drain_s : 0;

  // Phase 2: enqueue-to-start latency with idle workers.
  // Batch sizes as they happened: one claim statement stamps its tasks with one lease owner
  // and one start time, one completion commit with one finish time.
  Poco::Int64 attempts = 0, claims = 0, commits = 0;
  {
    Poco::Data::Session s = db->session();
    s << "SELECT COUNT(*), COUNT(DISTINCT lease_owner || ':' || started_at_ms), COUNT(DISTINCT"
         " lease_owner || ':' || finished_at_ms) FROM tasks",
        into(attempts), into(claims), into(commits), now;
  }
  {
    Poco::Data::Session s = db->session();
    s << "DELETE FROM task_attempts", now;
    s << "DELETE FROM tasks", now;
    s << "DELETE FROM jobs", now;
  }
  std::vector<std::string> ids;
  for (int i = 0; i < o.latency_samples; ++i) {
    ids.push_back(store.submit(noop_job()));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  while (count_completed(*db) < o.latency_samples) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  stop_worker(worker);
  std::vector<double> waits;
  {
    Poco::Data::Session s = db->session();
    std::vector<Poco::Int64> queued, started;
    s << "SELECT queued_at_ms, started_at_ms FROM tasks", into(queued), into(started), now;
    for (std::size_t i = 0; i < queued.size(); ++i) {
      waits.push_back(static_cast<double>(started[i] - queued[i]));
    }
  }

  std::printf("\n== queue drain on %s ==\n", backend.c_str());
  std::printf(
      "conditions: %d no-op tasks pre-loaded (%.2f s to load, batches of 1000 jobs), "
      "%d processes x %d threads, poll 10 ms; local queue ~20 ms of work per thread (2-128 "
      "tasks), claims and pipelined completion commits of up to 1024 tasks\n",
      o.tasks, load_s, o.processes, o.threads);
  std::printf("batches: %.0f tasks per claim, %.0f per completion commit (mean)\n",
              claims ? static_cast<double>(attempts) / static_cast<double>(claims) : 0.0,
              commits ? static_cast<double>(attempts) / static_cast<double>(commits) : 0.0);
  std::printf("drain: %.3f s (first start to last finish), %.3f s wall incl. worker start-up\n",
              drain_s, wall_s);
  std::printf("throughput: %.0f tasks/s%s\n", rate,
              failed ? "  (WARNING: some tasks did not complete)" : "");
  std::printf(
      "enqueue-to-start with idle workers (%d samples, ms resolution): p50 %.0f ms, "
      "p99 %.0f ms\n",
      o.latency_samples, percentile(waits, 0.5), percentile(waits, 0.99));
  if (backend == "postgres") {
    const double graphile_default = 1900, graphile_batched = 16800, pgboss = 13600;
    double best = std::max({graphile_default, graphile_batched, pgboss});
    std::printf(
        "peers on this machine, same local PostgreSQL, no-op job: graphile-worker %.0f/s "
        "(defaults), %.0f/s (local queue + batched completion), pg-boss %.0f/s (batch 100)\n",
        graphile_default, graphile_batched, pgboss);
    std::printf("ratio to the best peer: %.2fx (target >= 2x)\n", rate / best);
  } else {
    std::printf("target on SQLite: >= 10000 tasks/s -> %.2fx of target\n", rate / 10000.0);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    std::string v = argv[i + 1];
    if (k == "--backend")
      o.backend = v;
    else if (k == "--tasks")
      o.tasks = std::stoi(v);
    else if (k == "--processes")
      o.processes = std::stoi(v);
    else if (k == "--threads")
      o.threads = std::stoi(v);
    else if (k == "--latency-samples")
      o.latency_samples = std::stoi(v);
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  try {
    if (o.backend == "sqlite" || o.backend == "all") run("sqlite", o);
    if (o.backend == "postgres" || o.backend == "all") run("postgres", o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_queue: %s\n", e.what());
    return 1;
  }
  return 0;
}
