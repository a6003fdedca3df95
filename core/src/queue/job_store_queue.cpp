// JobStore, the worker's side: claim, complete, fail, progress, heartbeat, requeue and
// rescue (see job_store.cpp for the map; the PostgreSQL fast paths are in
// job_store_postgres.cpp).
#include "gen/core/queue/job_store.hpp"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>
#include <Poco/Nullable.h>

#include "gen/core/base/clock.hpp"
#include "queue/job_store_impl.hpp"
#include "storage/record_values.hpp"
#include "storage/session.hpp"
#include "storage/task_notify.hpp"
#include "webhooks/job_events.hpp"

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Session;
using Poco::Data::Statement;

namespace gen {

using namespace jobstore;
using rows::i64;
using rows::str;

std::vector<ClaimedTask> JobStore::claim(const std::string& worker, int max,
                                         std::int64_t lease_ms) {
  std::vector<ClaimedTask> claimed;
  if (max <= 0) return claimed;
  if (db_.dialect() == Dialect::kPostgres) return claim_postgres(db_, worker, max, lease_ms);
  db_.write_transaction([&](DbSession& s) {
    Poco::Int64 at = now_ms();
    Poco::Int64 expires = at + lease_ms;
    std::string owner = worker;
    int limit = max;
    std::string lock = db_.dialect() == Dialect::kPostgres ? " FOR UPDATE SKIP LOCKED" : "";
    Statement st(s);
    st << db_.sql("UPDATE tasks SET state = " + sql_literal(TaskStatus::kRunning) +
                  ", attempt = attempt + 1, lease_owner = ?,"
                  // (cancel_requested is never set on a runnable task: cancelling ends the task.)
                  " lease_expires_at_ms = ?, started_at_ms = ?, progress = 0 WHERE id IN (SELECT id"
                  " FROM tasks WHERE state = " +
                  sql_literal(TaskStatus::kQueued) +
                  " AND run_after_ms <= ? ORDER BY priority DESC, "
                  "run_after_ms, id LIMIT ?" +
                  lock + ") RETURNING " + kTaskColumns),
        use(owner), use(expires), use(at), use(at), use(limit);
    st.execute();
    RecordSet rs(st);
    for (std::size_t r = 0; r < rs.rowCount(); ++r) claimed.push_back(task_row(Row(rs, r)));
    if (claimed.empty()) return;
    std::vector<std::string> ids;
    for (const ClaimedTask& t : claimed) ids.push_back(t.task_id);
    std::string in = placeholders(ids.size());
    // Tenant, and whether there are inputs at all (one query per batch saves one per task).
    Statement extra(s);
    extra << db_.sql(
        "SELECT t.id, j.tenant, CASE WHEN EXISTS (SELECT 1 FROM artifacts a WHERE"
        " a.job_id = t.job_id AND a.step = t.step - 1) THEN 1 ELSE 0 END, j.step_count"
        " FROM tasks t"
        " JOIN jobs j ON j.id = t.job_id WHERE t.id IN (" +
        in + ")");
    for (std::string& id : ids) extra, use(id);
    extra.execute();
    RecordSet er(extra);
    std::unordered_map<std::string, ClaimedTask*> by_id;
    for (ClaimedTask& t : claimed) by_id.emplace(t.task_id, &t);
    for (std::size_t r = 0; r < er.rowCount(); ++r) {
      auto it = by_id.find(str(er, 0, r));
      if (it == by_id.end()) continue;
      it->second->tenant = str(er, 1, r);
      it->second->has_inputs = i64(er, 2, r) != 0;
      it->second->step_count = static_cast<int>(i64(er, 3, r));
    }
  });
  return claimed;
}

bool JobStore::ingests(const std::vector<OutputFile>& outputs) const {
  return ingest_ && std::any_of(outputs.begin(), outputs.end(), [this](const OutputFile& o) {
           return ingest_->wants(o.media_type);
         });
}

WriteResult JobStore::complete(const ClaimedTask& task, const std::vector<OutputFile>& outputs) {
  return complete_many({Completion{task, outputs}}).front();
}

std::vector<WriteResult> JobStore::complete_many(const std::vector<Completion>& items) {
  std::vector<WriteResult> results(items.size(), WriteResult::kStale);
  if (items.empty()) return results;
  if (db_.dialect() == Dialect::kPostgres &&
      std::all_of(items.begin(), items.end(), [this](const Completion& c) {
        return !ingests(c.outputs) &&
               std::all_of(c.outputs.begin(), c.outputs.end(), [](const OutputFile& o) {
                 return o.data.size() <= BlobWriter::kChunkBytes;  // stored inline, not chunked
               });
      })) {
    // Where the claims left the rows first; the rest (moved since, or refused by the fence)
    // by (job_id, step). Each item's effects are all in the statement that applies it.
    // (Pointers: the items' outputs are not copied for the second statement.)
    std::vector<const Completion*> pending;
    for (const Completion& c : items) pending.push_back(&c);
    auto apply = [&](bool by_row_version) {
      std::unordered_set<std::string> applied;
      for (std::string& id : complete_postgres(db_, pending, by_row_version)) {
        applied.insert(std::move(id));
      }
      std::erase_if(pending, [&](const Completion* c) {
        if (!applied.contains(c->task.task_id)) return false;
        results[static_cast<std::size_t>(c - items.data())] = WriteResult::kApplied;
        return true;
      });
    };
    if (std::all_of(items.begin(), items.end(),
                    [](const Completion& c) { return !c.task.row_version.empty(); })) {
      apply(true);
    }
    if (!pending.empty()) apply(false);
    return results;
  }
  bool next_queued = false;
  db_.write_transaction([&](DbSession& s) {
    next_queued = false;
    std::fill(results.begin(), results.end(), WriteResult::kStale);  // on a retried transaction
    Poco::Int64 at = now_ms();
    std::vector<std::string> ids, job_ids;
    std::vector<int> attempts;
    ids.reserve(items.size());
    job_ids.reserve(items.size());
    attempts.reserve(items.size());
    for (const Completion& c : items) {
      ids.push_back(c.task.task_id);
      job_ids.push_back(c.task.job_id);
      attempts.push_back(c.task.attempt);
    }
    // The items as a table v (job_id, id, attempt) joined to tasks: each one found through an
    // index on either dialect (by id on SQLite, by job_id on PostgreSQL, which has no index
    // on tasks.id: migration 10) and fenced on its own attempt, O(items). (A CASE over the
    // ids is O(items^2); a chain of "(id = ? AND attempt = ?) OR ..." scans the table.)
    std::string rows;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      rows += i ? ", (?, ?, CAST(? AS INTEGER))" : "(?, ?, CAST(? AS INTEGER))";
    }

    // Large outputs' chunks first, before the fenced update locks the task rows: writing
    // hundreds of MB takes seconds, and a locked task row is not lease-renewed by the
    // heartbeat (which skips locked rows), so it could be rescued while being completed.
    std::vector<std::vector<std::string>> blobs(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
      for (const OutputFile& out : items[i].outputs) {
        blobs[i].push_back(insert_chunks(db_, s, out.data));
      }
    }
    // Fenced: only runs whose attempt is still the task's current RUNNING attempt apply.
    std::vector<std::string> applied_ids;
    Statement upd(s);
    upd << db_.sql(
        // The lease owner stays: it names the worker of the completed attempt.
        "WITH v (job_id, id, attempt) AS (VALUES " + rows +
        ") UPDATE tasks SET state = " + sql_literal(TaskStatus::kCompleted) +
        ", progress = 1, finished_at_ms = ?,"
        " lease_expires_at_ms = NULL, error = NULL, error_code = NULL FROM v WHERE"
        " tasks.job_id = v.job_id AND tasks.id = v.id AND tasks.state = " +
        sql_literal(TaskStatus::kRunning) +
        " AND"
        " tasks.attempt = v.attempt RETURNING tasks.id");
    for (std::size_t i = 0; i < items.size(); ++i) {
      upd, use(job_ids[i]), use(ids[i]), use(attempts[i]);
    }
    upd, use(at);
    upd, into(applied_ids);
    upd.execute();
    const std::unordered_set<std::string> applied(applied_ids.begin(), applied_ids.end());
    for (std::size_t i = 0; i < items.size(); ++i) {  // refused runs' chunks go again
      if (applied.contains(ids[i])) continue;
      for (const std::string& blob_id : blobs[i]) {
        if (!blob_id.empty()) delete_blob(db_, s, blob_id);
      }
    }
    if (applied.empty()) return;

    std::vector<std::string> done_ids, done_jobs, next_jobs;
    std::vector<int> next_steps;  // of the done tasks whose job has a next step
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (!applied.contains(ids[i])) continue;
      results[i] = WriteResult::kApplied;
      done_ids.push_back(ids[i]);
      done_jobs.push_back(job_ids[i]);
      if (has_next_step(items[i].task)) {
        next_jobs.push_back(job_ids[i]);
        next_steps.push_back(items[i].task.step + 1);
      }
      for (std::size_t o = 0; o < items[i].outputs.size(); ++o) {
        const OutputFile& out = items[i].outputs[o];
        insert_artifact(db_, s, items[i].task.job_id, items[i].task.step, static_cast<int>(o),
                        out.name, out.media_type, out.data, blobs[i][o]);
        if (ingest_ && ingest_->wants(out.media_type)) ingest_->ingest(db_, s, items[i].task, out);
      }
    }
    // A completed run writes no attempt row: the task row keeps its attempt, lease owner,
    // start and finish (get_job shows it from there).
    std::string in = placeholders(done_ids.size());
    // The next step of each job that has one becomes runnable.
    std::vector<std::string> queued;
    if (!next_jobs.empty()) {
      std::string next_rows;
      for (std::size_t i = 0; i < next_jobs.size(); ++i) {
        next_rows += i ? ", (?, CAST(? AS INTEGER))" : "(?, CAST(? AS INTEGER))";
      }
      Statement next(s);
      next << db_.sql("WITH v (job_id, step) AS (VALUES " + next_rows +
                      ") UPDATE tasks SET state = " + sql_literal(TaskStatus::kQueued) +
                      ", queued_at_ms = ?, run_after_ms = ?"
                      " FROM v WHERE tasks.job_id = v.job_id AND tasks.step = v.step AND"
                      " tasks.state = " +
                      sql_literal(TaskStatus::kPending) + " RETURNING tasks.id");
      for (std::size_t i = 0; i < next_jobs.size(); ++i) {
        next, use(next_jobs[i]), use(next_steps[i]);
      }
      next, use(at), use(at), into(queued);
      next.execute();
    }
    if (!queued.empty()) {
      next_queued = true;
      notify_tasks_in(db_, s);
    }
    // Jobs whose last step completed are done; the others were touched.
    Statement jobs(s);
    jobs << db_.sql(
        "UPDATE jobs SET updated_at_ms = ?, status = CASE WHEN EXISTS (SELECT 1 FROM"
        " tasks t WHERE t.job_id = jobs.id AND t.step = jobs.step_count - 1 AND"
        " t.id IN (" +
        in + ")) AND status IN " + kJobActive + " THEN " + sql_literal(JobStatus::kCompleted) +
        " WHEN status = " + sql_literal(JobStatus::kQueued) + " THEN " +
        sql_literal(JobStatus::kRunning) +
        " ELSE status END, started_at_ms = COALESCE(started_at_ms, (SELECT"
        " MIN(t.started_at_ms) FROM tasks t WHERE t.job_id = jobs.id AND t.id IN (" +
        in +
        ")), ?), finished_at_ms = CASE WHEN EXISTS (SELECT 1 FROM tasks t"
        " WHERE t.job_id = jobs.id AND t.step = jobs.step_count - 1 AND t.id IN (" +
        in + ")) AND status IN " + kJobActive +
        " THEN ? ELSE finished_at_ms END"
        " WHERE id IN (" +
        in + ")"),
        use(at);
    for (std::string& id : done_ids) jobs, use(id);
    for (std::string& id : done_ids) jobs, use(id);
    jobs, use(at);
    for (std::string& id : done_ids) jobs, use(id);
    jobs, use(at);
    for (std::string& job : done_jobs) jobs, use(job);
    jobs.execute();
    // Webhooks: the outbox rows of the jobs that just completed, in this transaction.
    enqueue_job_events(db_, s, done_jobs);
  });
  if (next_queued) notify_tasks_after_commit(db_);
  return results;
}

FailResult JobStore::fail(const ClaimedTask& task, ErrorCode code, const std::string& message,
                          bool permanent) {
  FailResult result = FailResult::kStale;
  db_.write_transaction([&](DbSession& s) {
    Poco::Int64 at = now_ms();
    std::string task_id = task.task_id;
    std::string job_id = task.job_id;
    int step = task.step;
    int attempt = task.attempt;
    std::vector<int> max_attempts;
    std::vector<Poco::Int64> started;
    // The task by (job_id, step): PostgreSQL has no index on tasks.id (migration 10).
    s << db_.sql(
        "SELECT max_attempts, COALESCE(started_at_ms, ?) FROM tasks WHERE job_id = ? AND"
        " step = ? AND id = ? AND attempt = ? AND state = " +
        sql_literal(TaskStatus::kRunning)),
        use(at), use(job_id), use(step), use(task_id), use(attempt), into(max_attempts),
        into(started), now;
    if (max_attempts.empty()) return;
    // The first run of a job that ends writes its row (the claim did not; see kJobColumns).
    s << db_.sql("UPDATE jobs SET status = " + sql_literal(JobStatus::kRunning) +
                 ", started_at_ms = COALESCE(started_at_ms, ?), updated_at_ms = ? WHERE id = ? AND"
                 " status = " +
                 sql_literal(JobStatus::kQueued)),
        use(started.front()), use(at), use(job_id), now;
    std::string msg = message;
    std::string code_str(code_name(code));
    bool retry = !permanent && attempt < max_attempts.front();
    // An attempt's outcome: RETRY, or the state its task ends in.
    std::string outcome = retry ? "RETRY" : std::string(to_string(TaskStatus::kFailed));
    s << db_.sql(end_attempt_sql("job_id = ? AND step = ? AND id = ? AND attempt = ?")), use(at),
        use(at), use(outcome), use(msg), use(code_str), use(job_id), use(step), use(task_id),
        use(attempt), now;
    if (retry) {
      Poco::Int64 run_after = at + backoff_ms(attempt + 1);
      s << db_.sql("UPDATE tasks SET state = " + sql_literal(TaskStatus::kQueued) +
                   ", run_after_ms = ?, queued_at_ms = ?,"
                   " lease_owner = NULL, lease_expires_at_ms = NULL, error = ?, error_code = ?"
                   " WHERE job_id = ? AND step = ? AND id = ? AND attempt = ?"),
          use(run_after), use(at), use(msg), use(code_str), use(job_id), use(step), use(task_id),
          use(attempt), now;
      result = FailResult::kRetrying;
      return;
    }
    s << db_.sql(
        "UPDATE tasks SET state = " + sql_literal(TaskStatus::kFailed) +
        ", finished_at_ms = ?, lease_owner = NULL,"
        " lease_expires_at_ms = NULL, error = ?, error_code = ? WHERE job_id = ? AND step = ?"
        " AND id = ? AND attempt = ?"),
        use(at), use(msg), use(code_str), use(job_id), use(step), use(task_id), use(attempt), now;
    s << db_.sql(
        "UPDATE tasks SET state = " + sql_literal(TaskStatus::kCancelled) +
        ", finished_at_ms = ? WHERE job_id = ? AND state = " + sql_literal(TaskStatus::kPending)),
        use(at), use(job_id), now;
    s << db_.sql("UPDATE jobs SET status = " + sql_literal(JobStatus::kFailed) +
                 ", finished_at_ms = ?, updated_at_ms = ?, error = ?,"
                 " error_code = ? WHERE id = ? AND status IN " +
                 kJobActive),
        use(at), use(at), use(msg), use(code_str), use(job_id), now;
    enqueue_job_events(db_, s, {job_id});  // webhooks: the outbox, in this transaction
    result = FailResult::kFailed;
  });
  return result;
}

WriteResult JobStore::progress(const ClaimedTask& task, double fraction) {
  double p = std::clamp(fraction, 0.0, 1.0);
  std::string task_id = task.task_id;
  std::string job_id = task.job_id;
  int step = task.step;
  int attempt = task.attempt;
  std::vector<std::string> updated;
  // One autocommit statement (no transaction to wait for); its driver error is translated as
  // write_transaction() and read() translate theirs.
  try {
    Session s = db_.session();
    s << db_.sql(
        "UPDATE tasks SET progress = ? WHERE job_id = ? AND step = ? AND id = ? AND attempt = ?"
        " AND state = " +
        sql_literal(TaskStatus::kRunning) + " RETURNING id"),
        use(p), use(job_id), use(step), use(task_id), use(attempt), into(updated), now;
  } catch (const Poco::Exception& e) {
    throw database_error(e);
  }
  return updated.empty() ? WriteResult::kStale : WriteResult::kApplied;
}

std::vector<std::string> JobStore::heartbeat(const std::string& worker, std::int64_t lease_ms) {
  std::vector<std::string> cancelled;
  db_.write_transaction([&](DbSession& s) {
    Poco::Int64 expires = now_ms() + lease_ms;
    std::string owner = worker;
    // PostgreSQL: rows another transaction holds are skipped, never waited for. That
    // transaction is completing, failing, claiming or rescuing the task, so it needs no
    // renewal now (and the next heartbeat renews it if that transaction rolls back). Waiting
    // made the heartbeat part of a lock convoy with the batched completions: 0.5 s stalls.
    if (db_.dialect() == Dialect::kPostgres) {
      // By ctid (there is no index on tasks.id); the outer filter keeps the outer scan on
      // tasks_leased whatever plan is chosen.
      std::string owner_again = worker;
      s << db_.sql("UPDATE tasks SET lease_expires_at_ms = ? WHERE lease_owner = ? AND state = " +
                   sql_literal(TaskStatus::kRunning) +
                   " AND ctid IN (SELECT ctid FROM tasks WHERE lease_owner = ? AND state = " +
                   sql_literal(TaskStatus::kRunning) + " FOR UPDATE SKIP LOCKED)"),
          use(expires), use(owner), use(owner_again), now;
    } else {
      s << "UPDATE tasks SET lease_expires_at_ms = ? WHERE lease_owner = ? AND state = " +
               sql_literal(TaskStatus::kRunning),
          use(expires), use(owner), now;
    }
    s << db_.sql(
        "UPDATE tasks SET cancel_requested = 2 WHERE lease_owner = ? AND cancel_requested = 1"
        " RETURNING id"),
        use(owner), into(cancelled), now;
  });
  return cancelled;
}

std::vector<ClaimedTask> JobStore::tasks_held_by(const std::string& worker) {
  std::vector<ClaimedTask> held;
  db_.read([&](DbSession& s) {
    std::string owner = worker;
    Statement st(s);
    st << db_.sql(
        std::string("SELECT ") + kTaskColumns +
        " FROM tasks WHERE lease_owner = ? AND state = " + sql_literal(TaskStatus::kRunning)),
        use(owner);
    st.execute();
    RecordSet rs(st);
    for (std::size_t r = 0; r < rs.rowCount(); ++r) held.push_back(task_row(Row(rs, r)));
  });
  return held;
}

int JobStore::release_worker(const std::string& worker, ErrorCode code,
                             const std::string& message) {
  int released = 0;
  for (const ClaimedTask& t : tasks_held_by(worker)) {
    if (fail(t, code, message + " while running " + t.generator, false) != FailResult::kStale) {
      ++released;
    }
  }
  return released;
}

WriteResult JobStore::requeue(const ClaimedTask& task) {
  WriteResult result = WriteResult::kStale;
  db_.write_transaction([&](DbSession& s) {
    Poco::Int64 at = now_ms();
    std::string task_id = task.task_id;
    std::string job_id = task.job_id;
    int step = task.step;
    int attempt = task.attempt;
    std::vector<std::string> updated;
    // By (job_id, step): PostgreSQL has no index on tasks.id (migration 10). A run that ends
    // other than completed writes its attempt row when it ends; this one did not end, it is
    // undone, so there is no row to write (the claim wrote none).
    s << db_.sql("UPDATE tasks SET state = " + sql_literal(TaskStatus::kQueued) +
                 ", attempt = attempt - 1, lease_owner = NULL,"
                 " lease_expires_at_ms = NULL, run_after_ms = ?, queued_at_ms = ?, progress = 0"
                 " WHERE job_id = ? AND step = ? AND id = ? AND attempt = ? AND state = " +
                 sql_literal(TaskStatus::kRunning) + " RETURNING id"),
        use(at), use(at), use(job_id), use(step), use(task_id), use(attempt), into(updated), now;
    if (updated.empty()) return;
    result = WriteResult::kApplied;
    notify_tasks_in(db_, s);
  });
  if (result == WriteResult::kApplied) notify_tasks_after_commit(db_);
  return result;
}

int JobStore::requeue_worker(const std::string& worker) {
  int requeued = 0;
  for (const ClaimedTask& t : tasks_held_by(worker)) {
    if (requeue(t) == WriteResult::kApplied) ++requeued;
  }
  return requeued;
}

int JobStore::rescue_expired() {
  std::vector<ClaimedTask> expired;
  std::vector<std::string> owners;
  // Walks the running tasks (the partial index tasks_leased; there is no index on the lease
  // expiry, which every claim would have to write: migration 9). On PostgreSQL through a
  // pg_exec connection, whose pinned plans never scan the whole table instead.
  // kTaskColumns, then the lease owner (column 9).
  const std::string select =
      std::string("SELECT ") + kTaskColumns +
      ", lease_owner FROM tasks WHERE state = " + sql_literal(TaskStatus::kRunning) +
      " AND"
      " lease_expires_at_ms < ? LIMIT 100";
  if (db_.dialect() == Dialect::kPostgres) {
    for (const auto& r : db_.pg_exec(db_.sql(select), {std::to_string(now_ms())})) {
      expired.push_back(task_row(Row(r)));
      owners.push_back(Row(r).text(9));
    }
  } else {
    db_.read([&](DbSession& s) {
      Poco::Int64 at = now_ms();
      Statement st(s);
      st << select, use(at);
      st.execute();
      RecordSet rs(st);
      for (std::size_t r = 0; r < rs.rowCount(); ++r) {
        expired.push_back(task_row(Row(rs, r)));
        owners.push_back(Row(rs, r).text(9));
      }
    });
  }
  int rescued = 0;
  for (std::size_t i = 0; i < expired.size(); ++i) {
    std::string message = "lease expired: worker " + owners[i] +
                          " stopped heartbeating while running " + expired[i].generator;
    if (fail(expired[i], ErrorCode::kWorkerDied, message, false) != FailResult::kStale) {
      ++rescued;
    }
  }
  return rescued;
}

}  // namespace gen
