#include "gen/core/queue/executor.hpp"

#include <stdlib.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "gen/core/plugins/plugin_host.hpp"
#include "gen/core/queue/job_store.hpp"
#include "gen/core/storage/database.hpp"

namespace gen {
namespace {

constexpr const char* kWorker = "test-host:4242";

// A fresh SQLite store and the fixture plugins (fixture.echo, .sleep, .throws ...), with the
// executor under test. Tasks are claimed by hand and handed to execute().
class ExecutorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* build = std::getenv("GENERATOR_BUILD_DIR");
    ASSERT_NE(build, nullptr) << "GENERATOR_BUILD_DIR is not set";
    plugins_ = new PluginHost(std::string(build) + "/tests/fixture-plugins");
    plugins_->load_all();
    ASSERT_NE(plugins_->find("fixture.echo"), nullptr) << "fixture plugins are not built";
  }
  static void TearDownTestSuite() {
    delete plugins_;
    plugins_ = nullptr;
  }

  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "executor-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    db_ = Database::open("sqlite://" + dir_ + "/store.db", 4);
    db_->migrate();
    store_ = std::make_unique<JobStore>(*db_);
    executor_ = std::make_unique<TaskExecutor>(*store_, *plugins_, kWorker);
  }
  void TearDown() override {
    executor_.reset();
    store_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Submits a one-step job and claims its task.
  ClaimedTask submit_and_claim(const std::string& generator, nlohmann::json params,
                               int max_attempts = 3, std::int64_t timeout_ms = 60000,
                               std::vector<InputFile> inputs = {}) {
    JobSpec spec;
    spec.steps.push_back({generator, std::move(params), max_attempts, timeout_ms});
    spec.inputs = std::move(inputs);
    job_id_ = store_->submit(spec);
    auto claimed = store_->claim(kWorker, 1, 60000);
    EXPECT_EQ(claimed.size(), 1u);
    return claimed.empty() ? ClaimedTask{} : claimed[0];
  }

  TaskView task() {
    auto job = store_->get_job(job_id_);
    EXPECT_TRUE(job && job->tasks.size() == 1);
    return job->tasks.at(0);
  }
  std::string job_status() { return store_->get_job(job_id_)->status; }

  static PluginHost* plugins_;
  std::string dir_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<JobStore> store_;
  std::unique_ptr<TaskExecutor> executor_;
  std::string job_id_;
  std::atomic<bool> cancel_{false};
};

PluginHost* ExecutorTest::plugins_ = nullptr;

TEST_F(ExecutorTest, SuccessStoresOutputsAndCompletesTheJob) {
  ClaimedTask t = submit_and_claim("fixture.echo", {{"message", "hi"}}, 3, 60000,
                                   {{"in.txt", "text/plain", "input bytes"}});
  ExecutionResult r = executor_->execute(t, cancel_);
  EXPECT_EQ(r.outcome, TaskOutcome::kCompleted);
  EXPECT_EQ(r.code, ErrorCode::kUnset);
  EXPECT_EQ(job_status(), "COMPLETED");
  auto copied = store_->read_artifact(job_id_, "in.txt");
  ASSERT_TRUE(copied);
  EXPECT_EQ(copied->data, "input bytes");
  EXPECT_EQ(copied->meta.media_type, "text/plain");
  auto params = store_->read_artifact(job_id_, "params.json");
  ASSERT_TRUE(params);
  EXPECT_EQ(nlohmann::json::parse(params->data).at("message"), "hi");
}

TEST_F(ExecutorTest, PermanentFailureFailsWithoutRetry) {
  ClaimedTask t = submit_and_claim("fixture.fail_permanent", {{"message", "params.x: bad"}});
  ExecutionResult r = executor_->execute(t, cancel_);
  EXPECT_EQ(r.outcome, TaskOutcome::kFailed);
  EXPECT_EQ(r.code, ErrorCode::kGeneratorRejectedInput);
  TaskView v = task();
  EXPECT_EQ(v.state, "FAILED");
  EXPECT_EQ(v.error, "params.x: bad");
  EXPECT_EQ(v.error_code, "GENERATOR_REJECTED_INPUT");
  EXPECT_EQ(job_status(), "FAILED");
}

TEST_F(ExecutorTest, RetryableFailureQueuesAnotherAttempt) {
  ClaimedTask t = submit_and_claim("fixture.fail_retryable", {{"message", "upstream busy"}});
  ExecutionResult r = executor_->execute(t, cancel_);
  EXPECT_EQ(r.outcome, TaskOutcome::kRetrying);
  EXPECT_EQ(r.code, ErrorCode::kGeneratorFailed);
  TaskView v = task();
  EXPECT_EQ(v.state, "QUEUED");
  ASSERT_EQ(v.attempts.size(), 1u);
  EXPECT_EQ(v.attempts[0].error, "upstream busy (attempt 1)");
  EXPECT_EQ(v.attempts[0].error_code, "GENERATOR_FAILED");
  EXPECT_EQ(v.attempts[0].worker, kWorker);
}

TEST_F(ExecutorTest, EscapedExceptionBecomesARetryableFailure) {
  ClaimedTask t = submit_and_claim("fixture.throws", {{"message", "kaboom"}}, 1);
  ExecutionResult r = executor_->execute(t, cancel_);
  EXPECT_EQ(r.outcome, TaskOutcome::kFailed) << "the only attempt is used up";
  TaskView v = task();
  EXPECT_EQ(v.error, "generator threw: kaboom");
  EXPECT_EQ(v.error_code, "GENERATOR_FAILED");
}

TEST_F(ExecutorTest, MissingGeneratorIsRetryableAndNamesTheWorker) {
  ClaimedTask t = submit_and_claim("fixture.not_installed", nlohmann::json::object());
  ExecutionResult r = executor_->execute(t, cancel_);
  EXPECT_EQ(r.outcome, TaskOutcome::kRetrying);
  TaskView v = task();
  ASSERT_EQ(v.attempts.size(), 1u);
  EXPECT_EQ(v.attempts[0].error,
            std::string("generator 'fixture.not_installed' is not loaded on worker ") + kWorker);
  EXPECT_EQ(v.attempts[0].error_code, "GENERATOR_UNAVAILABLE");
}

TEST_F(ExecutorTest, TimeLimitCancelsTheRunAndFailsWithTimeout) {
  // The generator polls cancelled(), which turns true at the deadline without any help.
  ClaimedTask t = submit_and_claim("fixture.sleep", {{"ms", 600000}}, 1, 100);
  ExecutionResult r = executor_->execute(t, cancel_);
  EXPECT_EQ(r.outcome, TaskOutcome::kFailed);
  EXPECT_EQ(r.code, ErrorCode::kTimeout);
  TaskView v = task();
  EXPECT_EQ(v.error_code, "TIMEOUT");
  EXPECT_EQ(v.error, "execution time limit of 100 ms exceeded (time spent queued is not counted)");
  EXPECT_FALSE(cancel_.load()) << "the caller's flag is the caller's";
}

TEST_F(ExecutorTest, TimeLimitAppliesEvenWhenTheGeneratorIgnoresCancellation) {
  ClaimedTask t = submit_and_claim("fixture.sleep", {{"ms", 300}, {"ignore_cancel", true}}, 1, 50);
  ExecutionResult r = executor_->execute(t, cancel_);
  EXPECT_EQ(r.code, ErrorCode::kTimeout);
  EXPECT_EQ(task().error_code, "TIMEOUT");
  EXPECT_FALSE(store_->read_artifact(job_id_, "slept.txt")) << "late outputs are not kept";
}

TEST_F(ExecutorTest, CancelledJobIsLeftAsTheStoreRecordedIt) {
  ClaimedTask t = submit_and_claim("fixture.sleep", {{"ms", 600000}});
  ASSERT_TRUE(store_->cancel_job(job_id_));
  cancel_ = true;  // what the heartbeat does when the store reports the cancellation
  ExecutionResult r = executor_->execute(t, cancel_);
  EXPECT_EQ(r.outcome, TaskOutcome::kCancelled);
  EXPECT_EQ(job_status(), "CANCELLED");
  TaskView v = task();
  EXPECT_EQ(v.state, "CANCELLED");
  EXPECT_NE(v.error_code, "GENERATOR_FAILED") << "the cancelled run is not recorded as failed";
}

TEST_F(ExecutorTest, ResultOfACancelledJobIsRefusedAsStale) {
  ClaimedTask t = submit_and_claim("fixture.echo", nlohmann::json::object());
  ASSERT_TRUE(store_->cancel_job(job_id_));
  ExecutionResult r = executor_->execute(t, cancel_);
  EXPECT_EQ(r.outcome, TaskOutcome::kStale);
  EXPECT_EQ(job_status(), "CANCELLED");
  EXPECT_FALSE(store_->read_artifact(job_id_, "params.json"));
}

TEST_F(ExecutorTest, RunWhoseAttemptMovedOnStopsAtItsNextProgressWrite) {
  ClaimedTask t = submit_and_claim("fixture.sleep", {{"ms", 600000}});
  // Another party retired this attempt (e.g. a rescue after a missed lease).
  ASSERT_EQ(store_->fail(t, ErrorCode::kWorkerDied, "lease expired", false), FailResult::kRetrying);
  ExecutionResult r = executor_->execute(t, cancel_);
  EXPECT_EQ(r.outcome, TaskOutcome::kStale);
  TaskView v = task();
  EXPECT_EQ(v.state, "QUEUED");
  ASSERT_EQ(v.attempts.size(), 1u) << "the stale run recorded nothing";
  EXPECT_EQ(v.attempts[0].error_code, "WORKER_DIED");
}

}  // namespace
}  // namespace gen
