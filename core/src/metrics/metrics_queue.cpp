// QueueStats: the queue metrics read from the task table at scrape time.
#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>

#include "gen/core/base/clock.hpp"
#include "gen/core/base/log.hpp"
#include "gen/core/metrics/metrics.hpp"
#include "gen/core/queue/states.hpp"
#include "gen/core/storage/database.hpp"
#include "storage/session.hpp"

namespace gen::metrics {
namespace {

using Poco::Data::Keywords::use;
using prometheus::MetricType;

// "generator -> count" rows of a `SELECT generator, COUNT(*) ... GROUP BY generator`.
std::vector<std::pair<std::string, double>> counts_by_generator(Poco::Data::Statement& st) {
  st.execute();
  Poco::Data::RecordSet rs(st);
  std::vector<std::pair<std::string, double>> out;
  for (std::size_t r = 0; r < rs.rowCount(); ++r) {
    Poco::Dynamic::Var name = rs.value(0, r);
    Poco::Dynamic::Var count = rs.value(1, r);
    out.emplace_back(name.isEmpty() ? std::string() : name.convert<std::string>(),
                     count.isEmpty() ? 0.0 : count.convert<double>());
  }
  return out;
}

}  // namespace

QueueStats::QueueStats(Database& db, std::chrono::milliseconds max_age)
    : db_(db), max_age_(max_age) {}

QueueStats::Snapshot QueueStats::read() {
  Snapshot snap;
  db_.read([&](DbSession& s) {
    Poco::Int64 now = now_ms();
    {
      // Both use the tasks_claimable partial index (state = 'QUEUED'): cost follows the
      // backlog, never the size of the table's history.
      Poco::Data::Statement st(s);
      st << db_.sql("SELECT generator, COUNT(*) FROM tasks WHERE state = " +
                    sql_literal(TaskStatus::kQueued) + " AND run_after_ms <= ? GROUP BY generator"),
          use(now);
      snap.queued = counts_by_generator(st);
    }
    {
      Poco::Data::Statement st(s);
      st << db_.sql("SELECT generator, COUNT(*) FROM tasks WHERE state = " +
                    sql_literal(TaskStatus::kQueued) + " AND run_after_ms > ? GROUP BY generator"),
          use(now);
      snap.delayed = counts_by_generator(st);
    }
    {
      Poco::Data::Statement st(s);  // tasks_leased partial index (state = 'RUNNING')
      st << "SELECT generator, COUNT(*) FROM tasks WHERE state = " +
                sql_literal(TaskStatus::kRunning) + " GROUP BY generator";
      snap.running = counts_by_generator(st);
    }
    {
      // How long the longest-waiting runnable task has been runnable (run_after_ms is when
      // it became runnable: its enqueue time, or the end of its retry backoff or delay).
      Poco::Data::Statement st(s);
      st << db_.sql("SELECT MIN(run_after_ms) FROM tasks WHERE state = " +
                    sql_literal(TaskStatus::kQueued) + " AND run_after_ms <= ?"),
          use(now);
      st.execute();
      Poco::Data::RecordSet rs(st);
      if (rs.rowCount() > 0 && !rs.value(0, 0).isEmpty()) {
        auto oldest = rs.value(0, 0).convert<Poco::Int64>();
        snap.oldest_age_seconds =
            static_cast<double>(std::max<Poco::Int64>(0, now - oldest)) / 1000.0;
      }
    }
    {
      // The content library's versions by status (IMPORTING, READY, FAILED as stored).
      Poco::Data::Statement st(s);
      st << "SELECT status, COUNT(*) FROM content_versions GROUP BY status";
      snap.content_versions = counts_by_generator(st);
    }
  });
  snap.ok = true;
  return snap;
}

void QueueStats::append_to(std::vector<prometheus::MetricFamily>& out) {
  std::lock_guard lock(mutex_);  // concurrent scrapes wait for one round and share it
  const auto now = std::chrono::steady_clock::now();
  if (!taken_at_ || now - *taken_at_ >= max_age_) {
    try {
      cached_ = read();
    } catch (const std::exception& e) {
      ++errors_;
      cached_ = Snapshot{};
      log::warning("queue metrics: cannot read the task table", {{"error", e.what()}});
    }
    taken_at_ = now;
  }

  auto tasks = family("generator_queue_tasks",
                      "Tasks waiting to run now (QUEUED) or running (RUNNING), by generator.",
                      MetricType::Gauge);
  for (const auto& [generator, n] : cached_.queued) {
    add_value(tasks,
              {{"state", std::string(to_string(TaskStatus::kQueued))}, {"generator", generator}},
              n);
  }
  for (const auto& [generator, n] : cached_.running) {
    add_value(tasks,
              {{"state", std::string(to_string(TaskStatus::kRunning))}, {"generator", generator}},
              n);
  }
  out.push_back(std::move(tasks));

  auto delayed = family("generator_queue_delayed_tasks",
                        "QUEUED tasks not runnable yet (retry backoff or a delayed job), by "
                        "generator.",
                        MetricType::Gauge);
  for (const auto& [generator, n] : cached_.delayed)
    add_value(delayed, {{"generator", generator}}, n);
  out.push_back(std::move(delayed));

  auto oldest = family("generator_queue_oldest_task_age_seconds",
                       "How long the longest-waiting runnable task has waited (0 when none).",
                       MetricType::Gauge);
  add_value(oldest, {}, cached_.oldest_age_seconds);
  out.push_back(std::move(oldest));

  auto up =
      family("generator_queue_up",
             "1 when the last read of the task table for these metrics worked.", MetricType::Gauge);
  add_value(up, {}, cached_.ok ? 1 : 0);
  out.push_back(std::move(up));

  auto errors =
      family("generator_queue_scrape_errors_total",
             "Failed reads of the task table for the queue metrics.", MetricType::Counter);
  add_value(errors, {}, static_cast<double>(errors_));
  out.push_back(std::move(errors));
}

}  // namespace gen::metrics
