// JobStore, reads: jobs, their artifacts and a task's inputs (see job_store.cpp for the
// map). Driver errors become gen::Error kDatabaseUnavailable (Database::read).
#include "gen/core/queue/job_store.hpp"

#include <algorithm>

#include <Poco/Data/LOB.h>
#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>

#include "queue/job_store_impl.hpp"
#include "storage/record_values.hpp"
#include "storage/session.hpp"

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Session;
using Poco::Data::Statement;

namespace gen {

using namespace jobstore;

namespace {

using rows::dbl;
using rows::i64;
using rows::opt_i64;
using rows::str;

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

std::optional<JobView> JobStore::get_job(const std::string& id) {
  std::optional<JobView> found;
  db_.read([&](DbSession& s) {
    std::string job_id = id;
    Statement js(s);
    js << "SELECT " << kJobColumns << db_.sql(" FROM jobs WHERE id = ?"), use(job_id);
    js.execute();
    RecordSet jr(js);
    if (jr.rowCount() == 0) return;
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
      std::optional<TaskStatus> state = parse_task_status(t.state);
      bool completed = state == TaskStatus::kCompleted;
      if ((state != TaskStatus::kRunning && !completed) || !t.started_at_ms) continue;
      if (t.attempts.empty() || t.attempts.back().attempt != t.attempt) {
        AttemptView a;
        a.attempt = t.attempt;
        a.worker = owners[i];
        a.started_at_ms = *t.started_at_ms;
        t.attempts.push_back(std::move(a));
      }
      AttemptView& a = t.attempts.back();
      if (completed && a.outcome.empty()) {
        a.outcome = to_string(TaskStatus::kCompleted);
        a.finished_at_ms = t.finished_at_ms;
      }
    }
    job.artifacts = artifacts_of(db_, s, id, false);  // same session: one per request
    found = std::move(job);
  });
  return found;
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
  const std::optional<JobStatus> wanted = parse_job_status(status);
  const bool derived = wanted == JobStatus::kRunning || wanted == JobStatus::kQueued;
  if (wanted == JobStatus::kRunning) {
    sql += " AND status IN " + kJobActive + " AND (status = " + sql_literal(JobStatus::kRunning) +
           " OR " + kJobRunningNow + ")";
  } else if (wanted == JobStatus::kQueued) {
    sql += " AND status = " + sql_literal(JobStatus::kQueued) + " AND NOT " + kJobRunningNow;
  } else if (!status.empty()) {
    sql += " AND status = ?";
  }
  if (!cursor.empty()) sql += " AND (created_at_ms < ? OR (created_at_ms = ? AND id < ?))";
  sql += " ORDER BY created_at_ms DESC, id DESC LIMIT ?";
  JobPage page;
  db_.read([&](DbSession& s) {
    Statement st(s);
    st << db_.sql(sql);
    std::string tenant_v = tenant.value_or("");
    std::string status_v = status;
    if (tenant) st, use(tenant_v);
    if (!status.empty() && !derived) st, use(status_v);
    if (!cursor.empty()) st, use(cursor_ms), use(cursor_ms), use(cursor_id);
    int fetch = limit + 1;
    st, use(fetch);
    st.execute();
    RecordSet rs(st);
    for (std::size_t r = 0; r < rs.rowCount() && r < static_cast<std::size_t>(limit); ++r) {
      page.jobs.push_back(job_view(rs, r));
    }
    if (rs.rowCount() > static_cast<std::size_t>(limit)) {
      const JobView& last = page.jobs.back();
      page.next = std::to_string(last.created_at_ms) + "_" + last.id;
    }
  });
  return page;
}

std::vector<ArtifactMeta> JobStore::list_artifacts(const std::string& job_id, bool all) {
  std::vector<ArtifactMeta> out;
  db_.read([&](DbSession& s) { out = artifacts_of(db_, s, job_id, all); });
  return out;
}

std::optional<ArtifactMeta> JobStore::find_artifact(const std::string& job_id,
                                                    const std::string& name) {
  std::optional<ArtifactMeta> found;
  db_.read([&](DbSession& s) {
    std::string id = job_id;
    std::string n = name;
    Statement st(s);
    st << "SELECT " << kArtifactColumns
       << db_.sql(" FROM artifacts WHERE job_id = ? AND name = ? ORDER BY step DESC LIMIT 1"),
        use(id), use(n);
    st.execute();
    RecordSet rs(st);
    if (rs.rowCount() > 0) found = artifact_meta(rs, 0);
  });
  return found;
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
    std::vector<std::string> blob_ids;
    std::vector<Poco::Data::BLOB> data;
    db_.read([&](DbSession& s) {
      std::string id = artifact.id;
      s << db_.sql("SELECT COALESCE(blob_id, ''), data FROM artifacts WHERE id = ?"), use(id),
          into(blob_ids), into(data), now;
    });
    // The sink runs outside read(): its own errors are not the database's.
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
  db_.read([&](DbSession& s) {
    Poco::Int64 from = offset;
    s << db_.sql(
        "SELECT seq FROM artifact_chunks WHERE blob_id = ? AND offset_bytes <= ?"
        " ORDER BY seq DESC LIMIT 1"),
        use(blob_id), use(from), into(first), now;
  });
  if (first.empty()) throw gone();
  std::int64_t remaining = length;
  for (int seq = first.front(); remaining > 0; ++seq) {
    std::vector<Poco::Int64> offsets;
    std::vector<Poco::Data::BLOB> chunk;
    db_.read([&](DbSession& s) {
      s << db_.sql("SELECT offset_bytes, data FROM artifact_chunks WHERE blob_id = ? AND seq = ?"),
          use(blob_id), use(seq), into(offsets), into(chunk), now;
    });
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

std::vector<Artifact> JobStore::load_inputs(const ClaimedTask& task) {
  std::string job_id = task.job_id;
  int step = task.step - 1;
  std::vector<std::string> ids, names, media_types, digests, blob_ids;
  std::vector<Poco::Int64> sizes, created;
  std::vector<Poco::Data::BLOB> blobs;
  db_.read([&](DbSession& s) {
    s << db_.sql(
        "SELECT id, name, media_type, sha256, size_bytes, created_at_ms, data,"
        " COALESCE(blob_id, '') FROM artifacts WHERE job_id = ? AND step = ? ORDER BY seq"),
        use(job_id), use(step), into(ids), into(names), into(media_types), into(digests),
        into(sizes), into(created), into(blobs), into(blob_ids), now;
  });
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

}  // namespace gen
