// Submission features over the real backend: priorities, delayed jobs (run_after / delay_ms),
// the Idempotency-Key header and bulk submission (all or nothing, one transaction).
#include "fixture.hpp"

namespace gen::itest {
namespace {

using namespace std::chrono_literals;

class Submission : public StackTest {
 protected:
  StackOptions options() override { return {.worker = false}; }
};

json echo_job() {
  return {{"steps", {{{"generator", "fixture.echo"}}}}};
}

TEST_F(Submission, IdempotencyKeyReturnsTheExistingJobWith200) {
  std::map<std::string, std::string> key = {{"Idempotency-Key", "order-42"}};
  HttpResponse first =
      api().request("POST", "/api/v1/jobs", echo_job().dump(), "application/json", key);
  ASSERT_EQ(first.status, 202) << first.body;
  HttpResponse again =
      api().request("POST", "/api/v1/jobs", echo_job().dump(), "application/json", key);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.json_body()["id"], first.json_body()["id"]);
  EXPECT_EQ(again.header("Location"), first.header("Location"));
  HttpResponse other = api().request("POST", "/api/v1/jobs", echo_job().dump(), "application/json",
                                     {{"Idempotency-Key", "order-43"}});
  ASSERT_EQ(other.status, 202) << other.body;
  EXPECT_NE(other.json_body()["id"], first.json_body()["id"]);
  HttpResponse bad = api().request("POST", "/api/v1/jobs", echo_job().dump(), "application/json",
                                   {{"Idempotency-Key", "has space"}});
  expect_problem(bad, 422, "VALIDATION_FAILED", "Idempotency-Key");
  EXPECT_EQ(api().get("/api/v1/jobs").json_body()["jobs"].size(), 2u);
}

TEST_F(Submission, PriorityAndDelayAreValidatedAndStored) {
  json body = echo_job();
  body["priority"] = 7;
  body["run_after"] = "2099-01-01T00:00:00Z";
  expect_problem(api().post_json("/api/v1/jobs", body), 422, "VALIDATION_FAILED", "run_after");
  body["run_after"] = "2020-01-01T00:00:00.250+02:00";  // in the past: runs now
  HttpResponse r = api().post_json("/api/v1/jobs", body);
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(r.json_body()["priority"], 7);
  for (const char* bad :
       {"2020-13-01T00:00:00Z", "2020-01-01 00:00:00Z", "2020-01-01T00:00:00", "yesterday"}) {
    body["run_after"] = bad;
    expect_problem(api().post_json("/api/v1/jobs", body), 422, "VALIDATION_FAILED", "run_after");
  }
  body.erase("run_after");
  body["delay_ms"] = -1;
  expect_problem(api().post_json("/api/v1/jobs", body), 422, "VALIDATION_FAILED", "delay_ms");
  body["delay_ms"] = 1000;
  body["run_after"] = "2020-01-01T00:00:00Z";
  expect_problem(api().post_json("/api/v1/jobs", body), 422, "VALIDATION_FAILED", "delay_ms");
}

TEST_F(Submission, DelayedJobWaitsUntilItsTime) {
  // A worker runs here; the delayed job must still be QUEUED with its task not started while an
  // undelayed job submitted after it completes.
  Stack stack_with_worker({.worker = true});
  json delayed = echo_job();
  delayed["delay_ms"] = 3600 * 1000;
  json d = stack_with_worker.submit(delayed);
  json now = stack_with_worker.submit(echo_job());
  json done = stack_with_worker.wait_for_job(now["id"], 60s);
  EXPECT_EQ(done["status"], "COMPLETED");
  json still = stack_with_worker.get_job(d["id"]);
  EXPECT_EQ(still["status"], "QUEUED");
  EXPECT_TRUE(still["tasks"][0]["started_at"].is_null()) << still.dump(2);
}

TEST_F(Submission, BulkIsAllOrNothingAndNamesTheBadJob) {
  json jobs = json::array();
  for (int i = 0; i < 5; ++i) jobs.push_back(echo_job());
  jobs[3]["steps"][0]["generator"] = "no.such";
  HttpResponse refused = api().post_json("/api/v1/jobs/bulk", {{"jobs", jobs}});
  expect_problem(refused, 422, "UNKNOWN_GENERATOR", "jobs[3].steps[0].generator");
  EXPECT_EQ(api().get("/api/v1/jobs").json_body()["jobs"].size(), 0u) << "nothing was queued";

  jobs[3] = echo_job();
  jobs[1]["idempotency_key"] = "bulk-1";
  jobs[2]["priority"] = 5;
  HttpResponse ok = api().post_json("/api/v1/jobs/bulk", {{"jobs", jobs}});
  ASSERT_EQ(ok.status, 202) << ok.body;
  json created = ok.json_body()["jobs"];
  ASSERT_EQ(created.size(), 5u);
  for (const json& j : created) {
    EXPECT_TRUE(j["created"].get<bool>());
    EXPECT_EQ(stack().get_job(j["id"])["status"], "QUEUED");
  }
  EXPECT_EQ(stack().get_job(created[2]["id"])["priority"], 5);

  // The same key again: that job already exists, the others are new.
  HttpResponse again = api().post_json("/api/v1/jobs/bulk", {{"jobs", {echo_job(), jobs[1]}}});
  ASSERT_EQ(again.status, 202) << again.body;
  EXPECT_TRUE(again.json_body()["jobs"][0]["created"].get<bool>());
  EXPECT_FALSE(again.json_body()["jobs"][1]["created"].get<bool>());
  EXPECT_EQ(again.json_body()["jobs"][1]["id"], created[1]["id"]);

  expect_problem(api().post_json("/api/v1/jobs/bulk", {{"jobs", json::array()}}), 422,
                 "VALIDATION_FAILED", "jobs");
  expect_problem(api().post_json("/api/v1/jobs/bulk", {{"jobs", {jobs[1], jobs[1]}}}), 422,
                 "VALIDATION_FAILED", "jobs[1].idempotency_key");
  json unknown = echo_job();
  unknown["colour"] = "red";
  expect_problem(api().post_json("/api/v1/jobs/bulk", {{"jobs", {echo_job(), unknown}}}), 422,
                 "VALIDATION_FAILED", "jobs[1].colour");
}

}  // namespace
}  // namespace gen::itest

namespace gen::itest {
namespace {

class Waiting : public StackTest {};

TEST_F(Waiting, WaitAnswersWithTheFinishedJob) {
  HttpResponse r = api().post_json("/api/v1/jobs?wait=60", echo_job());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json_body()["status"], "COMPLETED");
  EXPECT_EQ(r.json_body()["artifacts"].size(), 1u);
  expect_problem(api().post_json("/api/v1/jobs?wait=61", echo_job()), 422, "VALIDATION_FAILED",
                 "wait");
  expect_problem(api().post_json("/api/v1/jobs?wait=soon", echo_job()), 422, "VALIDATION_FAILED",
                 "wait");
  json delayed = echo_job();
  delayed["delay_ms"] = 3600 * 1000;
  HttpResponse late = api().post_json("/api/v1/jobs?wait=1", delayed);
  EXPECT_EQ(late.status, 202) << late.body;  // did not end in time: the usual answer
  EXPECT_EQ(late.json_body()["status"], "QUEUED");
}

class RateLimit : public StackTest {
 protected:
  StackOptions options() override { return {.worker = false}; }
};

TEST_F(RateLimit, TenantOverTheLimitGets429WithRetryAfter) {
  ASSERT_EQ(api().post_json("/api/v1/app_management/tenants", {{"id", "acme"}}).status, 201);
  std::map<std::string, std::string> acme = {{"tenant-id", "acme"}};
  ASSERT_EQ(api()
                .request("PUT", "/api/v1/config/LIMITS__REQUESTS_PER_S", R"({"value":1})",
                         "application/json", acme)
                .status,
            200);
  int limited = 0;
  HttpResponse refused;
  for (int i = 0; i < 20; ++i) {
    HttpResponse r = api().request("GET", "/api/v1/jobs", "", "", acme);
    if (r.status == 429) {
      ++limited;
      refused = r;
    } else {
      EXPECT_EQ(r.status, 200) << r.body;
    }
  }
  ASSERT_GT(limited, 0);
  expect_problem(refused, 429, "TOO_MANY_REQUESTS");
  EXPECT_GE(std::stoi(refused.header("Retry-After")), 1);
  // Other tenants (here the system scope) are not limited by acme's setting.
  for (int i = 0; i < 20; ++i) EXPECT_EQ(api().get("/api/v1/jobs").status, 200);
}

}  // namespace
}  // namespace gen::itest
