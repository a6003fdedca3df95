// JobStore's PostgreSQL fast paths: a submission, a claim and a batch of completions, each
// ONE statement on a pg_exec connection (see job_store.cpp for the map).
#include "gen/core/queue/job_store.hpp"

#include <algorithm>

#include "gen/core/base/clock.hpp"
#include "gen/core/storage/task_signal.hpp"
#include "gen/core/webhooks/webhooks.hpp"
#include "queue/job_store_impl.hpp"
#include "webhooks/job_events.hpp"

namespace gen::jobstore {
namespace {

// A PostgreSQL array literal of text elements ('{"a","b"}'), for pg_exec parameters.
std::string pg_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

}  // namespace

// PostgreSQL: plain submissions (no idempotency key, no input files) as ONE statement: the
// jobs, all their tasks and the wake-up in one round trip, atomic like the general path.
// Statement-at-a-time inserts through Poco took 0.8 ms per job (20,000 jobs: 16 s).
std::vector<Submitted> submit_postgres(Database& db, const std::vector<JobSpec>& specs) {
  const std::int64_t at = now_ms();
  std::vector<std::string> job_id, job_tenant, job_priority, job_steps, task_id, task_job,
      task_step, task_generator, task_params, task_state, task_priority, task_max_attempts,
      task_timeout, task_run_after;
  bool runnable_now = false;
  std::vector<Submitted> out(specs.size());
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const JobSpec& spec = specs[i];
    if (spec.steps.empty()) {
      throw Error(ErrorCode::kValidationFailed, "a job needs at least one step", "steps");
    }
    out[i].id = new_id();
    const std::int64_t run_after = std::max<std::int64_t>(at, spec.run_after_ms);
    runnable_now = runnable_now || run_after <= at;
    job_id.push_back(out[i].id);
    job_tenant.push_back(spec.tenant);
    job_priority.push_back(std::to_string(spec.priority));
    job_steps.push_back(std::to_string(spec.steps.size()));
    for (std::size_t n = 0; n < spec.steps.size(); ++n) {
      const StepSpec& step = spec.steps[n];
      task_id.push_back(new_id());
      task_job.push_back(out[i].id);
      task_step.push_back(std::to_string(n));
      task_generator.push_back(step.generator);
      task_params.push_back(step.params.dump());
      task_state.emplace_back(to_string(n == 0 ? TaskStatus::kQueued : TaskStatus::kPending));
      task_priority.push_back(std::to_string(spec.priority));
      task_max_attempts.push_back(std::to_string(std::max(1, step.max_attempts)));
      task_timeout.push_back(std::to_string(step.timeout_ms));
      task_run_after.push_back(std::to_string(run_after));
    }
  }
  static const std::string kSubmit =
      "WITH j AS (INSERT INTO jobs (id, tenant, status, priority, step_count, created_at_ms,"
      " updated_at_ms) SELECT id, tenant, " +
      sql_literal(JobStatus::kQueued) +
      ", priority, steps, $15, $15 FROM"
      " unnest($1::text[], $2::text[], $3::int[], $4::int[]) AS i(id, tenant, priority, steps)),"
      " t AS (INSERT INTO tasks (id, job_id, step, generator, params, state, priority, attempt,"
      " max_attempts, timeout_ms, run_after_ms, created_at_ms, queued_at_ms) SELECT id, job_id,"
      " step, generator, params, state, priority, 0, max_attempts, timeout_ms, run_after, $15,"
      " $15 FROM unnest($5::text[], $6::text[], $7::int[], $8::text[], $9::text[], $10::text[],"
      " $11::int[], $12::int[], $13::bigint[], $14::bigint[]) AS i(id, job_id, step, generator,"
      " params, state, priority, max_attempts, timeout_ms, run_after))"
      // Idle workers learn of the runnable tasks on commit.
      " SELECT pg_notify('" +
      std::string(kTaskChannel) + "', '') WHERE $16::boolean";
  db.pg_exec(kSubmit,
             {pg_array(job_id), pg_array(job_tenant), pg_array(job_priority), pg_array(job_steps),
              pg_array(task_id), pg_array(task_job), pg_array(task_step), pg_array(task_generator),
              pg_array(task_params), pg_array(task_state), pg_array(task_priority),
              pg_array(task_max_attempts), pg_array(task_timeout), pg_array(task_run_after),
              std::to_string(at), runnable_now ? "true" : "false"});
  return out;
}

// PostgreSQL: the whole claim is one statement (data-modifying CTEs), so one round trip
// (Database::pg_exec) instead of a transaction of several statements. Same effects as the
// general path below: fenced attempt + 1. The claim writes the task rows only: the job reads
// as RUNNING through its running task (kJobColumns) until a run ends and writes the job row,
// and an attempt's row is written when the run ends (end_attempt_sql), if it did not
// complete.
std::vector<ClaimedTask> claim_postgres(Database& db, const std::string& worker, int max,
                                        std::int64_t lease_ms) {
  const std::int64_t at = now_ms();
  static const std::string kClaim =
      // The picked rows are locked, so their row versions stay put: the update finds them
      // by ctid (a TID scan) rather than by another primary-key lookup.
      "WITH picked AS (SELECT ctid FROM tasks WHERE state = " + sql_literal(TaskStatus::kQueued) +
      " AND run_after_ms <= $3 ORDER BY priority DESC, run_after_ms, id LIMIT $4 FOR UPDATE"
      " SKIP LOCKED), claimed AS (UPDATE tasks t SET state = " +
      sql_literal(TaskStatus::kRunning) +
      ", attempt = t.attempt + 1,"
      " lease_owner = $1, lease_expires_at_ms = $2, started_at_ms = $3, progress = 0"
      " FROM picked WHERE t.ctid = picked.ctid RETURNING t.ctid, t.id, t.job_id, t.step,"
      " t.generator, t.params, t.attempt, t.max_attempts, t.timeout_ms, CASE WHEN"
      " t.run_after_ms > t.queued_at_ms THEN t.run_after_ms ELSE t.queued_at_ms END AS"
      " queued_at)"
      // The job by primary key (a nested loop over an index, as every join here: hash
      // joins are off, database.cpp): its tenant and step count.
      " SELECT c.id, c.job_id, c.step, c.generator, c.params, c.attempt, c.max_attempts,"
      " c.timeout_ms, c.queued_at, j.tenant, EXISTS (SELECT 1 FROM artifacts a WHERE"
      " a.job_id = c.job_id AND a.step = c.step - 1), j.step_count, c.ctid FROM claimed c"
      " JOIN jobs j ON j.id = c.job_id";
  auto rows = db.pg_exec(
      kClaim, {worker, std::to_string(at + lease_ms), std::to_string(at), std::to_string(max)});
  std::vector<ClaimedTask> claimed;
  claimed.reserve(rows.size());
  for (const auto& r : rows) {
    const Row row(r);
    ClaimedTask t = task_row(row);  // columns 0-8: kTaskColumns' order
    t.tenant = row.text(9);
    t.has_inputs = row.text(10) == "t";
    t.step_count = static_cast<int>(row.number(11));
    t.row_version = row.text(12);
    claimed.push_back(std::move(t));
  }
  return claimed;
}

// PostgreSQL: a batch of completions as ONE statement (one round trip, atomic): fenced task
// updates, small outputs as artifacts, the next steps queued (NOTIFY), the
// jobs updated and, for jobs that ended, the webhook outbox rows — what the general path in
// complete_many() does in a transaction of many statements. Returns the applied task ids.
// Outputs larger than one chunk take the general path (they are stored as chunks).
// `by_row_version`: each task is looked for where its claim left it (ClaimedTask::
// row_version, a TID scan); otherwise by (job_id, step), through the index.
std::vector<std::string> complete_postgres(Database& db,
                                           const std::vector<const Completion*>& items,
                                           bool by_row_version) {
  const std::int64_t at = now_ms();
  std::vector<std::string> ids, attempts, art_item, art_id, art_seq, art_name, art_type, art_size,
      art_sha, art_data;
  static const char* kHex = "0123456789abcdef";
  std::vector<std::string> job_ids, steps;
  std::vector<std::string> has_next;  // per item: its job has a step after it (or unknown)
  std::vector<std::string> row_versions;
  for (const Completion* item_ptr : items) {
    const Completion& c = *item_ptr;
    const std::string item = std::to_string(ids.size() + 1);  // its input row's ordinality
    ids.push_back(c.task.task_id);
    if (by_row_version) row_versions.push_back(c.task.row_version);
    job_ids.push_back(c.task.job_id);
    steps.push_back(std::to_string(c.task.step));
    attempts.push_back(std::to_string(c.task.attempt));
    has_next.push_back(has_next_step(c.task) ? "t" : "f");
    int seq = 0;
    for (const OutputFile& out : c.outputs) {
      art_item.push_back(item);
      art_id.push_back(new_id());
      art_seq.push_back(std::to_string(seq++));
      art_name.push_back(out.name);
      art_type.push_back(out.media_type);
      art_size.push_back(std::to_string(out.data.size()));
      art_sha.push_back(sha256_hex(out.data));
      std::string hex = "\\x";
      hex.reserve(2 + 2 * out.data.size());
      for (unsigned char b : out.data) {
        hex += kHex[b >> 4];
        hex += kHex[b & 15];
      }
      art_data.push_back(std::move(hex));
    }
  }
  auto statement = [](const std::string& find_task) {
    std::string sql =
        "WITH input AS (SELECT * FROM unnest($1::text[], $2::int[], $13::bool[], $14::text[],"
        " $15::int[], $17::tid[]) WITH ORDINALITY AS i(id, attempt, has_next, job_id, step,"
        " row_version, n)),"
        " done AS (UPDATE tasks t SET state = " +
        sql_literal(TaskStatus::kCompleted) +
        ", progress = 1, finished_at_ms = $3,"
        " lease_expires_at_ms = NULL, error = NULL, error_code = NULL FROM input WHERE ";
    sql += find_task;
    sql +=
        " AND t.id = input.id AND"
        // The state as a parameter ($16, the running state), not a literal: the generic plan then
        // cannot use the partial index of running tasks (tasks_leased). With statistics from
        // when few tasks ran, the planner had picked it as the outer side of the join and
        // matched every running task against every item: 100+ ms per batch, 30k -> 6k tasks/s.
        " t.state = $16 AND t.attempt = input.attempt"
        " RETURNING t.id, t.job_id, t.step, t.started_at_ms, input.n, input.has_next),"
        // Outputs name their item by its input row number: the join of the two CTEs is a
        // nested loop (hash joins are off), so it compares integers, not ids.
        " outputs AS (INSERT INTO artifacts (id, job_id, step, seq, name, media_type,"
        " size_bytes, sha256, data, created_at_ms) SELECT o.id, done.job_id, done.step, o.seq,"
        " o.name, o.media_type, o.size, o.sha, o.data, $3 FROM unnest($5::text[], $4::bigint[],"
        " $6::int[], $7::text[], $8::text[], $9::bigint[], $10::text[], $11::bytea[]) AS"
        " o(id, item, seq, name, media_type, size, sha, data) JOIN done ON done.n = o.item),"
        // Only tasks with a next step look it up (most jobs have one step).
        " queued AS (UPDATE tasks t SET state = " +
        sql_literal(TaskStatus::kQueued) +
        ", queued_at_ms = $3, run_after_ms = $3 FROM done WHERE done.has_next AND t.state = " +
        sql_literal(TaskStatus::kPending) +
        " AND t.job_id = done.job_id AND t.step = done.step + 1 RETURNING t.id),"
        " ended AS (UPDATE jobs j SET updated_at_ms = $3, status = CASE WHEN done.step ="
        " j.step_count - 1 AND j.status IN " +
        kJobActive + " THEN " + sql_literal(JobStatus::kCompleted) +
        " WHEN j.status = " + sql_literal(JobStatus::kQueued) + " THEN " +
        sql_literal(JobStatus::kRunning) +
        " ELSE j.status END, started_at_ms ="
        " COALESCE(j.started_at_ms, done.started_at_ms, $3), finished_at_ms = CASE WHEN"
        " done.step = j.step_count - 1 AND j.status IN " +
        kJobActive +
        " THEN $3 ELSE j.finished_at_ms END FROM done WHERE j.id ="
        " done.job_id RETURNING j.id, j.tenant, j.status, j.error, j.error_code,"
        " j.created_at_ms, j.started_at_ms, j.finished_at_ms),"
        // The webhook outbox, the same statement enqueue_job_events() runs.
        " events AS (";
    sql += job_events_insert_sql("ended j", "$12::int", "$3");
    // Idle workers learn of the queued next steps on commit.
    sql += " ON CONFLICT (id) DO NOTHING), wake AS (SELECT pg_notify('";
    sql += kTaskChannel;
    sql +=
        "', '') FROM (SELECT 1 FROM queued LIMIT 1) q)"
        " SELECT id FROM done UNION ALL SELECT '' FROM wake";
    return sql;
  };
  // A TID scan, or the index of (job_id, step): there is none on tasks.id (migration 10).
  // The fence (id, state, attempt) is checked either way, so a row version that now holds
  // another row, or a newer version of this one, is never completed by mistake.
  static const std::string kByRowVersion = statement("t.ctid = input.row_version");
  static const std::string kByKey = statement("t.job_id = input.job_id AND t.step = input.step");
  auto rows = db.pg_exec(
      by_row_version ? kByRowVersion : kByKey,
      {pg_array(ids), pg_array(attempts), std::to_string(at), pg_array(art_item), pg_array(art_id),
       pg_array(art_seq), pg_array(art_name), pg_array(art_type), pg_array(art_size),
       pg_array(art_sha), pg_array(art_data), std::to_string(kWebhookMaxAttempts),
       pg_array(has_next), pg_array(job_ids), pg_array(steps),
       std::string(to_string(TaskStatus::kRunning)), pg_array(row_versions)});
  std::vector<std::string> applied;
  for (const auto& r : rows) {
    if (r[0] && !r[0]->empty()) applied.push_back(*r[0]);  // pg_notify's row is ''
  }
  return applied;
}

}  // namespace gen::jobstore
