#include "gen/core/queue/job_store.hpp"

#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <Poco/Data/Session.h>
#include <gtest/gtest.h>

#include "database_fixture.hpp"
#include "gen/core/base/clock.hpp"
#include "gen/core/queue/completion_batcher.hpp"
#include "gen/core/storage/database.hpp"
#include "storage/session.hpp"
#include "test_database.hpp"

namespace gen {
namespace {

using namespace Poco::Data::Keywords;

// Every test runs on SQLite and on PostgreSQL.
class JobStoreTest : public test::MigratedDatabaseTest {
 protected:
  JobStoreTest() : MigratedDatabaseTest(8) {}
  void SetUp() override {
    MigratedDatabaseTest::SetUp();
    store_ = std::make_unique<JobStore>(*db_);
  }

  static JobSpec two_steps() {
    JobSpec spec;
    spec.steps.push_back({"a.first", {{"x", 1}}, 3, 1000});
    spec.steps.push_back({"a.second", nlohmann::json::object(), 3, 1000});
    spec.inputs.push_back({"in.txt", "text/plain", "input bytes"});
    return spec;
  }

  // Makes a retried task runnable now instead of after its backoff.
  void skip_backoff() {
    Poco::Data::Session s = db_->session();
    s << "UPDATE tasks SET run_after_ms = 0 WHERE state = 'QUEUED'", now;
  }

  std::unique_ptr<JobStore> store_;  // a member of this class: dropped before the database
};

TEST_P(JobStoreTest, MigrationsAreVersionedAndIdempotent) {
  EXPECT_EQ(db_->schema_version(), Database::latest_schema_version());
  EXPECT_EQ(db_->migrate(), 0);
  auto again = Database::open(db_->url(), 2);
  EXPECT_EQ(again->migrate(), 0);
}

TEST_P(JobStoreTest, StepsRunInOrderAndOutputsFeedTheNextStep) {
  std::string id = store_->submit(two_steps());
  auto job = store_->get_job(id);
  ASSERT_TRUE(job);
  EXPECT_EQ(job->status, "QUEUED");
  ASSERT_EQ(job->tasks.size(), 2u);
  EXPECT_EQ(job->tasks[0].state, "QUEUED");
  EXPECT_EQ(job->tasks[1].state, "PENDING");

  auto claimed = store_->claim("w1", 10, 10000);
  ASSERT_EQ(claimed.size(), 1u) << "only the first step is runnable";
  EXPECT_EQ(claimed[0].generator, "a.first");
  EXPECT_EQ(claimed[0].params["x"], 1);
  EXPECT_EQ(claimed[0].attempt, 1);
  EXPECT_EQ(claimed[0].step_count, 2);
  EXPECT_EQ(store_->get_job(id)->status, "RUNNING");
  EXPECT_TRUE(store_->claim("w2", 10, 10000).empty());

  EXPECT_TRUE(claimed[0].has_inputs);
  auto inputs = store_->load_inputs(claimed[0]);
  ASSERT_EQ(inputs.size(), 1u);
  EXPECT_EQ(inputs[0].data, "input bytes");

  EXPECT_EQ(store_->complete(claimed[0], {{"mid.txt", "text/plain", "middle"}}),
            WriteResult::kApplied);
  EXPECT_EQ(store_->get_job(id)->tasks[1].state, "QUEUED");

  auto second = store_->claim("w2", 10, 10000);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].step, 1);
  auto mid = store_->load_inputs(second[0]);
  ASSERT_EQ(mid.size(), 1u);
  EXPECT_EQ(mid[0].meta.name, "mid.txt");
  EXPECT_EQ(mid[0].data, "middle");

  EXPECT_EQ(store_->complete(second[0], {{"out.txt", "text/plain", "final"}}),
            WriteResult::kApplied);
  job = store_->get_job(id);
  EXPECT_EQ(job->status, "COMPLETED");
  ASSERT_EQ(job->artifacts.size(), 1u);
  EXPECT_EQ(job->artifacts[0].name, "out.txt");
  EXPECT_EQ(job->artifacts[0].size_bytes, 5);
  EXPECT_EQ(store_->list_artifacts(id, true).size(), 3u);
  auto bytes = store_->read_artifact(id, "out.txt");
  ASSERT_TRUE(bytes);
  EXPECT_EQ(bytes->data, "final");
  EXPECT_EQ(bytes->meta.media_type, "text/plain");
  EXPECT_EQ(store_->read_artifact(id, "in.txt")->data, "input bytes");
  EXPECT_FALSE(store_->read_artifact(id, "nope.txt"));
}

TEST_P(JobStoreTest, StaleAttemptCannotOverwriteNewerState) {
  JobSpec spec;
  spec.steps.push_back({"a.first", nlohmann::json::object(), 3, 1000});
  std::string id = store_->submit(spec);
  auto first = store_->claim("w1", 1, -1000);  // lease already expired
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(store_->rescue_expired(), 1);
  skip_backoff();
  auto second = store_->claim("w2", 1, 10000);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].attempt, 2);

  EXPECT_EQ(store_->complete(first[0], {{"x", "text/plain", "stale"}}), WriteResult::kStale);
  EXPECT_EQ(store_->progress(first[0], 0.5), WriteResult::kStale);
  EXPECT_EQ(store_->fail(first[0], ErrorCode::kGeneratorFailed, "late", false), FailResult::kStale);
  EXPECT_EQ(store_->complete(second[0], {{"x", "text/plain", "fresh"}}), WriteResult::kApplied);
  EXPECT_EQ(store_->read_artifact(id, "x")->data, "fresh");

  auto job = store_->get_job(id);
  ASSERT_EQ(job->tasks[0].attempts.size(), 2u);
  EXPECT_EQ(job->tasks[0].attempts[0].worker, "w1");
  EXPECT_EQ(job->tasks[0].attempts[0].outcome, "RETRY");
  EXPECT_NE(job->tasks[0].attempts[0].error.find("stopped heartbeating"), std::string::npos);
  EXPECT_EQ(job->tasks[0].attempts[1].outcome, "COMPLETED");
}

// Completions from many threads are committed together: each is fenced on its own attempt,
// next steps are queued and finished jobs completed in the same transaction.
TEST_P(JobStoreTest, BatchedCompletionFencesEachRun) {
  std::string one = store_->submit(two_steps());
  JobSpec single;
  single.steps.push_back({"a.only", nlohmann::json::object(), 3, 1000});
  std::string two = store_->submit(single);
  std::string three = store_->submit(single);
  auto claimed = store_->claim("w", 10, 10000);
  ASSERT_EQ(claimed.size(), 3u);
  for (const ClaimedTask& t : claimed) {
    EXPECT_EQ(t.has_inputs, t.job_id == one) << "only the first job was given an input";
  }
  ClaimedTask stale;
  std::vector<Completion> batch;
  for (const ClaimedTask& t : claimed) {
    if (t.job_id == three) {
      stale = t;
      stale.attempt = t.attempt + 1;  // pretends to be an attempt the table never handed out
      batch.push_back({stale, {{"s.txt", "text/plain", "stale"}}});
    } else if (t.job_id == one) {
      // Larger than a chunk: the whole batch takes the general path (chunked outputs) on
      // PostgreSQL too; the two-step job's next step is queued there.
      batch.push_back(
          {t, {{"o.txt", "text/plain", std::string(BlobWriter::kChunkBytes + 9, 'o')}}});
    } else {
      batch.push_back({t, {{"o.txt", "text/plain", "out " + t.job_id}}});
    }
  }
  auto results = store_->complete_many(batch);
  ASSERT_EQ(results.size(), 3u);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    EXPECT_EQ(results[i],
              batch[i].task.job_id == three ? WriteResult::kStale : WriteResult::kApplied);
  }
  auto j1 = store_->get_job(one);
  EXPECT_EQ(j1->status, "RUNNING");
  EXPECT_EQ(j1->tasks[1].state, "QUEUED");
  EXPECT_EQ(store_->read_artifact(one, "o.txt")->data.size(), BlobWriter::kChunkBytes + 9);
  auto next = store_->claim("w", 10, 10000);
  ASSERT_EQ(next.size(), 1u) << "the queued second step";
  EXPECT_EQ(next[0].job_id, one);
  EXPECT_EQ(next[0].step, 1);
  EXPECT_FALSE(j1->finished_at_ms);
  auto j2 = store_->get_job(two);
  EXPECT_EQ(j2->status, "COMPLETED");
  ASSERT_TRUE(j2->finished_at_ms);
  EXPECT_GE(*j2->finished_at_ms, j2->created_at_ms);
  EXPECT_EQ(store_->read_artifact(two, "o.txt")->data, "out " + two);
  EXPECT_EQ(j2->tasks[0].attempts.at(0).outcome, "COMPLETED");
  auto j3 = store_->get_job(three);
  EXPECT_EQ(j3->status, "RUNNING");
  EXPECT_EQ(j3->tasks[0].state, "RUNNING");
  EXPECT_FALSE(store_->read_artifact(three, "s.txt"));
}

// PostgreSQL looks for each task where its claim left the row (ClaimedTask::row_version)
// before it uses the index. A row that moved since (a progress write), a row version that
// names another task's row, and a stale attempt: each is still completed exactly when its
// attempt is current.
TEST_P(JobStoreTest, CompletionFindsRowsThatMovedSinceTheClaim) {
  JobSpec single;
  single.steps.push_back({"a.only", nlohmann::json::object(), 3, 1000});
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(store_->submit(single));
  auto claimed = store_->claim("w", 10, 10000);
  ASSERT_EQ(claimed.size(), 4u);
  for (const ClaimedTask& t : claimed) {
    EXPECT_EQ(t.row_version.empty(), GetParam() == "sqlite") << t.task_id;
  }
  std::vector<Completion> batch;
  for (const ClaimedTask& t : claimed) batch.push_back({t, {{"o.txt", "text/plain", t.job_id}}});
  ASSERT_EQ(store_->progress(claimed[0], 0.5), WriteResult::kApplied);  // the row moves
  std::swap(batch[1].task.row_version, batch[2].task.row_version);      // each names the other
  batch[3].task.attempt += 1;                                           // never handed out
  auto results = store_->complete_many(batch);
  ASSERT_EQ(results.size(), 4u);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    EXPECT_EQ(results[i], i == 3 ? WriteResult::kStale : WriteResult::kApplied) << i;
    auto job = store_->get_job(batch[i].task.job_id);
    ASSERT_TRUE(job);
    EXPECT_EQ(job->status, i == 3 ? "RUNNING" : "COMPLETED") << i;
    EXPECT_EQ(job->tasks[0].state, i == 3 ? "RUNNING" : "COMPLETED") << i;
    auto out = store_->read_artifact(batch[i].task.job_id, "o.txt");
    EXPECT_EQ(out.has_value(), i != 3) << i;
    if (out) {
      EXPECT_EQ(out->data, batch[i].task.job_id) << "each output lands on its own job";
    }
  }
  // Completing the same runs again changes nothing.
  batch.pop_back();
  for (WriteResult r : store_->complete_many(batch)) EXPECT_EQ(r, WriteResult::kStale);
}

// The worker's pipelined form: results handed over return at once, are stored in batches
// (at most 2 per transaction here), fenced each, and flush() waits for all of them. A
// refused run's large output leaves no chunks behind.
TEST_P(JobStoreTest, PipelinedCompletionsAreStoredFencedAndFlushed) {
  JobSpec single;
  single.steps.push_back({"a.only", nlohmann::json::object(), 3, 1000});
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(store_->submit(single));
  auto claimed = store_->claim("w", 10, 10000);
  ASSERT_EQ(claimed.size(), 5u);
  const std::string large(3 * BlobWriter::kChunkBytes + 7, 'x');

  CompletionBatcher batcher(*store_, 2);
  std::mutex mu;
  std::map<std::string, std::pair<WriteResult, bool>> done;
  for (std::size_t i = 0; i < claimed.size(); ++i) {
    ClaimedTask t = claimed[i];
    if (i == 4) t.attempt += 1;  // an attempt the table never handed out: refused
    std::vector<OutputFile> outputs{
        {"o.bin", "application/octet-stream", i >= 3 ? large : "small " + t.job_id}};
    batcher.complete_async(t, outputs, [&mu, &done, job = t.job_id](WriteResult r, bool w) {
      std::lock_guard lock(mu);
      done[job] = {r, w};
    });
  }
  batcher.flush();
  EXPECT_EQ(batcher.in_flight(), 0u);
  EXPECT_EQ(batcher.completions(), 5u);
  EXPECT_GE(batcher.commits(), 3u) << "at most 2 results per transaction";
  ASSERT_EQ(done.size(), 5u);
  for (std::size_t i = 0; i < claimed.size(); ++i) {
    const std::string& job = claimed[i].job_id;
    EXPECT_TRUE(done[job].second) << "written";
    EXPECT_EQ(done[job].first, i == 4 ? WriteResult::kStale : WriteResult::kApplied);
    EXPECT_EQ(store_->get_job(job)->status, i == 4 ? "RUNNING" : "COMPLETED");
  }
  for (std::size_t i = 0; i < 3; ++i) {  // each batch item's output lands on its own job
    EXPECT_EQ(store_->read_artifact(claimed[i].job_id, "o.bin")->data,
              "small " + claimed[i].job_id);
  }
  EXPECT_EQ(store_->read_artifact(claimed[3].job_id, "o.bin")->data, large);
  EXPECT_FALSE(store_->read_artifact(claimed[4].job_id, "o.bin"));
  Poco::Data::Session s = db_->session();
  Poco::Int64 chunks = 0;
  s << "SELECT COUNT(*) FROM artifact_chunks", into(chunks), now;
  EXPECT_EQ(chunks, 4) << "the applied large output's 4 chunks only";
}

// A claim writes the task rows only. The job reads as RUNNING (and started) through its
// running task until a run ends and writes the job row; listing by status agrees. An
// attempt's row is written when its run ends other than completed (a completed run is the
// task row's); while it runs, the job shows it from the task row. A row an older version
// wrote at the claim is completed, not duplicated.
TEST_P(JobStoreTest, AttemptRowsAreWrittenWhenRunsEnd) {
  JobSpec single;
  single.steps.push_back({"a.only", nlohmann::json::object(), 3, 1000});
  const std::string running = store_->submit(single);
  const std::string upgraded = store_->submit(single);
  const std::string cancelled = store_->submit(single);
  const std::string completed = store_->submit(single);
  const std::string retried = store_->submit(single);
  JobSpec later = single;
  later.priority = -1;  // claimed after the others
  const std::string waiting = store_->submit(later);
  auto claimed = store_->claim("w1", 5, 10000);
  ASSERT_EQ(claimed.size(), 5u);
  auto rows = [&] {
    Poco::Data::Session s = db_->session();
    Poco::Int64 n = 0;
    s << "SELECT COUNT(*) FROM task_attempts", into(n), now;
    return n;
  };
  auto stored_status = [&](const std::string& job) {
    Poco::Data::Session s = db_->session();
    std::string id = job, status;
    s << db_->sql("SELECT status FROM jobs WHERE id = ?"), use(id), into(status), now;
    return status;
  };
  auto listed = [&](const std::string& status) {
    std::set<std::string> ids;
    for (const JobView& j : store_->list_jobs(status, 100, "", std::nullopt).jobs) {
      ids.insert(j.id);
    }
    return ids;
  };
  EXPECT_EQ(rows(), 0) << "no row while the runs go on";
  EXPECT_EQ(stored_status(running), "QUEUED") << "the claim does not write the job row";
  auto view = store_->get_job(running);
  EXPECT_EQ(view->status, "RUNNING");
  ASSERT_TRUE(view->started_at_ms);
  EXPECT_EQ(*view->started_at_ms, *view->tasks[0].started_at_ms);
  EXPECT_GE(view->updated_at_ms, *view->started_at_ms);
  ASSERT_EQ(view->tasks[0].attempts.size(), 1u);
  EXPECT_EQ(view->tasks[0].attempts[0].attempt, 1);
  EXPECT_EQ(view->tasks[0].attempts[0].worker, "w1");
  EXPECT_GT(view->tasks[0].attempts[0].started_at_ms, 0);
  EXPECT_FALSE(view->tasks[0].attempts[0].finished_at_ms);
  EXPECT_EQ(listed("RUNNING"),
            (std::set<std::string>{running, upgraded, cancelled, completed, retried}));
  EXPECT_EQ(listed("QUEUED"), std::set<std::string>{waiting});

  std::int64_t first_start = 0;
  for (const ClaimedTask& t : claimed) {
    if (t.job_id == upgraded) {
      Poco::Data::Session s = db_->session();
      std::string id = t.task_id;
      s << db_->sql(
          "INSERT INTO task_attempts (task_id, attempt, worker, started_at_ms)"
          " VALUES (?, 1, 'w1', 1)"),
          use(id), now;
      EXPECT_EQ(store_->complete(t, {}), WriteResult::kApplied);
    } else if (t.job_id == completed) {
      EXPECT_EQ(store_->complete(t, {}), WriteResult::kApplied);
    } else if (t.job_id == retried) {
      first_start = *store_->get_job(retried)->started_at_ms;
      EXPECT_EQ(store_->fail(t, ErrorCode::kGeneratorFailed, "flaky", false),
                FailResult::kRetrying);
    }
  }
  store_->cancel_job(cancelled);
  for (const ClaimedTask& t : claimed) {
    if (t.job_id == running) {
      EXPECT_EQ(store_->fail(t, ErrorCode::kGeneratorFailed, "boom", true), FailResult::kFailed);
    }
  }
  EXPECT_EQ(rows(), 4) << "one row per run that did not complete, and the old row";
  auto outcome = [&](const std::string& job) {
    auto v = store_->get_job(job);
    EXPECT_EQ(v->tasks[0].attempts.size(), 1u) << job;
    EXPECT_TRUE(v->tasks[0].attempts.at(0).finished_at_ms) << job;
    EXPECT_EQ(v->tasks[0].attempts.at(0).worker, "w1") << job;
    EXPECT_TRUE(v->started_at_ms) << job;
    return v->tasks[0].attempts.at(0).outcome;
  };
  EXPECT_EQ(outcome(running), "FAILED");
  EXPECT_EQ(outcome(upgraded), "COMPLETED");
  EXPECT_EQ(outcome(cancelled), "CANCELLED");
  EXPECT_EQ(outcome(completed), "COMPLETED");
  EXPECT_EQ(outcome(retried), "RETRY");
  EXPECT_EQ(stored_status(completed), "COMPLETED");
  EXPECT_EQ(stored_status(retried), "RUNNING") << "the ended run wrote the job row";
  auto r = store_->get_job(retried);
  EXPECT_EQ(r->status, "RUNNING");
  EXPECT_EQ(r->tasks[0].state, "QUEUED");
  EXPECT_EQ(*r->started_at_ms, first_start);
  EXPECT_EQ(listed("RUNNING"), std::set<std::string>{retried});
  EXPECT_EQ(listed("QUEUED"), std::set<std::string>{waiting});
  EXPECT_EQ(listed("COMPLETED"), (std::set<std::string>{upgraded, completed}));
}

TEST_P(JobStoreTest, RetriesThenFailsTheJobWithTheLastError) {
  JobSpec spec;
  spec.steps.push_back({"a.first", nlohmann::json::object(), 2, 1000});
  spec.steps.push_back({"a.second", nlohmann::json::object(), 2, 1000});
  std::string id = store_->submit(spec);
  auto t1 = store_->claim("w", 1, 10000);
  EXPECT_EQ(store_->fail(t1[0], ErrorCode::kGeneratorFailed, "boom 1", false),
            FailResult::kRetrying);
  EXPECT_TRUE(store_->claim("w", 1, 10000).empty()) << "backoff must delay the retry";
  skip_backoff();
  auto t2 = store_->claim("w", 1, 10000);
  ASSERT_EQ(t2.size(), 1u);
  EXPECT_EQ(store_->fail(t2[0], ErrorCode::kGeneratorFailed, "boom 2", false), FailResult::kFailed);
  auto job = store_->get_job(id);
  EXPECT_EQ(job->status, "FAILED");
  EXPECT_EQ(job->error, "boom 2");
  EXPECT_EQ(job->error_code, "GENERATOR_FAILED");
  EXPECT_EQ(job->tasks[0].state, "FAILED");
  EXPECT_EQ(job->tasks[1].state, "CANCELLED");
}

TEST_P(JobStoreTest, PermanentErrorFailsAtOnce) {
  JobSpec spec;
  spec.steps.push_back({"a.first", nlohmann::json::object(), 5, 1000});
  std::string id = store_->submit(spec);
  auto t = store_->claim("w", 1, 10000);
  EXPECT_EQ(store_->fail(t[0], ErrorCode::kGeneratorRejectedInput, "bad input", true),
            FailResult::kFailed);
  EXPECT_EQ(store_->get_job(id)->status, "FAILED");
  EXPECT_EQ(store_->get_job(id)->tasks[0].attempt, 1);
}

TEST_P(JobStoreTest, ReleasedWorkerTasksAreRetriedWithTheReason) {
  JobSpec spec;
  spec.steps.push_back({"fixture.crash", nlohmann::json::object(), 1, 1000});
  std::string id = store_->submit(spec);
  ASSERT_EQ(store_->claim("host:42", 1, 10000).size(), 1u);
  EXPECT_EQ(
      store_->release_worker("host:42", ErrorCode::kWorkerDied, "worker process died (signal 11)"),
      1);
  auto job = store_->get_job(id);
  EXPECT_EQ(job->status, "FAILED");
  EXPECT_EQ(job->error, "worker process died (signal 11) while running fixture.crash");
  EXPECT_EQ(store_->release_worker("host:42", ErrorCode::kWorkerDied, "again"), 0);
}

TEST_P(JobStoreTest, CancelStopsQueuedAndSignalsRunningTasks) {
  std::string queued = store_->submit(two_steps());
  auto cancelled = store_->cancel_job(queued);
  ASSERT_TRUE(cancelled);
  EXPECT_EQ(cancelled->status, "CANCELLED");
  EXPECT_TRUE(store_->claim("w", 10, 10000).empty());
  EXPECT_THROW(store_->cancel_job(queued), Error);
  EXPECT_FALSE(store_->cancel_job("no-such-job"));

  std::string running = store_->submit(two_steps());
  auto t = store_->claim("w", 10, 10000);
  ASSERT_EQ(t.size(), 1u);
  store_->cancel_job(running);
  auto signalled = store_->heartbeat("w", 10000);
  ASSERT_EQ(signalled.size(), 1u);
  EXPECT_EQ(signalled[0], t[0].task_id);
  EXPECT_TRUE(store_->heartbeat("w", 10000).empty()) << "signalled once";
  EXPECT_EQ(store_->complete(t[0], {}), WriteResult::kStale);
  EXPECT_EQ(store_->get_job(running)->status, "CANCELLED");
}

TEST_P(JobStoreTest, DeleteRemovesEverything) {
  std::string id = store_->submit(two_steps());
  EXPECT_TRUE(store_->delete_job(id));
  EXPECT_FALSE(store_->get_job(id));
  EXPECT_FALSE(store_->delete_job(id));
  Poco::Data::Session s = db_->session();
  Poco::Int64 n = -1;
  s << "SELECT COUNT(*) FROM artifacts", into(n), now;
  EXPECT_EQ(n, 0);
  s << "SELECT COUNT(*) FROM tasks", into(n), now;
  EXPECT_EQ(n, 0);
}

TEST_P(JobStoreTest, ListPagesNewestFirstAndFilters) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(store_->submit(two_steps()));
  store_->cancel_job(ids[0]);
  std::set<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    JobPage page = store_->list_jobs("", 2, cursor);
    for (const auto& j : page.jobs) EXPECT_TRUE(seen.insert(j.id).second) << "duplicate " << j.id;
    cursor = page.next;
    ++pages;
  } while (!cursor.empty() && pages < 10);
  EXPECT_EQ(seen.size(), 5u);
  EXPECT_EQ(pages, 3);
  auto cancelled = store_->list_jobs("CANCELLED", 100, "");
  ASSERT_EQ(cancelled.jobs.size(), 1u);
  EXPECT_EQ(cancelled.jobs[0].id, ids[0]);
  EXPECT_THROW(store_->list_jobs("", 10, "garbage"), Error);
}

TEST_P(JobStoreTest, IdempotencyKeyReturnsTheExistingJob) {
  JobSpec spec = two_steps();
  spec.idempotency_key = "order-17";
  auto first = store_->submit_all({spec});
  auto again = store_->submit_all({spec});
  EXPECT_TRUE(first[0].created);
  EXPECT_FALSE(again[0].created);
  EXPECT_EQ(first[0].id, again[0].id);
  spec.tenant = "other";
  auto other = store_->submit_all({spec});
  EXPECT_TRUE(other[0].created) << "keys are per tenant";
  EXPECT_EQ(store_->list_jobs("", 100, "").jobs.size(), 2u);
}

TEST_P(JobStoreTest, DelayedJobWaitsForItsTime) {
  JobSpec spec;
  spec.steps.push_back({"a.later", nlohmann::json::object(), 1, 1000});
  spec.run_after_ms = now_ms() + 3600 * 1000;
  std::string id = store_->submit(spec);
  EXPECT_TRUE(store_->claim("w", 10, 10000).empty());
  EXPECT_EQ(store_->get_job(id)->status, "QUEUED");
}

TEST_P(JobStoreTest, PruneRemovesOnlyOldFinishedJobs) {
  JobSpec spec;
  spec.steps.push_back({"a.only", nlohmann::json::object(), 1, 1000});
  spec.inputs.push_back({"in.txt", "text/plain", "x"});
  std::string first = store_->submit(spec);
  std::string second = store_->submit(spec);
  auto claimed = store_->claim("w", 1, 10000);
  ASSERT_EQ(claimed.size(), 1u);
  std::string done = claimed[0].job_id;
  std::string open = done == first ? second : first;
  store_->complete(claimed[0], {{"o.txt", "text/plain", "y"}});
  EXPECT_EQ(store_->prune_finished(now_ms() - 60000), 0) << "finished just now: kept";
  EXPECT_EQ(store_->prune_finished(now_ms() + 1000), 1);
  EXPECT_FALSE(store_->get_job(done));
  EXPECT_TRUE(store_->get_job(open));
  Poco::Data::Session s = db_->session();
  Poco::Int64 n = -1;
  s << "SELECT COUNT(*) FROM artifacts", into(n), now;
  EXPECT_EQ(n, 1) << "only the open job's input is left";
}

TEST_P(JobStoreTest, HigherPriorityIsClaimedFirst) {
  JobSpec low;
  low.steps.push_back({"a.low", nlohmann::json::object(), 1, 1000});
  JobSpec high = low;
  high.steps[0].generator = "a.high";
  high.priority = 10;
  store_->submit(low);
  store_->submit(high);
  auto t = store_->claim("w", 1, 10000);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].generator, "a.high");
}

// Several connections claim concurrently: every task is claimed exactly once and no claim
// fails with "database is locked".
TEST_P(JobStoreTest, ConcurrentClaimsNeverDoubleClaim) {
  constexpr int kTasks = 400;
  JobSpec spec;
  spec.steps.push_back({"a.noop", nlohmann::json::object(), 1, 1000});
  for (int i = 0; i < kTasks; ++i) store_->submit(spec);
  std::mutex mu;
  std::multiset<std::string> claimed;
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&, w] {
      JobStore store(*db_);
      for (;;) {
        std::vector<ClaimedTask> batch;
        try {
          batch = store.claim("w" + std::to_string(w), 7, 10000);
        } catch (const std::exception&) {
          ++errors;
          continue;
        }
        if (batch.empty()) return;
        for (const auto& t : batch) {
          if (store.complete(t, {}) != WriteResult::kApplied) ++errors;
          std::lock_guard lock(mu);
          claimed.insert(t.task_id);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(claimed.size(), static_cast<std::size_t>(kTasks));
  EXPECT_EQ(std::set<std::string>(claimed.begin(), claimed.end()).size(), claimed.size());
  EXPECT_EQ(store_->list_jobs("COMPLETED", 1000, "").jobs.size(), static_cast<std::size_t>(kTasks));
}

INSTANTIATE_TEST_SUITE_P(Backends, JobStoreTest, ::testing::ValuesIn(test::all_backends()),
                         [](const auto& p) { return p.param; });

}  // namespace
}  // namespace gen
