// JobStore, the task table's state machine, is one class over several files (qpdf-style):
//   job_store.cpp            shared pieces: the row mappings, SQL fragments, backoff
//   job_store_submit.cpp     the client's writes: submit, cancel, delete
//   job_store_reads.cpp      jobs, artifacts and a task's inputs, read
//   job_store_queue.cpp      the worker's side: claim, complete, fail, heartbeat, requeue, rescue
//   job_store_postgres.cpp   PostgreSQL fast paths: submit, claim and complete in one statement
//   job_store_blobs.cpp      artifact rows and chunks, and BlobWriter (streamed uploads)
//   job_store_retention.cpp  pruning finished jobs and stale uploads
// What the files share is declared in job_store_impl.hpp.
#include "gen/core/queue/job_store.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include <Poco/Data/RecordSet.h>
#include <Poco/DigestEngine.h>
#include <Poco/SHA2Engine.h>

#include "queue/job_store_impl.hpp"
#include "storage/record_values.hpp"

namespace gen {

using Poco::Data::RecordSet;

bool is_final(const std::string& status) {
  std::optional<JobStatus> parsed = parse_job_status(status);
  return parsed && is_final(*parsed);
}

std::int64_t JobStore::backoff_ms(int next_attempt) {
  int exponent = std::clamp(next_attempt - 2, 0, 20);
  double base = std::min(1000.0 * std::pow(2.0, exponent), 300000.0);
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> jitter(0.75, 1.25);
  return static_cast<std::int64_t>(base * jitter(rng));
}

namespace jobstore {

using rows::dbl;
using rows::i64;
using rows::opt_i64;
using rows::str;

std::string sha256_hex(const std::string& data) {
  Poco::SHA2Engine engine(Poco::SHA2Engine::SHA_256);
  engine.update(data.data(), data.size());
  return Poco::DigestEngine::digestToHex(engine.digest());
}

const std::string kJobActive =
    "(" + sql_literal(JobStatus::kQueued) + ", " + sql_literal(JobStatus::kRunning) + ")";

// "?, ?, ?" with n placeholders.
std::string placeholders(std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += i ? ", ?" : "?";
  return out;
}

// Whether the job of `t` has a step after it (true when claim() did not say how many steps).
bool has_next_step(const ClaimedTask& t) {
  return t.step_count <= 0 || t.step + 1 < t.step_count;
}

// How an ended run's row replaces one an older version inserted at the claim.
constexpr const char* kEndAttemptConflict =
    " ON CONFLICT (task_id, attempt) DO UPDATE SET finished_at_ms = excluded.finished_at_ms,"
    " outcome = excluded.outcome, error = excluded.error, error_code = excluded.error_code";

// The attempt row of a run that ends other than completed, from its task row (worker and
// start time), written when the run ends rather than at the claim. A row an older version
// inserted at the claim is completed instead (ON CONFLICT). Parameters: finished_at_ms,
// outcome, error, error_code, then the WHERE clause's; `where` selects the tasks (still
// holding the run's attempt, lease owner and start time).
std::string end_attempt_sql(const std::string& where) {
  return "INSERT INTO task_attempts (task_id, attempt, worker, started_at_ms, finished_at_ms,"
         " outcome, error, error_code) SELECT id, attempt, COALESCE(lease_owner, ''),"
         " COALESCE(started_at_ms, CAST(? AS BIGINT)), CAST(? AS BIGINT), ?, ?, ? FROM tasks "
         "WHERE " +
         where + kEndAttemptConflict;
}

const char* const kArtifactColumns =
    "id, name, media_type, size_bytes, sha256, step, created_at_ms";

ArtifactMeta artifact_meta(const RecordSet& rs, std::size_t row) {
  ArtifactMeta a;
  a.id = str(rs, 0, row);
  a.name = str(rs, 1, row);
  a.media_type = str(rs, 2, row);
  a.size_bytes = i64(rs, 3, row);
  a.sha256 = str(rs, 4, row);
  a.step = static_cast<int>(i64(rs, 5, row));
  a.created_at_ms = i64(rs, 6, row);
  return a;
}

// A job's row is not written when its first task is claimed (one row write per task less on
// the hot path): until a run of it ends, a job whose row says QUEUED is RUNNING exactly when
// one of its tasks is, and started when that task started. Every reader of jobs goes through
// these columns (FROM jobs, not aliased). The subqueries walk the (job_id, step) index.
const std::string kJobRunningNow =
    "EXISTS (SELECT 1 FROM tasks rt WHERE rt.job_id = jobs.id AND rt.state = " +
    sql_literal(TaskStatus::kRunning) + ")";
const std::string kJobStartedAt =
    "COALESCE(started_at_ms, (SELECT MIN(rt.started_at_ms) FROM tasks rt WHERE"
    " rt.job_id = jobs.id AND rt.state = " +
    sql_literal(TaskStatus::kRunning) + "))";
const std::string kJobColumns =
    "id, tenant, CASE WHEN status = " + sql_literal(JobStatus::kQueued) + " AND " + kJobRunningNow +
    " THEN " + sql_literal(JobStatus::kRunning) +
    " ELSE status END, priority, step_count, error,"
    " error_code, created_at_ms, updated_at_ms, " +
    kJobStartedAt + ", finished_at_ms, type";

JobView job_view(const RecordSet& rs, std::size_t row) {
  JobView j;
  j.id = str(rs, 0, row);
  j.tenant = str(rs, 1, row);
  j.status = str(rs, 2, row);
  j.priority = static_cast<int>(i64(rs, 3, row));
  j.step_count = static_cast<int>(i64(rs, 4, row));
  j.error = str(rs, 5, row);
  j.error_code = str(rs, 6, row);
  j.created_at_ms = i64(rs, 7, row);
  j.updated_at_ms = i64(rs, 8, row);
  j.started_at_ms = opt_i64(rs, 9, row);
  j.finished_at_ms = opt_i64(rs, 10, row);
  j.type = str(rs, 11, row);
  // Derived RUNNING (see kJobColumns): the claim changed the job, though not its row.
  if (j.started_at_ms && *j.started_at_ms > j.updated_at_ms) j.updated_at_ms = *j.started_at_ms;
  return j;
}

std::string Row::text(std::size_t col) const {
  if (rs_) return rows::str(*rs_, col, row_);
  return (*text_)[col].value_or(std::string());
}

std::int64_t Row::number(std::size_t col) const {
  if (rs_) return rows::i64(*rs_, col, row_);
  const auto& v = (*text_)[col];
  return v ? std::stoll(*v) : 0;
}

ClaimedTask task_row(const Row& row) {
  ClaimedTask t;
  t.task_id = row.text(0);
  t.job_id = row.text(1);
  t.step = static_cast<int>(row.number(2));
  t.generator = row.text(3);
  t.params = nlohmann::json::parse(row.text(4), nullptr, false);
  t.attempt = static_cast<int>(row.number(5));
  t.max_attempts = static_cast<int>(row.number(6));
  t.timeout_ms = row.number(7);
  t.queued_at_ms = row.number(8);
  return t;
}

}  // namespace jobstore
}  // namespace gen
