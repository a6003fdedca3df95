// Jobs end to end: submitted over REST, run by the real worker, downloaded over REST.
#include <set>

#include "fixture.hpp"

namespace gen::itest {
namespace {

using namespace std::chrono_literals;

constexpr auto kJobTimeout = 60s;

class Jobs : public StackTest {};

json step(const std::string& generator, const json& params) {
  return {{"generator", generator}, {"params", params}};
}

TEST_F(Jobs, ContractJobRendersTheTemplateAndServesTheArtifact) {
  json job = stack().submit({{"steps",
                              {step("text.template", {{"template", "Hello {{name}}!"},
                                                      {"data", {{"name", "World"}}}})}}});
  ASSERT_TRUE(job.contains("id")) << job.dump();
  // The answer shows the job as stored a moment after the commit: an idle worker may have
  // claimed (or even finished) it already.
  static const std::set<std::string> kJustSubmitted = {"QUEUED", "RUNNING", "COMPLETED"};
  EXPECT_TRUE(kJustSubmitted.count(job["status"].get<std::string>())) << job.dump();
  std::string id = job["id"];

  json done = stack().wait_for_job(id, kJobTimeout);
  ASSERT_EQ(done["status"], "COMPLETED") << done.dump(2);
  EXPECT_EQ(done["progress"], 1.0);
  EXPECT_TRUE(done["error"].is_null());
  EXPECT_TRUE(done["finished_at"].is_string());
  ASSERT_EQ(done["artifacts"].size(), 1u) << done.dump(2);
  const json& artifact = done["artifacts"][0];
  EXPECT_EQ(artifact["size_bytes"], 12);
  EXPECT_EQ(artifact["step"], 0);

  HttpResponse file = api().get(artifact["url"].get<std::string>());
  ASSERT_EQ(file.status, 200) << file.body;
  EXPECT_EQ(file.body, "Hello World!");
  EXPECT_TRUE(file.header("Content-Type").starts_with("text/plain")) << file.header("Content-Type");
  EXPECT_EQ(file.header("Content-Length"), "12");
  EXPECT_NE(file.header("Content-Disposition")
                .find("attachment; filename=\"" + artifact["name"].get<std::string>() + "\""),
            std::string::npos)
      << file.header("Content-Disposition");
}

TEST_F(Jobs, SecondStepReadsTheFirstStepsOutputs) {
  json body = {{"inputs",
                {{{"name", "data.json"},
                  {"media_type", "application/json"},
                  {"content_base64", base64_encode(R"({"name":"Upload"})")}}}},
               {"steps",
                {step("fixture.echo", {{"message", "Hi"}}),
                 step("text.template", {{"template", "{{message}} {{name}}!"}})}}};
  json job = stack().submit(body);
  ASSERT_TRUE(job.contains("id")) << job.dump();
  std::string id = job["id"];
  ASSERT_EQ(job["tasks"].size(), 2u);

  json done = stack().wait_for_job(id, kJobTimeout);
  ASSERT_EQ(done["status"], "COMPLETED") << done.dump(2);
  // "Hi" only exists in the echo's params.json and "Upload" only in the uploaded file that
  // echo copied: the template step saw both of the first step's outputs.
  HttpResponse out = api().get("/api/v1/jobs/" + id + "/artifacts/output.txt");
  ASSERT_EQ(out.status, 200) << out.body;
  EXPECT_EQ(out.body, "Hi Upload!");

  HttpResponse all = api().get("/api/v1/jobs/" + id + "/artifacts?all=true");
  ASSERT_EQ(all.status, 200);
  std::set<std::pair<std::string, int>> seen;
  const json all_body = all.json_body();
  for (const json& a : all_body["artifacts"]) {
    seen.insert({a["name"].get<std::string>(), a["step"].get<int>()});
  }
  EXPECT_TRUE(seen.count({"data.json", -1})) << all.body;  // the upload
  EXPECT_TRUE(seen.count({"data.json", 0})) << all.body;   // echo's copy
  EXPECT_TRUE(seen.count({"params.json", 0})) << all.body;
  EXPECT_TRUE(seen.count({"output.txt", 1})) << all.body;

  HttpResponse final_only = api().get("/api/v1/jobs/" + id + "/artifacts");
  ASSERT_EQ(final_only.status, 200);
  ASSERT_EQ(final_only.json_body()["artifacts"].size(), 1u) << final_only.body;
  EXPECT_EQ(final_only.json_body()["artifacts"][0]["name"], "output.txt");
}

TEST_F(Jobs, PermanentFailureFailsTheJobWithThePluginsMessage) {
  json job = stack().submit(
      {{"steps", {step("fixture.fail_permanent", {{"message", "bad input: page 3 is empty"}})}}});
  ASSERT_TRUE(job.contains("id"));
  json done = stack().wait_for_job(job["id"], kJobTimeout);
  ASSERT_EQ(done["status"], "FAILED") << done.dump(2);
  ASSERT_TRUE(done["error"].is_object()) << done.dump(2);
  EXPECT_NE(done["error"]["message"].get<std::string>().find("bad input: page 3 is empty"),
            std::string::npos)
      << done.dump(2);
  const json& task = done["tasks"][0];
  EXPECT_EQ(task["state"], "FAILED");
  EXPECT_EQ(task["attempts"].size(), 1u) << "a permanent failure must not be retried";
  EXPECT_TRUE(done["artifacts"].empty());
}

TEST_F(Jobs, RetryableFailureSucceedsOnTheSecondAttempt) {
  json job = stack().submit({{"steps",
                              {step("fixture.fail_retryable",
                                    {{"succeed_on_attempt", 2}, {"message", "flaky upstream"}})}}});
  ASSERT_TRUE(job.contains("id"));
  EXPECT_EQ(job["tasks"][0]["max_attempts"], 3);  // the generator's default
  json done = stack().wait_for_job(job["id"], kJobTimeout);
  ASSERT_EQ(done["status"], "COMPLETED") << done.dump(2);
  const json& task = done["tasks"][0];
  EXPECT_EQ(task["attempt"], 2);
  ASSERT_EQ(task["attempts"].size(), 2u) << done.dump(2);
  EXPECT_EQ(task["attempts"][0]["attempt"], 1);
  ASSERT_TRUE(task["attempts"][0]["error"].is_object()) << done.dump(2);
  EXPECT_NE(task["attempts"][0]["error"]["message"].get<std::string>().find("flaky upstream"),
            std::string::npos);
  EXPECT_EQ(task["attempts"][1]["attempt"], 2);
  EXPECT_TRUE(task["attempts"][1]["error"].is_null()) << done.dump(2);

  HttpResponse file =
      api().get("/api/v1/jobs/" + done["id"].get<std::string>() + "/artifacts/attempt.txt");
  ASSERT_EQ(file.status, 200);
  EXPECT_EQ(file.body, "2");
}

TEST_F(Jobs, CancelRunningJob) {
  json job = stack().submit({{"steps", {step("fixture.sleep", {{"ms", 120000}})}}});
  ASSERT_TRUE(job.contains("id"));
  std::string id = job["id"];
  json running = stack().wait_for_job(id, kJobTimeout, "RUNNING");
  ASSERT_EQ(running["status"], "RUNNING");

  HttpResponse cancel = api().request("POST", "/api/v1/jobs/" + id + "/cancel");
  ASSERT_EQ(cancel.status, 200) << cancel.body;
  EXPECT_EQ(cancel.json_body()["status"], "CANCELLED");

  json done = stack().wait_for_job(id, kJobTimeout);
  EXPECT_EQ(done["status"], "CANCELLED");
  // The running sleep was told to stop: it never completes and writes nothing.
  EXPECT_TRUE(done["artifacts"].empty());

  expect_problem(api().request("POST", "/api/v1/jobs/" + id + "/cancel"), 409, "CONFLICT");
}

TEST_F(Jobs, DeleteRemovesTheJob) {
  json job = stack().submit({{"steps", {step("text.template", {{"template", "x"}})}}});
  ASSERT_TRUE(job.contains("id"));
  std::string id = job["id"];
  stack().wait_for_job(id, kJobTimeout);

  HttpResponse del = api().del("/api/v1/jobs/" + id);
  EXPECT_EQ(del.status, 204);
  EXPECT_TRUE(del.body.empty());
  expect_problem(api().get("/api/v1/jobs/" + id), 404, "NOT_FOUND", "id");
  expect_problem(api().get("/api/v1/jobs/" + id + "/artifacts/output.txt"), 404, "NOT_FOUND");
  expect_problem(api().del("/api/v1/jobs/" + id), 404, "NOT_FOUND", "id");
}

// Without a worker jobs stay QUEUED: listing and cancelling see a stable state.
class QueuedJobs : public StackTest {
 protected:
  StackOptions options() override { return {.worker = false}; }
};

TEST_F(QueuedJobs, CancelQueuedJob) {
  json job = stack().submit({{"steps", {step("fixture.sleep", {{"ms", 10}})}}});
  ASSERT_TRUE(job.contains("id"));
  HttpResponse cancel =
      api().request("POST", "/api/v1/jobs/" + job["id"].get<std::string>() + "/cancel");
  ASSERT_EQ(cancel.status, 200) << cancel.body;
  EXPECT_EQ(cancel.json_body()["status"], "CANCELLED");
  EXPECT_EQ(stack().get_job(job["id"])["status"], "CANCELLED");
  expect_problem(api().request("POST", "/api/v1/jobs/no-such-job/cancel"), 404, "NOT_FOUND");
}

TEST_F(QueuedJobs, ListPagesFollowNext) {
  std::set<std::string> submitted;
  for (int i = 0; i < 3; ++i) {
    json job = stack().submit({{"steps", {step("fixture.echo", json::object())}}, {"priority", i}});
    ASSERT_TRUE(job.contains("id"));
    submitted.insert(job["id"]);
  }
  std::set<std::string> listed;
  std::string path = "/api/v1/jobs?limit=1";
  int pages = 0;
  for (;;) {
    HttpResponse r = api().get(path);
    ASSERT_EQ(r.status, 200) << r.body;
    json page = r.json_body();
    ASSERT_LE(page["jobs"].size(), 1u);
    for (const json& j : page["jobs"]) {
      EXPECT_EQ(j["status"], "QUEUED");
      EXPECT_TRUE(listed.insert(j["id"]).second) << "listed twice: " << j["id"];
    }
    ++pages;
    ASSERT_LE(pages, 10) << "paging does not end";
    if (page["next"].is_null()) break;
    path = "/api/v1/jobs?limit=1&cursor=" + page["next"].get<std::string>();
  }
  EXPECT_EQ(listed, submitted);

  HttpResponse queued = api().get("/api/v1/jobs?status=QUEUED");
  ASSERT_EQ(queued.status, 200);
  EXPECT_EQ(queued.json_body()["jobs"].size(), 3u);
  HttpResponse completed = api().get("/api/v1/jobs?status=COMPLETED");
  ASSERT_EQ(completed.status, 200);
  EXPECT_TRUE(completed.json_body()["jobs"].empty());
}

TEST_F(QueuedJobs, SubmittedJobCarriesDefaultsAndLocation) {
  HttpResponse r = api().post_json(
      "/api/v1/jobs",
      {{"steps", {{{"generator", "fixture.echo"}, {"timeout_ms", 5000}}}}, {"priority", 7}});
  ASSERT_EQ(r.status, 202) << r.body;
  json job = r.json_body();
  EXPECT_EQ(r.header("Location"), "/api/v1/jobs/" + job["id"].get<std::string>());
  EXPECT_EQ(job["priority"], 7);
  EXPECT_TRUE(job["started_at"].is_null());
  EXPECT_TRUE(job["created_at"].is_string());
  ASSERT_EQ(job["tasks"].size(), 1u);
  EXPECT_EQ(job["tasks"][0]["generator"], "fixture.echo");
  EXPECT_EQ(job["tasks"][0]["max_attempts"], 3);
  HttpResponse again = api().get(r.header("Location"));
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(again.json_body()["id"], job["id"]);
}

}  // namespace
}  // namespace gen::itest
