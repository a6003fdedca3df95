#include "gen/core/queue/job_store.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include <Poco/Data/LOB.h>
#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>
#include <Poco/DigestEngine.h>
#include <Poco/SHA2Engine.h>

#include "gen/core/base/clock.hpp"
#include "gen/core/storage/database.hpp"
#include "storage/task_notify.hpp"
#include "gen/core/webhooks/webhooks.hpp"
#include "storage/record_values.hpp"
#include "storage/session.hpp"
#include "webhooks/job_events.hpp"

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Session;
using Poco::Data::Statement;

namespace gen {
namespace {

using rows::dbl;
using rows::i64;
using rows::opt_i64;
using rows::str;

std::string sha256_hex(const std::string& data) {
  Poco::SHA2Engine engine(Poco::SHA2Engine::SHA_256);
  engine.update(data.data(), data.size());
  return Poco::DigestEngine::digestToHex(engine.digest());
}

// Staged uploads untouched for this long are a crashed backend's leftovers.
constexpr std::int64_t kStaleUploadMs = 3600 * 1000;

void insert_chunk(const Database& db, Session& s, const std::string& blob_id, int seq,
                  std::int64_t offset, const char* data, std::size_t size) {
  std::string id = blob_id;
  int n = seq;
  Poco::Int64 at = offset;
  Poco::Data::BLOB blob(reinterpret_cast<const unsigned char*>(data), size);
  s << db.sql("INSERT INTO artifact_chunks (blob_id, seq, offset_bytes, data) VALUES (?, ?, ?, ?)"),
      use(id), use(n), use(at), use(blob), now;
}

// Deletes a blob's chunks and its staging row (a no-op for parts that do not exist).
void delete_blob(const Database& db, Session& s, const std::string& blob_id) {
  std::string id = blob_id;
  s << db.sql("DELETE FROM artifact_chunks WHERE blob_id = ?"), use(id), now;
  s << db.sql("DELETE FROM uploads WHERE id = ?"), use(id), now;
}

// One artifacts row: `inline_data` holds the bytes, or `blob_id` names their chunks.
void insert_artifact_row(const Database& db, Session& s, const std::string& job_id, int step,
                         int seq, const std::string& name, const std::string& media_type,
                         std::int64_t size_bytes, const std::string& sha256,
                         std::string_view inline_data, const std::string& blob_id) {
  std::string id = new_id();
  std::string job = job_id;
  std::string n = name;
  std::string mt = media_type;
  Poco::Int64 size = size_bytes;
  std::string digest = sha256;
  Poco::Nullable<std::string> blob_ref;
  if (!blob_id.empty()) blob_ref = blob_id;
  Poco::Int64 at = now_ms();
  if (inline_data.empty()) {
    // Poco binds an empty BLOB as NULL: spell the empty value out.
    std::string empty = db.dialect() == Dialect::kSqlite ? "X''" : "''::bytea";
    s << db.sql(
        "INSERT INTO artifacts (id, job_id, step, seq, name, media_type, size_bytes, sha256,"
        " data, blob_id, created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, " +
        empty + ", ?, ?)"),
        use(id), use(job), use(step), use(seq), use(n), use(mt), use(size), use(digest),
        use(blob_ref), use(at), now;
    return;
  }
  Poco::Data::BLOB blob(reinterpret_cast<const unsigned char*>(inline_data.data()),
                        inline_data.size());
  s << db.sql(
      "INSERT INTO artifacts (id, job_id, step, seq, name, media_type, size_bytes, sha256, data,"
      " blob_id, created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
      use(id), use(job), use(step), use(seq), use(n), use(mt), use(size), use(digest), use(blob),
      use(blob_ref), use(at), now;
}

// Stores `data` (in the caller's transaction) as chunks, so that downloads can stream it, when it
// is larger than one chunk and returns their blob id; "" when it is small enough to be stored
// inline in its artifact row.
std::string insert_chunks(const Database& db, Session& s, const std::string& data) {
  if (data.size() <= BlobWriter::kChunkBytes) return {};
  std::string blob_id = new_id();
  int n = 0;
  for (std::size_t off = 0; off < data.size(); off += BlobWriter::kChunkBytes) {
    insert_chunk(db, s, blob_id, n++, static_cast<std::int64_t>(off), data.data() + off,
                 std::min(BlobWriter::kChunkBytes, data.size() - off));
  }
  return blob_id;
}

// The artifact row of `data`, whose chunks (if any) insert_chunks() stored as `blob_id`.
void insert_artifact(const Database& db, Session& s, const std::string& job_id, int step, int seq,
                     const std::string& name, const std::string& media_type,
                     const std::string& data, const std::string& blob_id) {
  insert_artifact_row(db, s, job_id, step, seq, name, media_type,
                      static_cast<std::int64_t>(data.size()), sha256_hex(data),
                      blob_id.empty() ? std::string_view(data) : std::string_view(), blob_id);
}

void insert_artifact(const Database& db, Session& s, const std::string& job_id, int step, int seq,
                     const std::string& name, const std::string& media_type,
                     const std::string& data) {
  insert_artifact(db, s, job_id, step, seq, name, media_type, data, insert_chunks(db, s, data));
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

const char* kArtifactColumns = "id, name, media_type, size_bytes, sha256, step, created_at_ms";

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
    "EXISTS (SELECT 1 FROM tasks rt WHERE rt.job_id = jobs.id AND rt.state = 'RUNNING')";
const std::string kJobStartedAt =
    "COALESCE(started_at_ms, (SELECT MIN(rt.started_at_ms) FROM tasks rt WHERE"
    " rt.job_id = jobs.id AND rt.state = 'RUNNING'))";
const std::string kJobColumns = "id, tenant, CASE WHEN status = 'QUEUED' AND " + kJobRunningNow +
                                " THEN 'RUNNING' ELSE status END, priority, step_count, error,"
                                " error_code, created_at_ms, updated_at_ms, " +
                                kJobStartedAt + ", finished_at_ms";

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
  // Derived RUNNING (see kJobColumns): the claim changed the job, though not its row.
  if (j.started_at_ms && *j.started_at_ms > j.updated_at_ms) j.updated_at_ms = *j.started_at_ms;
  return j;
}

// "?, ?, ?" with n placeholders.
std::string placeholders(std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += i ? ", ?" : "?";
  return out;
}

// A running task from "SELECT id, job_id, step, generator, attempt, max_attempts ...".
ClaimedTask held_task(const RecordSet& rs, std::size_t r) {
  ClaimedTask t;
  t.task_id = str(rs, 0, r);
  t.job_id = str(rs, 1, r);
  t.step = static_cast<int>(i64(rs, 2, r));
  t.generator = str(rs, 3, r);
  t.attempt = static_cast<int>(i64(rs, 4, r));
  t.max_attempts = static_cast<int>(i64(rs, 5, r));
  return t;
}

}  // namespace

std::int64_t JobStore::backoff_ms(int next_attempt) {
  int exponent = std::clamp(next_attempt - 2, 0, 20);
  double base = std::min(1000.0 * std::pow(2.0, exponent), 300000.0);
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> jitter(0.75, 1.25);
  return static_cast<std::int64_t>(base * jitter(rng));
}

namespace {

// Inserts the job unless its idempotency key is taken; returns whether it was created
// (`job_id` is then the existing job's id) and whether a task is runnable now.
bool insert_job(const Database& db, Session& s, const JobSpec& spec, std::string& job_id,
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
  std::string status = "QUEUED";
  int priority = spec.priority;
  int step_count = static_cast<int>(spec.steps.size());
  Poco::Nullable<std::string> key;
  if (!spec.idempotency_key.empty()) key = spec.idempotency_key;
  s << db.sql(
      "INSERT INTO jobs (id, tenant, status, priority, step_count, created_at_ms,"
      " updated_at_ms, idempotency_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
      use(id), use(tenant), use(status), use(priority), use(step_count), use(at), use(at), use(key),
      now;
  for (int i = 0; i < step_count; ++i) {
    const StepSpec& step = spec.steps[static_cast<std::size_t>(i)];
    std::string task_id = new_id();
    std::string generator = step.generator;
    std::string params = step.params.dump();
    std::string state = i == 0 ? "QUEUED" : "PENDING";
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
  return true;
}

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
      task_state.push_back(n == 0 ? "QUEUED" : "PENDING");
      task_priority.push_back(std::to_string(spec.priority));
      task_max_attempts.push_back(std::to_string(std::max(1, step.max_attempts)));
      task_timeout.push_back(std::to_string(step.timeout_ms));
      task_run_after.push_back(std::to_string(run_after));
    }
  }
  static const std::string kSubmit =
      "WITH j AS (INSERT INTO jobs (id, tenant, status, priority, step_count, created_at_ms,"
      " updated_at_ms) SELECT id, tenant, 'QUEUED', priority, steps, $15, $15 FROM"
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
        return spec.idempotency_key.empty() && spec.inputs.empty();
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

namespace {
std::vector<ArtifactMeta> artifacts_of(const Database& db, Session& s, const std::string& job_id,
                                       bool all);
}  // namespace

std::optional<JobView> JobStore::get_job(const std::string& id) {
  Session s = db_.session();
  std::string job_id = id;
  Statement js(s);
  js << "SELECT " << kJobColumns << db_.sql(" FROM jobs WHERE id = ?"), use(job_id);
  js.execute();
  RecordSet jr(js);
  if (jr.rowCount() == 0) return std::nullopt;
  JobView job = job_view(jr, 0);

  Statement ts(s);
  ts << db_.sql(
      "SELECT id, step, generator, state, attempt, max_attempts, progress, error, error_code,"
      " created_at_ms, queued_at_ms, started_at_ms, finished_at_ms, COALESCE(lease_owner, '')"
      " FROM tasks WHERE job_id = ? ORDER BY step"),
      use(job_id);
  ts.execute();
  RecordSet tr(ts);
  std::vector<std::string> owners;  // per task: the lease owner of a running attempt
  for (std::size_t r = 0; r < tr.rowCount(); ++r) {
    TaskView t;
    t.id = str(tr, 0, r);
    t.step = static_cast<int>(i64(tr, 1, r));
    t.generator = str(tr, 2, r);
    t.state = str(tr, 3, r);
    t.attempt = static_cast<int>(i64(tr, 4, r));
    t.max_attempts = static_cast<int>(i64(tr, 5, r));
    t.progress = dbl(tr, 6, r);
    t.error = str(tr, 7, r);
    t.error_code = str(tr, 8, r);
    t.created_at_ms = i64(tr, 9, r);
    t.queued_at_ms = opt_i64(tr, 10, r);
    t.started_at_ms = opt_i64(tr, 11, r);
    t.finished_at_ms = opt_i64(tr, 12, r);
    owners.push_back(str(tr, 13, r));
    job.tasks.push_back(std::move(t));
  }

  Statement as(s);
  as << db_.sql(
      "SELECT a.task_id, a.attempt, a.worker, a.started_at_ms, a.finished_at_ms, a.outcome,"
      " a.error, a.error_code FROM task_attempts a JOIN tasks t ON t.id = a.task_id"
      " WHERE t.job_id = ? ORDER BY a.attempt"),
      use(job_id);
  as.execute();
  RecordSet ar(as);
  for (std::size_t r = 0; r < ar.rowCount(); ++r) {
    std::string task_id = str(ar, 0, r);
    auto it = std::find_if(job.tasks.begin(), job.tasks.end(),
                           [&](const TaskView& t) { return t.id == task_id; });
    if (it == job.tasks.end()) continue;
    AttemptView a;
    a.attempt = static_cast<int>(i64(ar, 1, r));
    a.worker = str(ar, 2, r);
    a.started_at_ms = i64(ar, 3, r);
    a.finished_at_ms = opt_i64(ar, 4, r);
    a.outcome = str(ar, 5, r);
    a.error = str(ar, 6, r);
    a.error_code = str(ar, 7, r);
    it->attempts.push_back(std::move(a));
  }
  // A running attempt has no row yet (it is written when the run ends), and a completed one
  // never gets one: the task row holds it (attempt, lease owner, start and finish). A row an
  // older version inserted at the claim is completed from the task row too.
  for (std::size_t i = 0; i < job.tasks.size(); ++i) {
    TaskView& t = job.tasks[i];
    bool completed = t.state == "COMPLETED";
    if ((t.state != "RUNNING" && !completed) || !t.started_at_ms) continue;
    if (t.attempts.empty() || t.attempts.back().attempt != t.attempt) {
      AttemptView a;
      a.attempt = t.attempt;
      a.worker = owners[i];
      a.started_at_ms = *t.started_at_ms;
      t.attempts.push_back(std::move(a));
    }
    AttemptView& a = t.attempts.back();
    if (completed && a.outcome.empty()) {
      a.outcome = "COMPLETED";
      a.finished_at_ms = t.finished_at_ms;
    }
  }
  job.artifacts = artifacts_of(db_, s, id, false);  // same session: one per request
  return job;
}

JobPage JobStore::list_jobs(const std::string& status, int limit, const std::string& cursor,
                            const std::optional<std::string>& tenant) {
  limit = std::clamp(limit, 1, 1000);
  Poco::Int64 cursor_ms = 0;
  std::string cursor_id;
  if (!cursor.empty()) {
    auto sep = cursor.find('_');
    bool ok = sep != std::string::npos && sep > 0;
    if (ok) {
      try {
        std::size_t used = 0;
        cursor_ms = std::stoll(cursor.substr(0, sep), &used);
        ok = used == sep;
      } catch (const std::exception&) {
        ok = false;
      }
    }
    if (!ok) throw Error(ErrorCode::kValidationFailed, "malformed cursor", "cursor");
    cursor_id = cursor.substr(sep + 1);
  }
  std::string sql = std::string("SELECT ") + kJobColumns + " FROM jobs WHERE 1 = 1";
  if (tenant) sql += " AND tenant = ?";
  // The stored status, except that QUEUED rows split into QUEUED and (derived) RUNNING.
  if (status == "RUNNING") {
    sql +=
        " AND status IN ('QUEUED', 'RUNNING') AND (status = 'RUNNING' OR " + kJobRunningNow + ")";
  } else if (status == "QUEUED") {
    sql += " AND status = 'QUEUED' AND NOT " + kJobRunningNow;
  } else if (!status.empty()) {
    sql += " AND status = ?";
  }
  if (!cursor.empty()) sql += " AND (created_at_ms < ? OR (created_at_ms = ? AND id < ?))";
  sql += " ORDER BY created_at_ms DESC, id DESC LIMIT ?";
  Session s = db_.session();
  Statement st(s);
  st << db_.sql(sql);
  std::string tenant_v = tenant.value_or("");
  std::string status_v = status;
  if (tenant) st, use(tenant_v);
  if (!status.empty() && status != "RUNNING" && status != "QUEUED") st, use(status_v);
  if (!cursor.empty()) st, use(cursor_ms), use(cursor_ms), use(cursor_id);
  int fetch = limit + 1;
  st, use(fetch);
  st.execute();
  RecordSet rs(st);
  JobPage page;
  for (std::size_t r = 0; r < rs.rowCount() && r < static_cast<std::size_t>(limit); ++r) {
    page.jobs.push_back(job_view(rs, r));
  }
  if (rs.rowCount() > static_cast<std::size_t>(limit)) {
    const JobView& last = page.jobs.back();
    page.next = std::to_string(last.created_at_ms) + "_" + last.id;
  }
  return page;
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
    s << db_.sql(
        "UPDATE jobs SET status = 'CANCELLED', updated_at_ms = ?, finished_at_ms = ?,"
        " error = ?, error_code = ?, started_at_ms = " +
        kJobStartedAt + " WHERE id = ?"),
        use(at), use(at), use(message), use(code), use(job_id), now;
    s << db_.sql(
        "UPDATE tasks SET state = 'CANCELLED', finished_at_ms = ? WHERE job_id = ?"
        " AND state IN ('PENDING', 'QUEUED')"),
        use(at), use(job_id), now;
    // Running tasks are marked so the holder's next heartbeat signals them; their later
    // completion is refused because the task is no longer RUNNING. Their runs end here.
    std::string cancelled_outcome = "CANCELLED";
    Poco::Nullable<std::string> no_error;
    s << db_.sql(end_attempt_sql("job_id = ? AND state = 'RUNNING'")), use(at), use(at),
        use(cancelled_outcome), use(no_error), use(no_error), use(job_id), now;
    s << db_.sql(
        "UPDATE tasks SET state = 'CANCELLED', finished_at_ms = ?, cancel_requested = 1"
        " WHERE job_id = ? AND state = 'RUNNING'"),
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

namespace {

std::vector<ArtifactMeta> artifacts_of(const Database& db, Session& s, const std::string& job_id,
                                       bool all) {
  std::string id = job_id;
  Statement st(s);
  if (all) {
    st << "SELECT " << kArtifactColumns
       << db.sql(" FROM artifacts WHERE job_id = ? ORDER BY step, seq"),
        use(id);
  } else {
    st << "SELECT " << kArtifactColumns
       << db.sql(
              " FROM artifacts WHERE job_id = ? AND step = (SELECT step_count - 1 FROM jobs WHERE"
              " id = ?) ORDER BY seq"),
        use(id), use(id);
  }
  st.execute();
  RecordSet rs(st);
  std::vector<ArtifactMeta> out;
  for (std::size_t r = 0; r < rs.rowCount(); ++r) out.push_back(artifact_meta(rs, r));
  return out;
}

}  // namespace

std::vector<ArtifactMeta> JobStore::list_artifacts(const std::string& job_id, bool all) {
  Session s = db_.session();
  return artifacts_of(db_, s, job_id, all);
}

std::optional<ArtifactMeta> JobStore::find_artifact(const std::string& job_id,
                                                    const std::string& name) {
  Session s = db_.session();
  std::string id = job_id;
  std::string n = name;
  Statement st(s);
  st << "SELECT " << kArtifactColumns
     << db_.sql(" FROM artifacts WHERE job_id = ? AND name = ? ORDER BY step DESC LIMIT 1"),
      use(id), use(n);
  st.execute();
  RecordSet rs(st);
  if (rs.rowCount() == 0) return std::nullopt;
  return artifact_meta(rs, 0);
}

std::optional<Artifact> JobStore::read_artifact(const std::string& job_id,
                                                const std::string& name) {
  auto meta = find_artifact(job_id, name);
  if (!meta) return std::nullopt;
  Artifact a;
  a.meta = std::move(*meta);
  a.data.reserve(static_cast<std::size_t>(a.meta.size_bytes));
  read_artifact_bytes(a.meta, 0, a.meta.size_bytes,
                      [&](const char* data, std::size_t size) { a.data.append(data, size); });
  return a;
}

void JobStore::read_artifact_bytes(const ArtifactMeta& artifact, std::int64_t offset,
                                   std::int64_t length,
                                   const std::function<void(const char*, std::size_t)>& sink) {
  auto gone = [&] {
    return Error(ErrorCode::kNotFound, "artifact '" + artifact.name + "' was deleted", "name");
  };
  length = std::min(length, artifact.size_bytes - offset);  // never past the end
  std::string blob_id;
  {
    Session s = db_.session();
    std::string id = artifact.id;
    std::vector<std::string> blob_ids;
    std::vector<Poco::Data::BLOB> data;
    s << db_.sql("SELECT COALESCE(blob_id, ''), data FROM artifacts WHERE id = ?"), use(id),
        into(blob_ids), into(data), now;
    if (blob_ids.empty()) throw gone();
    blob_id = blob_ids.front();
    if (blob_id.empty()) {  // inline
      const auto& bytes = data.front();
      std::int64_t size = static_cast<std::int64_t>(bytes.size());
      if (offset < size && length > 0) {
        sink(reinterpret_cast<const char*>(bytes.rawContent()) + offset,
             static_cast<std::size_t>(std::min(length, size - offset)));
      }
      return;
    }
  }
  if (length <= 0) return;
  // The chunk holding `offset`, then the following ones: one chunk in memory at a time.
  std::vector<int> first;
  {
    Session s = db_.session();
    Poco::Int64 from = offset;
    s << db_.sql(
        "SELECT seq FROM artifact_chunks WHERE blob_id = ? AND offset_bytes <= ?"
        " ORDER BY seq DESC LIMIT 1"),
        use(blob_id), use(from), into(first), now;
  }
  if (first.empty()) throw gone();
  std::int64_t remaining = length;
  for (int seq = first.front(); remaining > 0; ++seq) {
    std::vector<Poco::Int64> offsets;
    std::vector<Poco::Data::BLOB> chunk;
    {
      Session s = db_.session();
      s << db_.sql("SELECT offset_bytes, data FROM artifact_chunks WHERE blob_id = ? AND seq = ?"),
          use(blob_id), use(seq), into(offsets), into(chunk), now;
    }
    if (offsets.empty()) throw gone();
    const auto& bytes = chunk.front();
    std::int64_t size = static_cast<std::int64_t>(bytes.size());
    std::int64_t skip = std::max<std::int64_t>(0, offset - offsets.front());
    if (skip >= size) throw gone();
    std::int64_t n = std::min(remaining, size - skip);
    sink(reinterpret_cast<const char*>(bytes.rawContent()) + skip, static_cast<std::size_t>(n));
    remaining -= n;
    offset += n;
  }
}

namespace {

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
      "WITH picked AS (SELECT ctid FROM tasks WHERE state = 'QUEUED' AND run_after_ms <= $3"
      " ORDER BY priority DESC, run_after_ms, id LIMIT $4 FOR UPDATE SKIP LOCKED),"
      " claimed AS (UPDATE tasks t SET state = 'RUNNING', attempt = t.attempt + 1,"
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
  auto text = [](const std::optional<std::string>& v) { return v.value_or(std::string()); };
  auto number = [](const std::optional<std::string>& v) -> std::int64_t {
    return v ? std::stoll(*v) : 0;
  };
  for (const auto& r : rows) {
    ClaimedTask t;
    t.task_id = text(r[0]);
    t.job_id = text(r[1]);
    t.step = static_cast<int>(number(r[2]));
    t.generator = text(r[3]);
    t.params = nlohmann::json::parse(text(r[4]), nullptr, false);
    t.attempt = static_cast<int>(number(r[5]));
    t.max_attempts = static_cast<int>(number(r[6]));
    t.timeout_ms = number(r[7]);
    t.queued_at_ms = number(r[8]);
    t.tenant = text(r[9]);
    t.has_inputs = text(r[10]) == "t";
    t.step_count = static_cast<int>(number(r[11]));
    t.row_version = text(r[12]);
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
        " done AS (UPDATE tasks t SET state = 'COMPLETED', progress = 1, finished_at_ms = $3,"
        " lease_expires_at_ms = NULL, error = NULL, error_code = NULL FROM input WHERE ";
    sql += find_task;
    sql +=
        " AND t.id = input.id AND"
        // The state as a parameter ($16 = 'RUNNING'), not a literal: the generic plan then
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
        " queued AS (UPDATE tasks t SET state = 'QUEUED', queued_at_ms = $3, run_after_ms = $3"
        " FROM done WHERE done.has_next AND t.state = 'PENDING' AND t.job_id ="
        " done.job_id AND t.step = done.step + 1 RETURNING t.id),"
        " ended AS (UPDATE jobs j SET updated_at_ms = $3, status = CASE WHEN done.step ="
        " j.step_count - 1 AND j.status IN ('QUEUED', 'RUNNING') THEN 'COMPLETED' WHEN"
        " j.status = 'QUEUED' THEN 'RUNNING' ELSE j.status END, started_at_ms ="
        " COALESCE(j.started_at_ms, done.started_at_ms, $3), finished_at_ms = CASE WHEN"
        " done.step = j.step_count - 1 AND j.status IN ('QUEUED', 'RUNNING') THEN $3 ELSE"
        " j.finished_at_ms END FROM done WHERE j.id ="
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
       pg_array(has_next), pg_array(job_ids), pg_array(steps), "RUNNING", pg_array(row_versions)});
  std::vector<std::string> applied;
  for (const auto& r : rows) {
    if (r[0] && !r[0]->empty()) applied.push_back(*r[0]);  // pg_notify's row is ''
  }
  return applied;
}

}  // namespace

bool is_final(const std::string& status) {
  return status == "COMPLETED" || status == "FAILED" || status == "CANCELLED";
}

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
    st << db_.sql(
        "UPDATE tasks SET state = 'RUNNING', attempt = attempt + 1, lease_owner = ?,"
        // (cancel_requested is never set on a runnable task: cancelling ends the task.)
        " lease_expires_at_ms = ?, started_at_ms = ?, progress = 0 WHERE id IN (SELECT id"
        " FROM tasks WHERE state = 'QUEUED' AND run_after_ms <= ? ORDER BY priority DESC, "
        "run_after_ms, id LIMIT ?" +
        lock +
        ") RETURNING id, job_id, step, generator, params, attempt, max_attempts,"
        " timeout_ms, CASE WHEN run_after_ms > queued_at_ms THEN run_after_ms ELSE"
        " queued_at_ms END"),
        use(owner), use(expires), use(at), use(at), use(limit);
    st.execute();
    RecordSet rs(st);
    for (std::size_t r = 0; r < rs.rowCount(); ++r) {
      ClaimedTask t;
      t.task_id = str(rs, 0, r);
      t.job_id = str(rs, 1, r);
      t.step = static_cast<int>(i64(rs, 2, r));
      t.generator = str(rs, 3, r);
      t.params = nlohmann::json::parse(str(rs, 4, r), nullptr, false);
      t.attempt = static_cast<int>(i64(rs, 5, r));
      t.max_attempts = static_cast<int>(i64(rs, 6, r));
      t.timeout_ms = i64(rs, 7, r);
      t.queued_at_ms = i64(rs, 8, r);
      claimed.push_back(std::move(t));
    }
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

std::vector<Artifact> JobStore::load_inputs(const ClaimedTask& task) {
  std::string job_id = task.job_id;
  int step = task.step - 1;
  std::vector<std::string> ids, names, media_types, digests, blob_ids;
  std::vector<Poco::Int64> sizes, created;
  std::vector<Poco::Data::BLOB> blobs;
  {
    Session s = db_.session();
    s << db_.sql(
        "SELECT id, name, media_type, sha256, size_bytes, created_at_ms, data,"
        " COALESCE(blob_id, '') FROM artifacts WHERE job_id = ? AND step = ? ORDER BY seq"),
        use(job_id), use(step), into(ids), into(names), into(media_types), into(digests),
        into(sizes), into(created), into(blobs), into(blob_ids), now;
  }
  std::vector<Artifact> out(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    out[i].meta = {ids[i], names[i], media_types[i], sizes[i], digests[i], step, created[i]};
    if (blob_ids[i].empty()) {
      out[i].data.assign(reinterpret_cast<const char*>(blobs[i].rawContent()), blobs[i].size());
    } else {  // chunked: the SDK hands plugins whole buffers
      out[i].data.reserve(static_cast<std::size_t>(sizes[i]));
      read_artifact_bytes(out[i].meta, 0, sizes[i], [&](const char* data, std::size_t size) {
        out[i].data.append(data, size);
      });
    }
  }
  return out;
}

WriteResult JobStore::complete(const ClaimedTask& task, const std::vector<OutputFile>& outputs) {
  return complete_many({Completion{task, outputs}}).front();
}

std::vector<WriteResult> JobStore::complete_many(const std::vector<Completion>& items) {
  std::vector<WriteResult> results(items.size(), WriteResult::kStale);
  if (items.empty()) return results;
  if (db_.dialect() == Dialect::kPostgres &&
      std::all_of(items.begin(), items.end(), [](const Completion& c) {
        return std::all_of(c.outputs.begin(), c.outputs.end(), [](const OutputFile& o) {
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
        ") UPDATE tasks SET state = 'COMPLETED', progress = 1, finished_at_ms = ?,"
        " lease_expires_at_ms = NULL, error = NULL, error_code = NULL FROM v WHERE"
        " tasks.job_id = v.job_id AND tasks.id = v.id AND tasks.state = 'RUNNING' AND"
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
                      ") UPDATE tasks SET state = 'QUEUED', queued_at_ms = ?, run_after_ms = ?"
                      " FROM v WHERE tasks.job_id = v.job_id AND tasks.step = v.step AND"
                      " tasks.state = 'PENDING' RETURNING tasks.id");
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
        in +
        ")) AND status IN ('QUEUED', 'RUNNING') THEN 'COMPLETED' WHEN status = 'QUEUED' THEN"
        " 'RUNNING' ELSE status END, started_at_ms = COALESCE(started_at_ms, (SELECT"
        " MIN(t.started_at_ms) FROM tasks t WHERE t.job_id = jobs.id AND t.id IN (" +
        in +
        ")), ?), finished_at_ms = CASE WHEN EXISTS (SELECT 1 FROM tasks t"
        " WHERE t.job_id = jobs.id AND t.step = jobs.step_count - 1 AND t.id IN (" +
        in +
        ")) AND status IN ('QUEUED', 'RUNNING') THEN ? ELSE finished_at_ms END"
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

int JobStore::prune_stale_uploads(std::int64_t idle_before_ms, int limit) {
  std::vector<std::string> ids;
  {
    Session s = db_.session();
    Poco::Int64 before = idle_before_ms;
    int n = limit;
    s << db_.sql("SELECT id FROM uploads WHERE updated_at_ms < ? ORDER BY updated_at_ms LIMIT ?"),
        use(before), use(n), into(ids), now;
  }
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
        " step = ? AND id = ? AND attempt = ? AND state = 'RUNNING'"),
        use(at), use(job_id), use(step), use(task_id), use(attempt), into(max_attempts),
        into(started), now;
    if (max_attempts.empty()) return;
    // The first run of a job that ends writes its row (the claim did not; see kJobColumns).
    s << db_.sql(
        "UPDATE jobs SET status = 'RUNNING', started_at_ms = COALESCE(started_at_ms, ?),"
        " updated_at_ms = ? WHERE id = ? AND status = 'QUEUED'"),
        use(started.front()), use(at), use(job_id), now;
    std::string msg = message;
    std::string code_str(code_name(code));
    bool retry = !permanent && attempt < max_attempts.front();
    std::string outcome = retry ? "RETRY" : "FAILED";
    s << db_.sql(end_attempt_sql("job_id = ? AND step = ? AND id = ? AND attempt = ?")), use(at),
        use(at), use(outcome), use(msg), use(code_str), use(job_id), use(step), use(task_id),
        use(attempt), now;
    if (retry) {
      Poco::Int64 run_after = at + backoff_ms(attempt + 1);
      s << db_.sql(
          "UPDATE tasks SET state = 'QUEUED', run_after_ms = ?, queued_at_ms = ?,"
          " lease_owner = NULL, lease_expires_at_ms = NULL, error = ?, error_code = ?"
          " WHERE job_id = ? AND step = ? AND id = ? AND attempt = ?"),
          use(run_after), use(at), use(msg), use(code_str), use(job_id), use(step), use(task_id),
          use(attempt), now;
      result = FailResult::kRetrying;
      return;
    }
    s << db_.sql(
        "UPDATE tasks SET state = 'FAILED', finished_at_ms = ?, lease_owner = NULL,"
        " lease_expires_at_ms = NULL, error = ?, error_code = ? WHERE job_id = ? AND step = ?"
        " AND id = ? AND attempt = ?"),
        use(at), use(msg), use(code_str), use(job_id), use(step), use(task_id), use(attempt), now;
    s << db_.sql(
        "UPDATE tasks SET state = 'CANCELLED', finished_at_ms = ? WHERE job_id = ?"
        " AND state = 'PENDING'"),
        use(at), use(job_id), now;
    s << db_.sql(
        "UPDATE jobs SET status = 'FAILED', finished_at_ms = ?, updated_at_ms = ?, error = ?,"
        " error_code = ? WHERE id = ? AND status IN ('QUEUED', 'RUNNING')"),
        use(at), use(at), use(msg), use(code_str), use(job_id), now;
    enqueue_job_events(db_, s, {job_id});  // webhooks: the outbox, in this transaction
    result = FailResult::kFailed;
  });
  return result;
}

WriteResult JobStore::progress(const ClaimedTask& task, double fraction) {
  double p = std::clamp(fraction, 0.0, 1.0);
  Session s = db_.session();
  std::string task_id = task.task_id;
  std::string job_id = task.job_id;
  int step = task.step;
  int attempt = task.attempt;
  std::vector<std::string> updated;
  s << db_.sql(
      "UPDATE tasks SET progress = ? WHERE job_id = ? AND step = ? AND id = ? AND attempt = ?"
      " AND state = 'RUNNING' RETURNING id"),
      use(p), use(job_id), use(step), use(task_id), use(attempt), into(updated), now;
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
      s << db_.sql(
          "UPDATE tasks SET lease_expires_at_ms = ? WHERE lease_owner = ? AND state ="
          " 'RUNNING' AND ctid IN (SELECT ctid FROM tasks WHERE lease_owner = ? AND state ="
          " 'RUNNING' FOR UPDATE SKIP LOCKED)"),
          use(expires), use(owner), use(owner_again), now;
    } else {
      s << "UPDATE tasks SET lease_expires_at_ms = ? WHERE lease_owner = ? AND state = 'RUNNING'",
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
  Session s = db_.session();
  std::string owner = worker;
  Statement st(s);
  st << db_.sql(
      "SELECT id, job_id, step, generator, attempt, max_attempts FROM tasks"
      " WHERE lease_owner = ? AND state = 'RUNNING'"),
      use(owner);
  st.execute();
  RecordSet rs(st);
  for (std::size_t r = 0; r < rs.rowCount(); ++r) held.push_back(held_task(rs, r));
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
    s << db_.sql(
        "UPDATE tasks SET state = 'QUEUED', attempt = attempt - 1, lease_owner = NULL,"
        " lease_expires_at_ms = NULL, run_after_ms = ?, queued_at_ms = ?, progress = 0"
        " WHERE job_id = ? AND step = ? AND id = ? AND attempt = ? AND state = 'RUNNING'"
        " RETURNING id"),
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
  if (db_.dialect() == Dialect::kPostgres) {
    auto rows = db_.pg_exec(
        "SELECT id, job_id, step, generator, attempt, max_attempts, lease_owner FROM tasks"
        " WHERE state = 'RUNNING' AND lease_expires_at_ms < $1 LIMIT 100",
        {std::to_string(now_ms())});
    for (const auto& r : rows) {
      ClaimedTask t;
      t.task_id = r[0].value_or("");
      t.job_id = r[1].value_or("");
      t.step = std::stoi(r[2].value_or("0"));
      t.generator = r[3].value_or("");
      t.attempt = std::stoi(r[4].value_or("0"));
      t.max_attempts = std::stoi(r[5].value_or("0"));
      expired.push_back(std::move(t));
      owners.push_back(r[6].value_or(""));
    }
  } else {
    Session s = db_.session();
    Poco::Int64 at = now_ms();
    Statement st(s);
    st << db_.sql(
        "SELECT id, job_id, step, generator, attempt, max_attempts, lease_owner FROM tasks"
        " WHERE state = 'RUNNING' AND lease_expires_at_ms < ? LIMIT 100"),
        use(at);
    st.execute();
    RecordSet rs(st);
    for (std::size_t r = 0; r < rs.rowCount(); ++r) {
      expired.push_back(held_task(rs, r));
      owners.push_back(str(rs, 6, r));
    }
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

// --- BlobWriter ------------------------------------------------------------------------------

struct BlobWriter::Hasher {
  Poco::SHA2Engine engine{Poco::SHA2Engine::SHA_256};
};

BlobWriter::BlobWriter(Database& db, std::string tenant)
    : db_(db), tenant_(std::move(tenant)), hasher_(std::make_unique<Hasher>()) {}

BlobWriter::~BlobWriter() {
  try {
    discard();
  } catch (const std::exception&) {
    // left to prune_stale_uploads()
  }
}

void BlobWriter::write(const char* data, std::size_t size) {
  hasher_->engine.update(data, size);
  size_ += static_cast<std::int64_t>(size);
  while (size > 0) {
    // A full buffer is stored only once more bytes come: a file of one chunk stays inline.
    if (buffer_.size() == kChunkBytes) flush();
    if (buffer_.capacity() < kChunkBytes) buffer_.reserve(kChunkBytes);
    std::size_t take = std::min(size, kChunkBytes - buffer_.size());
    buffer_.append(data, take);
    data += take;
    size -= take;
  }
}

void BlobWriter::finish() {
  if (chunked() && !buffer_.empty()) flush();
  sha256_ = Poco::DigestEngine::digestToHex(hasher_->engine.digest());
}

void BlobWriter::flush() {
  bool first = blob_id_.empty();
  if (first) blob_id_ = new_id();
  db_.write_transaction([&](DbSession& s) {
    Poco::Int64 at = now_ms();
    std::string id = blob_id_;
    if (first) {
      std::string tenant = tenant_;
      s << db_.sql(
          "INSERT INTO uploads (id, tenant, created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?)"),
          use(id), use(tenant), use(at), use(at), now;
    } else {
      s << db_.sql("UPDATE uploads SET updated_at_ms = ? WHERE id = ?"), use(at), use(id), now;
    }
    insert_chunk(db_, s, blob_id_, seq_, stored_, buffer_.data(), buffer_.size());
  });
  ++seq_;
  stored_ += static_cast<std::int64_t>(buffer_.size());
  buffer_.clear();
  if (first) {
    // Each new upload clears a few a crashed backend left behind, so they go even where no
    // worker prunes (RETENTION__MAX_AGE_S=0). Idle for an hour: never a live upload.
    try {
      JobStore(db_).prune_stale_uploads(now_ms() - kStaleUploadMs, 10);
    } catch (const std::exception&) {
      // the next upload or prune_finished() tries again
    }
  }
}

void BlobWriter::discard() {
  if (released_ || blob_id_.empty()) return;
  released_ = true;
  db_.write_transaction([&](DbSession& s) { delete_blob(db_, s, blob_id_); });
}

}  // namespace gen
