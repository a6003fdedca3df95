// JobStore, retention: finished jobs and stale uploads pruned (see job_store.cpp for the map).
#include "gen/core/queue/job_store.hpp"

#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>

#include "gen/core/base/clock.hpp"
#include "queue/job_store_impl.hpp"
#include "storage/session.hpp"

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Session;
using Poco::Data::Statement;

namespace gen {
namespace jobstore {

// Deletes the chunks of the artifacts of the jobs `ids`.
void delete_chunks_of_jobs(const Database& db, Session& s, std::vector<std::string>& ids) {
  std::string in;
  for (std::size_t i = 0; i < ids.size(); ++i) in += i ? ", ?" : "?";
  Statement st(s);
  st << db.sql(
      "DELETE FROM artifact_chunks WHERE blob_id IN (SELECT blob_id FROM artifacts WHERE"
      " blob_id IS NOT NULL AND job_id IN (" +
      in + "))");
  for (std::string& id : ids) st, use(id);
  st.execute();
}

}  // namespace jobstore

using namespace jobstore;

int JobStore::prune_stale_uploads(std::int64_t idle_before_ms, int limit) {
  std::vector<std::string> ids;
  db_.read([&](DbSession& s) {
    Poco::Int64 before = idle_before_ms;
    int n = limit;
    s << db_.sql("SELECT id FROM uploads WHERE updated_at_ms < ? ORDER BY updated_at_ms LIMIT ?"),
        use(before), use(n), into(ids), now;
  });
  // One short transaction per blob: a crashed 10 GB upload does not hold the write lock.
  for (const std::string& id : ids) {
    db_.write_transaction([&](DbSession& s) { delete_blob(db_, s, id); });
  }
  return static_cast<int>(ids.size());
}

int JobStore::prune_finished(std::int64_t finished_before_ms, int limit) {
  prune_stale_uploads(now_ms() - kStaleUploadMs);
  int pruned = 0;
  db_.write_transaction([&](DbSession& s) {
    Poco::Int64 before = finished_before_ms;
    int n = limit;
    std::vector<std::string> ids;
    // Through jobs_by_created (a job finishes after it is created), not an index on
    // finished_at_ms: that index made every job's completion a non-HOT update (migration 8).
    // Old unfinished jobs (long delays) are passed over, a few rows each time.
    s << db_.sql(
        "SELECT id FROM jobs WHERE created_at_ms < ? AND finished_at_ms < ?"
        " ORDER BY created_at_ms, id LIMIT ?"),
        use(before), use(before), use(n), into(ids), now;
    if (ids.empty()) return;
    std::string in = placeholders(ids.size());
    auto run = [&](const std::string& sql) {
      Statement st(s);
      st << db_.sql(sql);
      for (std::string& id : ids) st, use(id);
      st.execute();
    };
    run("DELETE FROM task_attempts WHERE task_id IN (SELECT id FROM tasks WHERE job_id IN (" + in +
        "))");
    delete_chunks_of_jobs(db_, s, ids);
    run("DELETE FROM artifacts WHERE job_id IN (" + in + ")");
    run("DELETE FROM tasks WHERE job_id IN (" + in + ")");
    run("DELETE FROM jobs WHERE id IN (" + in + ")");
    pruned = static_cast<int>(ids.size());
  });
  return pruned;
}

}  // namespace gen
