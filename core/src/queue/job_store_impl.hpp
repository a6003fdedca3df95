// What JobStore's files (job_store*.cpp; the map is at the top of job_store.cpp) share:
// the row mappings, SQL fragments, artifact storage and the PostgreSQL fast paths. Private
// to core/src/queue.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Session.h>

#include "gen/core/queue/job_store.hpp"
#include "gen/core/queue/states.hpp"
#include "gen/core/storage/database.hpp"

namespace gen::jobstore {

/// Staged uploads untouched for this long are a crashed backend's leftovers.
inline constexpr std::int64_t kStaleUploadMs = 3600 * 1000;

// --- SQL fragments and row mappings (job_store.cpp) ------------------------------------------

/// "('QUEUED', 'RUNNING')": the job states that are not final, for `status IN ...`.
extern const std::string kJobActive;

/// "?, ?, ?" with n placeholders.
std::string placeholders(std::size_t n);
std::string sha256_hex(const std::string& data);
/// Whether the job of `t` has a step after it (true when claim() did not say how many steps).
bool has_next_step(const ClaimedTask& t);
/// The attempt row of a run that ends other than completed, from its task row (worker and
/// start time), written when the run ends rather than at the claim. A row an older version
/// inserted at the claim is completed instead (ON CONFLICT). Parameters: finished_at_ms,
/// outcome, error, error_code, then the WHERE clause's; `where` selects the tasks (still
/// holding the run's attempt, lease owner and start time).
std::string end_attempt_sql(const std::string& where);

/// An artifact's metadata: SELECT kArtifactColumns, mapped by artifact_meta().
extern const char* const kArtifactColumns;
ArtifactMeta artifact_meta(const Poco::Data::RecordSet& rs, std::size_t row);

/// A job as clients see it: SELECT kJobColumns FROM jobs, mapped by job_view(). A job's row
/// is not written when its first task is claimed: until a run of it ends, a job whose row
/// says QUEUED is RUNNING exactly when one of its tasks is (kJobRunningNow), and started
/// when that task started (kJobStartedAt).
extern const std::string kJobRunningNow;
extern const std::string kJobStartedAt;
extern const std::string kJobColumns;
JobView job_view(const Poco::Data::RecordSet& rs, std::size_t row);

/// One result row, from Poco (a RecordSet) or from Database::pg_exec (text): task_row()
/// reads either.
class Row {
 public:
  Row(const Poco::Data::RecordSet& rs, std::size_t row) : rs_(&rs), row_(row) {}
  explicit Row(const Database::TextRow& row) : text_(&row) {}
  /// "" / 0 for NULL.
  std::string text(std::size_t col) const;
  std::int64_t number(std::size_t col) const;

 private:
  const Poco::Data::RecordSet* rs_ = nullptr;
  std::size_t row_ = 0;
  const Database::TextRow* text_ = nullptr;
};

/// The columns of a task row as a worker holds it, in the order task_row() reads them (the
/// last: since when the task was runnable). Claims return them first, then what they add.
inline constexpr const char* kTaskColumns =
    "id, job_id, step, generator, params, attempt, max_attempts, timeout_ms, CASE WHEN"
    " run_after_ms > queued_at_ms THEN run_after_ms ELSE queued_at_ms END";
/// THE mapping of a task row (kTaskColumns, columns 0-8) to a ClaimedTask.
ClaimedTask task_row(const Row& row);

// --- artifact storage (job_store_blobs.cpp) --------------------------------------------------

void insert_chunk(const Database& db, Poco::Data::Session& s, const std::string& blob_id, int seq,
                  std::int64_t offset, const char* data, std::size_t size);
/// Deletes a blob's chunks and its staging row (a no-op for parts that do not exist).
void delete_blob(const Database& db, Poco::Data::Session& s, const std::string& blob_id);
/// One artifacts row: `inline_data` holds the bytes, or `blob_id` names their chunks.
void insert_artifact_row(const Database& db, Poco::Data::Session& s, const std::string& job_id,
                         int step, int seq, const std::string& name, const std::string& media_type,
                         std::int64_t size_bytes, const std::string& sha256,
                         std::string_view inline_data, const std::string& blob_id);
/// Stores `data` (in the caller's transaction) as chunks, so that downloads can stream it,
/// when it is larger than one chunk and returns their blob id; "" when it is small enough to
/// be stored inline in its artifact row.
std::string insert_chunks(const Database& db, Poco::Data::Session& s, const std::string& data);
/// The artifact row of `data`, whose chunks (if any) insert_chunks() stored as `blob_id`.
void insert_artifact(const Database& db, Poco::Data::Session& s, const std::string& job_id,
                     int step, int seq, const std::string& name, const std::string& media_type,
                     const std::string& data, const std::string& blob_id);
/// The same, chunking `data` first when it is large.
void insert_artifact(const Database& db, Poco::Data::Session& s, const std::string& job_id,
                     int step, int seq, const std::string& name, const std::string& media_type,
                     const std::string& data);

// --- retention (job_store_retention.cpp) -----------------------------------------------------

/// Deletes the chunks of the artifacts of the jobs `ids`.
void delete_chunks_of_jobs(const Database& db, Poco::Data::Session& s,
                           std::vector<std::string>& ids);

// --- PostgreSQL fast paths (job_store_postgres.cpp) ------------------------------------------

/// Plain submissions (no idempotency key, no input files) as ONE statement.
std::vector<Submitted> submit_postgres(Database& db, const std::vector<JobSpec>& specs);
/// The whole claim as one statement.
std::vector<ClaimedTask> claim_postgres(Database& db, const std::string& worker, int max,
                                        std::int64_t lease_ms);
/// A batch of completions (outputs stored inline) as one statement; the applied task ids.
std::vector<std::string> complete_postgres(Database& db,
                                           const std::vector<const Completion*>& items,
                                           bool by_row_version);

}  // namespace gen::jobstore
