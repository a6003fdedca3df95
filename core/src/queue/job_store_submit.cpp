// JobStore, the client's writes: submit, cancel, delete (see job_store.cpp for the map).
#include "gen/core/queue/job_store.hpp"

#include <algorithm>

#include <Poco/Data/Session.h>
#include <Poco/Nullable.h>

#include "gen/core/base/clock.hpp"
#include "queue/job_store_impl.hpp"
#include "storage/task_notify.hpp"
#include "webhooks/job_events.hpp"

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Session;
using Poco::Data::Statement;

namespace gen {

using namespace jobstore;

namespace {

// Inserts the job unless its idempotency key is taken; returns whether it was created
// (`job_id` is then the existing job's id) and whether a task is runnable now.
bool insert_job(const Database& db, DbSession& s, const JobSpec& spec, std::string& job_id,
                bool& runnable_now) {
  if (spec.steps.empty()) {
    throw Error(ErrorCode::kValidationFailed, "a job needs at least one step", "steps");
  }
  std::string tenant = spec.tenant;
  if (!spec.idempotency_key.empty()) {
    std::string key = spec.idempotency_key;
    if (db.dialect() == Dialect::kPostgres) {
      // Serialises submissions of the same key; SQLite's write lock already does.
      std::string lock_key = tenant + "\n" + key;
      s << db.sql("SELECT pg_advisory_xact_lock(hashtext(?))"), use(lock_key), now;
    }
    std::vector<std::string> existing;
    s << db.sql("SELECT id FROM jobs WHERE tenant = ? AND idempotency_key = ?"), use(tenant),
        use(key), into(existing), now;
    if (!existing.empty()) {
      job_id = existing.front();
      // The existing job keeps its own inputs: this submission's uploads go.
      for (const InputFile& in : spec.inputs) {
        if (!in.blob_id.empty()) delete_blob(db, s, in.blob_id);
      }
      return false;
    }
  }
  Poco::Int64 at = now_ms();
  Poco::Int64 run_after = std::max<Poco::Int64>(at, spec.run_after_ms);
  runnable_now = runnable_now || run_after <= at;
  std::string id = job_id;
  std::string status(to_string(JobStatus::kQueued));
  int priority = spec.priority;
  int step_count = static_cast<int>(spec.steps.size());
  Poco::Nullable<std::string> key;
  if (!spec.idempotency_key.empty()) key = spec.idempotency_key;
  std::string type = spec.type;
  s << db.sql(
      "INSERT INTO jobs (id, tenant, status, priority, step_count, created_at_ms,"
      " updated_at_ms, idempotency_key, type) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
      use(id), use(tenant), use(status), use(priority), use(step_count), use(at), use(at), use(key),
      use(type), now;
  for (int i = 0; i < step_count; ++i) {
    const StepSpec& step = spec.steps[static_cast<std::size_t>(i)];
    std::string task_id = new_id();
    std::string generator = step.generator;
    std::string params = step.params.dump();
    std::string state(to_string(i == 0 ? TaskStatus::kQueued : TaskStatus::kPending));
    int max_attempts = std::max(1, step.max_attempts);
    Poco::Int64 timeout = step.timeout_ms;
    int step_no = i;
    s << db.sql(
        "INSERT INTO tasks (id, job_id, step, generator, params, state, priority, attempt,"
        " max_attempts, timeout_ms, run_after_ms, created_at_ms, queued_at_ms)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)"),
        use(task_id), use(id), use(step_no), use(generator), use(params), use(state), use(priority),
        use(max_attempts), use(timeout), use(run_after), use(at), use(at), now;
  }
  int seq = 0;
  for (const InputFile& in : spec.inputs) {
    if (in.blob_id.empty()) {
      insert_artifact(db, s, job_id, -1, seq++, in.name, in.media_type, in.data);
      continue;
    }
    // A streamed upload: link its chunks; it is no longer staged.
    insert_artifact_row(db, s, job_id, -1, seq++, in.name, in.media_type, in.blob_size,
                        in.blob_sha256, {}, in.blob_id);
    std::string upload = in.blob_id;
    s << db.sql("DELETE FROM uploads WHERE id = ?"), use(upload), now;
  }
  if (spec.in_transaction) spec.in_transaction(s, job_id);
  return true;
}

}  // namespace

std::string JobStore::submit(const JobSpec& spec) {
  return submit_all({spec}).front().id;
}

std::vector<std::string> JobStore::submit_many(const std::vector<JobSpec>& specs) {
  std::vector<std::string> ids;
  for (Submitted& s : submit_all(specs)) ids.push_back(std::move(s.id));
  return ids;
}

std::vector<Submitted> JobStore::submit_all(const std::vector<JobSpec>& specs) {
  if (db_.dialect() == Dialect::kPostgres &&
      std::all_of(specs.begin(), specs.end(), [](const JobSpec& spec) {
        // (The fast path writes only what every job has.)
        return spec.idempotency_key.empty() && spec.inputs.empty() && !spec.in_transaction &&
               spec.type == kGenerationJobType;
      })) {
    return submit_postgres(db_, specs);
  }
  std::vector<Submitted> out;
  bool runnable_now = false;
  db_.write_transaction([&](DbSession& s) {
    out.assign(specs.size(), Submitted{});
    runnable_now = false;
    for (std::size_t i = 0; i < specs.size(); ++i) {
      out[i].id = new_id();
      out[i].created = insert_job(db_, s, specs[i], out[i].id, runnable_now);
    }
    if (runnable_now) notify_tasks_in(db_, s);
  });
  if (runnable_now) notify_tasks_after_commit(db_);
  return out;
}

std::optional<JobView> JobStore::cancel_job(const std::string& id) {
  bool found = false;
  db_.write_transaction([&](DbSession& s) {
    std::string job_id = id;
    std::vector<std::string> statuses;
    s << db_.sql("SELECT status FROM jobs WHERE id = ?"), use(job_id), into(statuses), now;
    if (statuses.empty()) return;
    found = true;
    if (is_final(statuses.front())) {
      throw Error(ErrorCode::kConflict,
                  "job " + id + " already ended (" + statuses.front() + "); nothing to cancel");
    }
    Poco::Int64 at = now_ms();
    std::string message = "cancelled by request";
    std::string code(code_name(ErrorCode::kCancelled));
    s << db_.sql("UPDATE jobs SET status = " + sql_literal(JobStatus::kCancelled) +
                 ", updated_at_ms = ?, finished_at_ms = ?,"
                 " error = ?, error_code = ?, started_at_ms = " +
                 kJobStartedAt + " WHERE id = ?"),
        use(at), use(at), use(message), use(code), use(job_id), now;
    s << db_.sql("UPDATE tasks SET state = " + sql_literal(TaskStatus::kCancelled) +
                 ", finished_at_ms = ? WHERE job_id = ? AND state IN (" +
                 sql_literal(TaskStatus::kPending) + ", " + sql_literal(TaskStatus::kQueued) + ")"),
        use(at), use(job_id), now;
    // Running tasks are marked so the holder's next heartbeat signals them; their later
    // completion is refused because the task is no longer RUNNING. Their runs end here.
    std::string cancelled_outcome(to_string(TaskStatus::kCancelled));
    Poco::Nullable<std::string> no_error;
    s << db_.sql(end_attempt_sql("job_id = ? AND state = " + sql_literal(TaskStatus::kRunning))),
        use(at), use(at), use(cancelled_outcome), use(no_error), use(no_error), use(job_id), now;
    s << db_.sql("UPDATE tasks SET state = " + sql_literal(TaskStatus::kCancelled) +
                 ", finished_at_ms = ?, cancel_requested = 1 WHERE job_id = ? AND state = " +
                 sql_literal(TaskStatus::kRunning)),
        use(at), use(job_id), now;
    enqueue_job_events(db_, s, {job_id});  // webhooks: the outbox, in this transaction
  });
  if (!found) return std::nullopt;
  return get_job(id);
}

bool JobStore::delete_job(const std::string& id) {
  bool found = false;
  db_.write_transaction([&](DbSession& s) {
    std::string job_id = id;
    Poco::Int64 count = 0;
    s << db_.sql("SELECT COUNT(*) FROM jobs WHERE id = ?"), use(job_id), into(count), now;
    if (count == 0) return;
    found = true;
    s << db_.sql(
        "DELETE FROM task_attempts WHERE task_id IN (SELECT id FROM tasks WHERE job_id = ?)"),
        use(job_id), now;
    std::vector<std::string> ids{job_id};
    delete_chunks_of_jobs(db_, s, ids);
    s << db_.sql("DELETE FROM artifacts WHERE job_id = ?"), use(job_id), now;
    s << db_.sql("DELETE FROM tasks WHERE job_id = ?"), use(job_id), now;
    s << db_.sql("DELETE FROM jobs WHERE id = ?"), use(job_id), now;
  });
  return found;
}

}  // namespace gen
