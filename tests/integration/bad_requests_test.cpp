// Every bad request is refused with a precise problem+json, and none of them queues a job.
#include "fixture.hpp"

namespace gen::itest {
namespace {

constexpr int kMaxRequestBytes = 4096;

class BadRequests : public StackTest {
 protected:
  StackOptions options() override {
    return {.worker = false,
            .env = {{"LIMITS__MAX_REQUEST_BYTES", std::to_string(kMaxRequestBytes)}}};
  }
  void TearDown() override {
    if (stack_) {
      HttpResponse jobs = api().get("/api/v1/jobs");
      EXPECT_EQ(jobs.status, 200) << jobs.body;
      EXPECT_EQ(jobs.json_body()["jobs"], json::array()) << "a bad request queued a job";
    }
    StackTest::TearDown();
  }
  HttpResponse submit(const json& body) { return api().post_json("/api/v1/jobs", body); }
};

json echo_step(const json& params) {
  return {{"generator", "fixture.echo"}, {"params", params}};
}

json input(const std::string& name, const std::string& content_base64) {
  return {{"name", name}, {"media_type", "text/plain"}, {"content_base64", content_base64}};
}

TEST_F(BadRequests, InvalidJson) {
  expect_problem(api().request("POST", "/api/v1/jobs", "{\"steps\": [", "application/json"), 400,
                 "INVALID_JSON");
}

TEST_F(BadRequests, WrongContentType) {
  expect_problem(api().request("POST", "/api/v1/jobs", R"({"steps":[]})", "text/plain"), 415,
                 "UNSUPPORTED_MEDIA_TYPE");
  expect_problem(api().request("POST", "/api/v1/jobs", R"({"steps":[]})"), 415,
                 "UNSUPPORTED_MEDIA_TYPE");
}

TEST_F(BadRequests, MissingOrEmptySteps) {
  expect_problem(submit(json::object()), 422, "VALIDATION_FAILED", "steps");
  expect_problem(submit({{"steps", json::array()}}), 422, "VALIDATION_FAILED", "steps");
  expect_problem(submit({{"steps", "text.template"}}), 422, "VALIDATION_FAILED", "steps");
}

TEST_F(BadRequests, UnknownGeneratorListsTheAvailableOnes) {
  HttpResponse r = submit({{"steps", {{{"generator", "text.no_such_thing"}}}}});
  expect_problem(r, 422, "UNKNOWN_GENERATOR", "steps[0].generator");
  std::string detail = r.json_body().value("detail", "");
  EXPECT_NE(detail.find("text.template"), std::string::npos) << detail;
  EXPECT_NE(detail.find("fixture.echo"), std::string::npos) << detail;
  // The second step is validated too.
  expect_problem(submit({{"steps", {echo_step(json::object()), {{"generator", "nope"}}}}}), 422,
                 "UNKNOWN_GENERATOR", "steps[1].generator");
}

TEST_F(BadRequests, MissingRequiredParam) {
  expect_problem(
      submit({{"steps", {{{"generator", "fixture.record"}, {"params", json::object()}}}}}), 422,
      "VALIDATION_FAILED", "steps[0].params.path");
}

TEST_F(BadRequests, WrongTypedParam) {
  expect_problem(submit({{"steps", {echo_step({{"count", "three"}})}}}), 422, "VALIDATION_FAILED",
                 "steps[0].params.count");
  expect_problem(submit({{"steps", {echo_step({{"size", "A5"}})}}}), 422, "VALIDATION_FAILED",
                 "steps[0].params.size");
}

TEST_F(BadRequests, UnknownParam) {
  expect_problem(submit({{"steps", {echo_step({{"mesage", "typo"}})}}}), 422, "VALIDATION_FAILED",
                 "steps[0].params.mesage");
}

TEST_F(BadRequests, BadStepOptions) {
  expect_problem(submit({{"steps", {{{"generator", "fixture.echo"}, {"max_attempts", 0}}}}}), 422,
                 "VALIDATION_FAILED", "steps[0].max_attempts");
  expect_problem(submit({{"steps", {{{"generator", "fixture.echo"}, {"timeout_ms", "soon"}}}}}),
                 422, "VALIDATION_FAILED", "steps[0].timeout_ms");
  expect_problem(submit({{"steps", {echo_step(json::object())}}, {"priority", 1.5}}), 422,
                 "VALIDATION_FAILED", "priority");
  expect_problem(submit({{"steps", {echo_step(json::object())}}, {"webhook", "x"}}), 422,
                 "VALIDATION_FAILED", "webhook");
}

TEST_F(BadRequests, BadBase64) {
  expect_problem(submit({{"inputs", {input("a.txt", "aGVsbG8=="), input("b.txt", "not base64!")}},
                         {"steps", {echo_step(json::object())}}}),
                 422, "VALIDATION_FAILED", "inputs[0].content_base64");
  expect_problem(submit({{"inputs", {input("a.txt", "aGVsbG8="), input("b.txt", "not base64!")}},
                         {"steps", {echo_step(json::object())}}}),
                 422, "VALIDATION_FAILED", "inputs[1].content_base64");
}

TEST_F(BadRequests, BadInputNames) {
  expect_problem(submit({{"inputs", {input("a.txt", "YQ=="), input("a.txt", "Yg==")}},
                         {"steps", {echo_step(json::object())}}}),
                 422, "VALIDATION_FAILED", "inputs[1].name");
  expect_problem(submit({{"inputs", {input("../etc/passwd", "YQ==")}},
                         {"steps", {echo_step(json::object())}}}),
                 422, "VALIDATION_FAILED", "inputs[0].name");
  expect_problem(submit({{"inputs", {input("", "YQ==")}}, {"steps", {echo_step(json::object())}}}),
                 422, "VALIDATION_FAILED", "inputs[0].name");
  expect_problem(submit({{"inputs", {{{"name", "a.txt"}, {"content_base64", "YQ=="}}}},
                         {"steps", {echo_step(json::object())}}}),
                 422, "VALIDATION_FAILED", "inputs[0].media_type");
}

TEST_F(BadRequests, OversizedBody) {
  json body = {{"steps", {echo_step({{"message", std::string(2 * kMaxRequestBytes, 'x')}})}}};
  expect_problem(submit(body), 413, "PAYLOAD_TOO_LARGE");
}

TEST_F(BadRequests, UnknownJob) {
  expect_problem(api().get("/api/v1/jobs/00000000-0000-0000-0000-000000000000"), 404, "NOT_FOUND",
                 "id");
  expect_problem(api().del("/api/v1/jobs/nope"), 404, "NOT_FOUND", "id");
  expect_problem(api().get("/api/v1/jobs/nope/artifacts"), 404, "NOT_FOUND", "id");
}

TEST_F(BadRequests, UnknownRoute) {
  expect_problem(api().get("/api/v2/jobs"), 404, "NOT_FOUND");
  expect_problem(api().get("/"), 404, "NOT_FOUND");
}

TEST_F(BadRequests, WrongMethod) {
  HttpResponse r = api().request("PUT", "/api/v1/jobs", "{}", "application/json");
  expect_problem(r, 405, "METHOD_NOT_ALLOWED");
  EXPECT_EQ(r.header("Allow"), "POST, GET");
  HttpResponse r2 = api().request("PATCH", "/api/v1/jobs/abc");
  expect_problem(r2, 405, "METHOD_NOT_ALLOWED");
  EXPECT_EQ(r2.header("Allow"), "GET, DELETE");
}

TEST_F(BadRequests, BadListQuery) {
  expect_problem(api().get("/api/v1/jobs?status=DONE"), 422, "VALIDATION_FAILED", "status");
  expect_problem(api().get("/api/v1/jobs?limit=0"), 422, "VALIDATION_FAILED", "limit");
  expect_problem(api().get("/api/v1/jobs?limit=abc"), 422, "VALIDATION_FAILED", "limit");
  expect_problem(api().get("/api/v1/jobs?limit=1001"), 422, "VALIDATION_FAILED", "limit");
}

}  // namespace
}  // namespace gen::itest
