// Hard limits a generator cannot ignore (issue 13): a generator that ignores its time limit
// and cancellation, one that allocates past its memory ceiling, and one that writes outputs
// past the cap, run through the real generator-worker (1 process x 2 threads) on SQLite and
// PostgreSQL. The culprit ends TIMEOUT / OUT_OF_MEMORY / PAYLOAD_TOO_LARGE naming the limit and
// is not retried; its neighbours on the same process finish or are re-queued with their attempt
// given back; /metrics counts the kills by reason. Waits are bounded to detect hangs only.
#include <chrono>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <gen/sdk/testing.hpp>

#include "gen/core/plugins/plugin_host.hpp"
#include "gen/core/queue/executor.hpp"
#include "gen/core/queue/job_store.hpp"
#include "gen/core/storage/database.hpp"
#include "harness.hpp"
#include "sanitizers.hpp"
#include "test_database.hpp"

namespace gen {
namespace {

using itest::HttpClient;
using itest::Stack;
using itest::StackOptions;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr auto kWait = 60s;  // a hang guard, far above what a healthy run needs

// The value of the sample `name` whose labels include every one of `labels` (-1: absent).
double metric(const std::string& text, const std::string& name,
              const std::map<std::string, std::string>& labels = {}) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line.compare(0, name.size(), name) != 0) continue;
    const char next = line.size() > name.size() ? line[name.size()] : ' ';
    if (next != ' ' && next != '{') continue;
    bool match = true;
    for (const auto& [k, v] : labels) {
      match = match && line.find(k + "=\"" + v + "\"") != std::string::npos;
    }
    if (!match) continue;
    return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return -1;
}

json step_job(const std::string& generator, json params, std::int64_t timeout_ms = 60000,
              int max_attempts = 3) {
  return {{"steps",
           {{{"generator", generator},
             {"params", std::move(params)},
             {"timeout_ms", timeout_ms},
             {"max_attempts", max_attempts}}}}};
}

// A service stack with the hard limits set small: 1 process x 2 threads, a grace of 1 s, a
// memory ceiling of 128 MB (fixture.hog's manifest sets 64 MB), outputs capped at 1 MB.
class LimitsStack {
 public:
  explicit LimitsStack(const std::string& backend) : db_(backend) {
    StackOptions options;
    options.worker_processes = 1;
    options.worker_threads = 2;
    options.env = {{"DATABASE__URL", db_.url()},
                   {"WORKER__TIMEOUT_GRACE_MS", "1000"},
                   {"WORKER__MAX_TASK_MEMORY_MB", "128"},
                   {"WORKER__MAX_TASK_OUTPUT_MB", "1"},
                   {"LOGGING__LEVEL", "info"}};
    stack_ = std::make_unique<Stack>(options);
  }
  Stack& stack() { return *stack_; }
  std::string submit(const json& body) { return stack_->submit(body)["id"].get<std::string>(); }
  json wait(const std::string& id) { return stack_->wait_for_job(id, kWait); }
  json wait_running(const std::string& id) { return stack_->wait_for_job(id, kWait, "RUNNING"); }
  std::string metrics() {
    HttpClient worker(std::stoi(stack_->environment().at("HOSTING__METRICS_PORT")));
    itest::HttpResponse r = worker.get("/metrics");
    EXPECT_EQ(r.status, 200) << r.body;
    return r.body;
  }
  std::string logs() const { return stack_->logs(); }

 private:
  test::TestDatabase db_;
  std::unique_ptr<Stack> stack_;
};

class HardLimits : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { stack_ = std::make_unique<LimitsStack>(GetParam()); }
  void TearDown() override {
    if (HasFailure() && stack_) {
      std::string logs = stack_->logs();
      if (logs.size() > 30000) logs = logs.substr(logs.size() - 30000);
      std::cerr << "---- service logs (tail) ----\n" << logs << "\n--------\n";
    }
  }
  std::unique_ptr<LimitsStack> stack_;
};

// A generator in a tight loop that ignores cancellation and its time limit ran forever: the
// limit was only checked once run() returned.
TEST_P(HardLimits, SpinPastItsTimeLimitIsKilledAndItsNeighboursAreNotLost) {
  LimitsStack& s = *stack_;
  const std::string short_sleep = s.submit(step_job("fixture.sleep", {{"ms", 1500}}));
  const std::string spin = s.submit(step_job("fixture.spin", json::object(), 1000, 3));
  // Claimed by the same process (the only one) while both threads are busy, then run or
  // waiting in its local queue when the spin is killed: re-queued either way.
  const std::string long_sleep = s.submit(step_job("fixture.sleep", {{"ms", 8000}}));

  const json spun = s.wait(spin);
  EXPECT_EQ(spun["status"], "FAILED");
  EXPECT_EQ(spun["error"]["code"], "TIMEOUT");
  EXPECT_EQ(spun["error"]["message"], TaskExecutor::timeout_kill_message(1000, 1000));
  ASSERT_EQ(spun["tasks"].size(), 1u);
  EXPECT_EQ(spun["tasks"][0]["attempt"], 1) << "a timeout is not retried: " << spun.dump();
  EXPECT_EQ(spun["tasks"][0]["attempts"].size(), 1u) << spun.dump();

  for (const std::string& id : {short_sleep, long_sleep}) {
    const json done = s.wait(id);
    EXPECT_EQ(done["status"], "COMPLETED") << done.dump();
    ASSERT_EQ(done["tasks"].size(), 1u);
    EXPECT_EQ(done["tasks"][0]["attempt"], 1) << "no attempt lost: " << done.dump();
    // One run recorded, the one that completed: the interrupted one left no attempt.
    ASSERT_EQ(done["tasks"][0]["attempts"].size(), 1u) << done.dump();
    EXPECT_EQ(done["tasks"][0]["attempts"][0]["outcome"], "COMPLETED") << done.dump();
  }

  const std::string m = s.metrics();
  EXPECT_EQ(metric(m, "generator_worker_task_kills_total", {{"reason", "timeout"}}), 1) << m;
  EXPECT_EQ(metric(m, "generator_worker_task_kills_total", {{"reason", "memory"}}), 0) << m;
  EXPECT_GE(metric(m, "generator_worker_process_restarts_total"), 1) << m;
  EXPECT_GE(metric(m, "generator_worker_requeued_tasks_total"), 1) << m;

  // The restarted process serves as before.
  const json echo = s.wait(s.submit(step_job("fixture.echo", {{"message", "after"}})));
  EXPECT_EQ(echo["status"], "COMPLETED") << echo.dump();
}

// A timeout ends the task at once (it was retried like a transient error), unless the
// generator's manifest says retry_on_timeout (fixture.spin_retry's does).
TEST_P(HardLimits, TimeoutIsRetriedOnlyWhenTheGeneratorSaysSo) {
  LimitsStack& s = *stack_;
  const std::string polite = s.submit(step_job("fixture.sleep", {{"ms", 600000}}, 300, 3));
  const std::string retried = s.submit(step_job("fixture.spin_retry", json::object(), 500, 2));

  const json p = s.wait(polite);
  EXPECT_EQ(p["status"], "FAILED");
  EXPECT_EQ(p["error"]["code"], "TIMEOUT");
  EXPECT_EQ(p["tasks"][0]["attempts"].size(), 1u) << p.dump();

  const json r = s.wait(retried);
  EXPECT_EQ(r["status"], "FAILED");
  EXPECT_EQ(r["error"]["code"], "TIMEOUT");
  EXPECT_EQ(r["error"]["message"], TaskExecutor::timeout_kill_message(500, 1000));
  ASSERT_EQ(r["tasks"][0]["attempts"].size(), 2u) << r.dump();
  EXPECT_EQ(r["tasks"][0]["attempts"][0]["error"]["code"], "TIMEOUT");
  EXPECT_EQ(metric(s.metrics(), "generator_worker_task_kills_total", {{"reason", "timeout"}}), 2);
}

// A task allocating (and touching) memory past its ceiling took the host's memory.
TEST_P(HardLimits, HogPastItsMemoryCeilingEndsOutOfMemoryAndTheWorkerKeepsServing) {
  GEN_SKIP_UNDER_ASAN(
      "its operator new aborts past the memory ceiling instead of throwing std::bad_alloc");
  LimitsStack& s = *stack_;
  const std::string neighbour = s.submit(step_job("fixture.sleep", {{"ms", 6000}}));
  s.wait_running(neighbour);
  const std::string hog =
      s.submit(step_job("fixture.hog", {{"mb", 4096}, {"block_mb", 8}, {"pause_ms", 20}}));

  const json h = s.wait(hog);
  EXPECT_EQ(h["status"], "FAILED");
  EXPECT_EQ(h["error"]["code"], "OUT_OF_MEMORY");
  EXPECT_EQ(h["error"]["message"].get<std::string>().rfind(
                "memory limit of 64 MB per task (set by the generator's manifest) exceeded", 0),
            0u)
      << h.dump();
  EXPECT_EQ(h["tasks"][0]["attempts"].size(), 1u) << "not retried: " << h.dump();
  RecordProperty("hog_error", h["error"]["message"].dump());  // how far past the ceiling

  const json n = s.wait(neighbour);
  EXPECT_EQ(n["status"], "COMPLETED") << n.dump();
  EXPECT_EQ(n["tasks"][0]["attempt"], 1) << "no attempt lost: " << n.dump();
  ASSERT_EQ(n["tasks"][0]["attempts"].size(), 1u) << n.dump();
  EXPECT_EQ(n["tasks"][0]["attempts"][0]["outcome"], "COMPLETED") << n.dump();

  const json echo = s.wait(s.submit(step_job("fixture.echo", {{"message", "after"}})));
  EXPECT_EQ(echo["status"], "COMPLETED") << echo.dump();
  const std::string m = s.metrics();
  EXPECT_EQ(metric(m, "generator_worker_task_kills_total", {{"reason", "memory"}}), 1) << m;
  EXPECT_EQ(metric(m, "generator_worker_task_kills_total", {{"reason", "timeout"}}), 0) << m;
}

INSTANTIATE_TEST_SUITE_P(Backends, HardLimits, ::testing::Values("sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

// One allocation bigger than the process's address-space limit (sized from the ceilings):
// std::bad_alloc in the generator ends the task OUT_OF_MEMORY; the process lives on. Without
// the limit the 3 GB were allocated and touched.
TEST(MemoryCeiling, AllocationPastTheAddressSpaceLimitIsOutOfMemoryNotACrash) {
  GEN_SKIP_UNDER_ASAN(
      "its operator new aborts past the memory ceiling instead of throwing std::bad_alloc");
  LimitsStack s("sqlite");
  const json h = s.wait(
      s.submit(step_job("fixture.hog", {{"mb", 3072}, {"block_mb", 3072}, {"pause_ms", 0}})));
  EXPECT_EQ(h["status"], "FAILED") << h.dump();
  EXPECT_EQ(h["error"]["code"], "OUT_OF_MEMORY") << h.dump();
  EXPECT_NE(h["error"]["message"].get<std::string>().find("std::bad_alloc"), std::string::npos)
      << h.dump();
  EXPECT_EQ(h["tasks"][0]["attempts"].size(), 1u) << h.dump();
  const std::string m = s.metrics();
  EXPECT_EQ(metric(m, "generator_worker_process_restarts_total"), 0) << m;
  EXPECT_EQ(metric(m, "generator_worker_task_kills_total", {{"reason", "memory"}}), 0) << m;
  if (HasFailure()) std::cerr << s.logs();
}

// Outputs had no cap: a template bomb's output grew until the worker's memory ran out.
TEST(OutputCap, OutputsPastTheCapFailTheTaskPermanentlyNamingTheCap) {
  LimitsStack s("sqlite");
  const json big = s.wait(s.submit(step_job("fixture.write", {{"bytes", 600000}, {"count", 3}})));
  EXPECT_EQ(big["status"], "FAILED") << big.dump();
  EXPECT_EQ(big["error"]["code"], "PAYLOAD_TOO_LARGE");
  EXPECT_NE(
      big["error"]["message"].get<std::string>().find(
          "the task's outputs exceed the limit of 1 MB per task (WORKER__MAX_TASK_OUTPUT_MB)"),
      std::string::npos)
      << big.dump();
  EXPECT_EQ(big["tasks"][0]["attempts"].size(), 1u) << "not retried: " << big.dump();

  const json fits = s.wait(s.submit(step_job("fixture.write", {{"bytes", 400000}, {"count", 2}})));
  EXPECT_EQ(fits["status"], "COMPLETED") << fits.dump();
  if (HasFailure()) std::cerr << s.logs();
}

// The queue operation behind "re-queued without losing an attempt": fenced on the attempt
// like every write, on both databases.
class RequeueGivesBackTheAttempt : public ::testing::TestWithParam<std::string> {};

TEST_P(RequeueGivesBackTheAttempt, FencedOnTheAttempt) {
  test::TestDatabase tdb(GetParam());
  auto db = Database::open(tdb.url(), 2);
  db->migrate();
  JobStore store(*db);
  JobSpec spec;
  spec.steps.push_back({"fixture.echo", json::object(), 3, 60000});
  const std::string job = store.submit(spec);

  std::vector<ClaimedTask> claimed = store.claim("host:1", 10, 60000);
  ASSERT_EQ(claimed.size(), 1u);
  ASSERT_EQ(claimed[0].attempt, 1);
  EXPECT_EQ(store.requeue(claimed[0]), WriteResult::kApplied);
  EXPECT_EQ(store.requeue(claimed[0]), WriteResult::kStale) << "no longer RUNNING";
  std::optional<JobView> view = store.get_job(job);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->tasks[0].state, "QUEUED");
  EXPECT_EQ(view->tasks[0].attempt, 0);
  EXPECT_TRUE(view->tasks[0].attempts.empty());

  claimed = store.claim("host:2", 10, 60000);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].attempt, 1) << "the attempt was given back";
  ClaimedTask stale = claimed[0];
  stale.attempt = 2;
  EXPECT_EQ(store.requeue(stale), WriteResult::kStale) << "fenced on the attempt";
  EXPECT_EQ(store.requeue_worker("host:1"), 0) << "not host:1's any more";
  EXPECT_EQ(store.requeue_worker("host:2"), 1);
  EXPECT_EQ(store.fail(claimed[0], ErrorCode::kGeneratorFailed, "late", false), FailResult::kStale)
      << "the requeued run can no longer write";
  claimed = store.claim("host:3", 10, 60000);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].attempt, 1);
  EXPECT_EQ(store.complete(claimed[0], {}), WriteResult::kApplied);
  EXPECT_EQ(store.get_job(job)->status, "COMPLETED");
}

INSTANTIATE_TEST_SUITE_P(Backends, RequeueGivesBackTheAttempt,
                         ::testing::Values("sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

// The manifest's per-generator limits, read before the library loads (fixture_ok's
// generator_add_plugin(... LIMITS ...)).
TEST(ManifestLimits, PerGeneratorOverridesComeFromTheManifest) {
  const char* build = std::getenv("GENERATOR_BUILD_DIR");
  ASSERT_NE(build, nullptr);
  PluginHost host(std::string(build) + "/tests/fixture-plugins");
  host.load_all();
  ASSERT_NE(host.find("fixture.hog"), nullptr);
  EXPECT_EQ(host.limits("fixture.hog").max_task_memory_mb, 64);
  EXPECT_FALSE(host.limits("fixture.hog").retry_on_timeout);
  EXPECT_TRUE(host.limits("fixture.spin_retry").retry_on_timeout);
  EXPECT_FALSE(host.limits("fixture.spin").retry_on_timeout);
  EXPECT_EQ(host.limits("fixture.echo").max_task_memory_mb, 0);
  EXPECT_EQ(host.largest_memory_override_mb(), 64);
}

// The SDK harness simulates the limits, so plugin authors can test their generator's
// behaviour: an output cap, a time limit, cancellation.
class Chatty final : public sdk::Generator {
 public:
  sdk::GeneratorInfo info() const override {
    sdk::GeneratorInfo info;
    info.id = "test.chatty";
    info.version = "1.0.0";
    info.output_media_types = {"text/plain"};
    return info;
  }
  // Writes 1 KiB outputs until cancelled() (at most 1000), then returns ok.
  sdk::Status run(sdk::Context& ctx) override {
    for (int i = 0; i < 1000 && !ctx.cancelled(); ++i) {
      ctx.write_output("part-" + std::to_string(i), "text/plain", std::string(1024, 'x'));
      std::this_thread::sleep_for(1ms);
    }
    return sdk::Status::ok();
  }
};

TEST(SdkHarnessLimits, SimulatesTheOutputCapTheTimeLimitAndCancellation) {
  Chatty chatty;
  {
    sdk::testing::FakeContext ctx;
    ctx.set_output_limit(10 * 1024);
    const sdk::Status status = ctx.run(chatty);
    EXPECT_EQ(status.kind(), sdk::Status::Kind::kPermanent);
    EXPECT_NE(status.message().find("exceed the limit of 10240 bytes"), std::string::npos)
        << status.message();
    EXPECT_EQ(ctx.outputs().size(), 10u) << "the write past the cap was refused";
    EXPECT_FALSE(ctx.output_refusal().empty());
  }
  {
    sdk::testing::FakeContext ctx;
    ctx.set_time_limit(20ms);
    const sdk::Status status = ctx.run(chatty);
    EXPECT_TRUE(ctx.timed_out());
    EXPECT_EQ(status.kind(), sdk::Status::Kind::kPermanent);
    EXPECT_EQ(status.message(),
              "execution time limit of 20 ms exceeded (time spent queued is not counted)");
    EXPECT_LT(ctx.outputs().size(), 1000u) << "the generator stopped when cancelled() said so";
  }
  {
    sdk::testing::FakeContext ctx;
    ctx.cancel();
    EXPECT_TRUE(ctx.run(chatty).is_ok());
    EXPECT_TRUE(ctx.outputs().empty());
    EXPECT_FALSE(ctx.timed_out());
  }
}

}  // namespace
}  // namespace gen
