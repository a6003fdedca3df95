// Jobs, tasks and artifacts in the task table: the state machine both services share.
//
// Job:  QUEUED -> RUNNING -> COMPLETED | FAILED;  any non-final state -> CANCELLED.
// Task: PENDING (waits for the previous step) -> QUEUED -> RUNNING -> COMPLETED | FAILED,
//       RUNNING -> QUEUED again on a retryable failure or a rescue; CANCELLED with its job.
//
// A claim moves tasks to RUNNING under a lease (owner + expiry) and increments `attempt`.
// Every later write about that run (complete, fail, heartbeat) names the attempt it belongs
// to and is refused when the task moved on: a stale worker can never overwrite newer state.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gen/core/base/errors.hpp"

namespace gen {

class Database;
class DbSession;

struct InputFile {
  std::string name;
  std::string media_type;
  std::string data;
  /// Set instead of `data` for a file streamed to storage by a BlobWriter: the submission
  /// links that blob (with its size and digest) to the job.
  std::string blob_id;
  std::int64_t blob_size = 0;
  std::string blob_sha256;
};

struct StepSpec {
  std::string generator;
  nlohmann::json params = nlohmann::json::object();  ///< validated, defaults filled
  int max_attempts = 3;
  std::int64_t timeout_ms = 300000;
};

/// The type of a job whose steps the client chose (JobSpec::type).
inline constexpr const char* kGenerationJobType = "GENERATION";

struct JobSpec {
  std::vector<StepSpec> steps;
  std::vector<InputFile> inputs;
  int priority = 0;
  std::string tenant;
  /// Not before this time (ms since the epoch); 0: now. Delayed jobs stay QUEUED until then.
  std::int64_t run_after_ms = 0;
  /// When set, submitting again with the same key (per tenant) returns the existing job.
  std::string idempotency_key;
  /// What the job is for, shown to clients: "GENERATION" (steps the client chose),
  /// "CONTENT_IMPORT", "CONTENT_FIELD_GENERATION" (gen::content::Library).
  std::string type = kGenerationJobType;
  /// Runs inside the submission's write transaction, after the job's rows are written (not
  /// for a repeat of an idempotency key), with the new job's id: for rows that must exist
  /// exactly when the job does (a content version). Throwing refuses the whole submission.
  std::function<void(DbSession&, const std::string& job_id)> in_transaction;
};

struct Submitted {
  std::string id;
  bool created = true;  ///< false: an existing job with the same idempotency key
};

struct AttemptView {
  int attempt = 0;
  std::string worker;
  std::int64_t started_at_ms = 0;
  std::optional<std::int64_t> finished_at_ms;
  std::string outcome;  ///< "", "COMPLETED", "RETRY", "FAILED", "STALE"
  std::string error;
  std::string error_code;
};

struct TaskView {
  std::string id;
  int step = 0;
  std::string generator;
  std::string state;
  int attempt = 0;
  int max_attempts = 0;
  double progress = 0;
  std::string error;
  std::string error_code;
  std::int64_t created_at_ms = 0;
  std::optional<std::int64_t> queued_at_ms, started_at_ms, finished_at_ms;
  std::vector<AttemptView> attempts;
};

struct ArtifactMeta {
  std::string id;
  std::string name;
  std::string media_type;
  std::int64_t size_bytes = 0;
  std::string sha256;
  int step = 0;  ///< -1: a job input
  std::int64_t created_at_ms = 0;
};

struct Artifact {
  ArtifactMeta meta;
  std::string data;
};

/// COMPLETED, FAILED or CANCELLED: a job or task in this state never changes again.
bool is_final(const std::string& status);

struct JobView {
  std::string id;
  std::string tenant;
  std::string type;  ///< JobSpec::type
  std::string status;
  int priority = 0;
  int step_count = 0;
  std::string error;
  std::string error_code;
  std::int64_t created_at_ms = 0, updated_at_ms = 0;
  std::optional<std::int64_t> started_at_ms, finished_at_ms;
  std::vector<TaskView> tasks;          ///< filled by get_job()
  std::vector<ArtifactMeta> artifacts;  ///< the final step's outputs; filled by get_job()
};

struct JobPage {
  std::vector<JobView> jobs;  ///< without tasks and artifacts
  std::string next;           ///< cursor for the next page; empty at the end
};

struct ClaimedTask {
  std::string task_id;
  std::string job_id;
  int step = 0;
  std::string generator;
  nlohmann::json params;
  int attempt = 0;
  int max_attempts = 0;
  std::int64_t timeout_ms = 0;
  /// Set by `claim()`: whether the task has input artifacts at all (when false, there is
  /// nothing for `load_inputs()` to fetch).
  bool has_inputs = true;
  /// Since when the task was runnable (ms since the epoch): its queue wait ends at the claim.
  std::int64_t queued_at_ms = 0;
  /// The job's tenant, for logs and tenant-scoped settings.
  std::string tenant;
  /// Set by `claim()`: the job's number of steps (0: unknown). A completion of the last step
  /// does not look for a next one.
  int step_count = 0;
  /// Set by `claim()` on PostgreSQL: where the claim left the task's row (its ctid). The
  /// completion looks there first, without an index lookup; a row that has moved since (a
  /// lease renewal, a progress write) is found by (job_id, step) instead. Empty: unknown.
  std::string row_version;
};

struct OutputFile {
  std::string name;
  std::string media_type;
  std::string data;
};

enum class WriteResult : int {
  kApplied = 1,  ///< the write took effect
  kStale = 2,    ///< refused: the task moved on (another attempt, cancelled, deleted)
};

enum class FailResult : int { kRetrying = 1, kFailed = 2, kStale = 3 };

/// One finished run and what it produced, for `JobStore::complete_many`.
struct Completion {
  ClaimedTask task;
  std::vector<OutputFile> outputs;
};

/// Takes typed outputs into core's own tables in the transaction that completes their task,
/// after its fence passed (a stale attempt ingests nothing). Set on the JobStore of the
/// process that completes tasks (the worker): gen::content::LibraryIngest.
class ArtifactIngest {
 public:
  virtual ~ArtifactIngest() = default;
  /// Whether outputs of this media type go to ingest(). Cheap; called for every output.
  virtual bool wants(const std::string& media_type) const = 0;
  /// Called for each wanted output of an applied completion, in the completing transaction.
  /// Must not throw for bad content (record the problem instead): throwing rolls back the
  /// whole batch of completions, which are then retried.
  virtual void ingest(Database& db, DbSession& s, const ClaimedTask& task,
                      const OutputFile& output) = 0;
};

/// Streams one file into the database in chunks of kChunkBytes, each stored in its own short
/// write transaction (an upload never holds the write lock), hashing and counting as it goes.
/// A file that fits in one chunk never touches the database here: it stays inline (data()).
/// A chunked blob is staged (an `uploads` row) until a submission links it; destroying the
/// writer before release() deletes what it stored (what a crashed process left behind goes
/// with JobStore::prune_stale_uploads(), run by each new upload and by prune_finished()).
class BlobWriter {
 public:
  static constexpr std::size_t kChunkBytes = 1024 * 1024;
  BlobWriter(Database& db, std::string tenant);
  ~BlobWriter();
  BlobWriter(const BlobWriter&) = delete;
  BlobWriter& operator=(const BlobWriter&) = delete;

  void write(const char* data, std::size_t size);
  /// Stores the last chunk. Afterwards size() and sha256() are final.
  void finish();
  /// Whether the bytes went to chunks (then: blob_id()); else they are in data().
  bool chunked() const { return !blob_id_.empty(); }
  const std::string& blob_id() const { return blob_id_; }
  std::string& data() { return buffer_; }
  std::int64_t size() const { return size_; }
  const std::string& sha256() const { return sha256_; }
  /// The blob now belongs to a job: the destructor keeps it.
  void release() { released_ = true; }
  /// Deletes the chunks stored so far and the staging row (no-op once released).
  void discard();

 private:
  void flush();
  Database& db_;
  std::string tenant_;
  std::string blob_id_;
  std::string buffer_;
  std::int64_t size_ = 0;    ///< bytes written
  std::int64_t stored_ = 0;  ///< bytes in stored chunks
  int seq_ = 0;
  std::string sha256_;
  struct Hasher;
  std::unique_ptr<Hasher> hasher_;
  bool released_ = false;
};

class JobStore {
 public:
  explicit JobStore(Database& db) : db_(db) {}

  /// Sets what takes typed outputs into core's tables at completion (see ArtifactIngest).
  void set_ingest(std::shared_ptr<ArtifactIngest> ingest) { ingest_ = std::move(ingest); }

  // --- client side -------------------------------------------------------------------------
  /// Stores the job, its tasks and inputs in one transaction; returns the job's id.
  std::string submit(const JobSpec& spec);
  /// Stores many jobs in one transaction (all or none); returns their ids in order.
  std::vector<std::string> submit_many(const std::vector<JobSpec>& specs);
  /// Like submit_many, and says which jobs already existed under their idempotency key.
  std::vector<Submitted> submit_all(const std::vector<JobSpec>& specs);
  std::optional<JobView> get_job(const std::string& id);
  /// Newest first. `status` empty: all. `limit` in [1, 1000]. `cursor`: a previous `next`.
  /// `tenant`: only that tenant's jobs (ids are case-sensitive); nullopt: every tenant's.
  JobPage list_jobs(const std::string& status, int limit, const std::string& cursor,
                    const std::optional<std::string>& tenant = std::nullopt);
  /// Cancels a job that has not ended: queued tasks stop, running ones are signalled.
  /// Returns the job after the change; nullopt when unknown. Throws kConflict when it ended.
  std::optional<JobView> cancel_job(const std::string& id);
  /// Deletes a job with its tasks and artifacts; running tasks are signalled. False: unknown.
  bool delete_job(const std::string& id);
  /// Artifacts of a job: the final step's outputs, or with `all`, inputs and every step's.
  std::vector<ArtifactMeta> list_artifacts(const std::string& job_id, bool all);
  /// An artifact by name: the final step's outputs first, then earlier steps, then inputs.
  std::optional<Artifact> read_artifact(const std::string& job_id, const std::string& name);
  /// The metadata of the artifact read_artifact() would return, without its bytes.
  std::optional<ArtifactMeta> find_artifact(const std::string& job_id, const std::string& name);
  /// Hands bytes [offset, offset + length) of an artifact to `sink` piece by piece (at most
  /// one chunk in memory; a fresh pooled session per chunk). Throws kNotFound when the
  /// artifact went away meanwhile.
  void read_artifact_bytes(const ArtifactMeta& artifact, std::int64_t offset, std::int64_t length,
                           const std::function<void(const char*, std::size_t)>& sink);

  // --- worker side -------------------------------------------------------------------------
  /// Claims up to `max` runnable tasks for `worker` in one short write transaction.
  std::vector<ClaimedTask> claim(const std::string& worker, int max, std::int64_t lease_ms);
  /// The inputs of a claimed task: the job's inputs for step 0, else the previous outputs.
  std::vector<Artifact> load_inputs(const ClaimedTask& task);
  /// Stores outputs and completes the task, fenced on its attempt; queues the next step or
  /// completes the job, in one transaction.
  WriteResult complete(const ClaimedTask& task, const std::vector<OutputFile>& outputs);
  /// Completes many runs in one transaction with a fixed number of statements (plus one
  /// insert per output); each is fenced on its own attempt. Results are in input order.
  std::vector<WriteResult> complete_many(const std::vector<Completion>& items);
  /// Records a failed attempt, fenced. Retries with exponential backoff and jitter unless
  /// `permanent` or attempts are exhausted; then the task and its job fail with `message`.
  FailResult fail(const ClaimedTask& task, ErrorCode code, const std::string& message,
                  bool permanent);
  /// Fenced progress write; kStale when the attempt is no longer current.
  WriteResult progress(const ClaimedTask& task, double fraction);
  /// Renews the leases of every task `worker` runs. Returns the ids of those whose job was
  /// cancelled or deleted meanwhile (their runs should stop).
  std::vector<std::string> heartbeat(const std::string& worker, std::int64_t lease_ms);
  /// Fails (with retry) every RUNNING task held by `worker`, e.g. after its process died.
  /// Each task's error is `message` + " while running <generator>".
  int release_worker(const std::string& worker, ErrorCode code, const std::string& message);
  /// Puts a run back in the queue as if it had never been claimed: QUEUED, runnable now, and
  /// its attempt given back (the next claim runs the same attempt number again, so the run
  /// does not count against max_attempts and leaves no attempt record). Fenced like every
  /// write: kStale unless the task is still RUNNING at `task.attempt`. For runs that were
  /// stopped through no fault of their own, e.g. a worker process restarted because ANOTHER
  /// task exceeded its limits. Only for a run that can no longer write anything (its process
  /// is dead, or it was never started): the next claim reuses its attempt number, which
  /// fences a live run no longer.
  WriteResult requeue(const ClaimedTask& task);
  /// requeue() for every RUNNING task held by `worker` (a worker process the caller knows is
  /// dead). Returns how many went back to the queue.
  int requeue_worker(const std::string& worker);
  /// Rescues RUNNING tasks whose lease expired (their holder stopped heartbeating).
  int rescue_expired();

  /// Deletes up to `limit` jobs (with tasks, attempts and artifacts) that finished before
  /// `finished_before_ms`. Returns how many went.
  int prune_finished(std::int64_t finished_before_ms, int limit = 500);
  /// Deletes staged uploads (and their chunks) untouched since `idle_before_ms`: what a
  /// backend that crashed mid-upload left behind. Each new upload and prune_finished() run it.
  int prune_stale_uploads(std::int64_t idle_before_ms, int limit = 100);

  /// Backoff before attempt `next_attempt` (2, 3, ...): 1 s * 2^(n-2), capped at 5 min, +-25%.
  static std::int64_t backoff_ms(int next_attempt);

 private:
  /// The tasks `worker` holds RUNNING (read outside any transaction).
  std::vector<ClaimedTask> tasks_held_by(const std::string& worker);

  /// Whether one of the outputs goes to ingest_ (then completions take the general path).
  bool ingests(const std::vector<OutputFile>& outputs) const;

  Database& db_;
  std::shared_ptr<ArtifactIngest> ingest_;
};

}  // namespace gen
