// Issue 13, attack 5: header injection. A media type with CR/LF — an input's in a job
// submission, or the one a generator gives its output (text.template's `media_type` param) —
// was written into the artifact download's Content-Type header, splitting the response. Now
// submissions refuse it (422 naming the field), the worker fails a task whose output has one,
// and the download never writes a header value with control characters.
#include <gtest/gtest.h>

#include <chrono>

#include "fixture.hpp"
#include "gen/core/base/media_type.hpp"
#include "gen/core/queue/job_store.hpp"
#include "gen/core/storage/database.hpp"

namespace gen::itest {
namespace {

using namespace std::chrono_literals;

const std::string kInjected = "text/plain\r\nX-Injected: yes";

TEST(HeaderInjection, MediaTypeGrammarIsRfc9110) {
  for (const char* good :
       {"text/plain", "application/pdf", "text/plain; charset=utf-8", "text/plain;charset=\"a b\"",
        "application/vnd.api+json", "multipart/form-data; boundary=x-1_2", "text/plain;",
        "image/svg+xml ; q=1", "a/b; x=\"esc\\\"aped\""}) {
    EXPECT_TRUE(is_valid_media_type(good)) << good;
  }
  for (std::string bad :
       {kInjected, std::string("text/plain\nX: y"), std::string("text/plain\rX: y"),
        std::string("text/plain\0x", 12),
        std::string("text/pl\x01"
                    "ain"),
        std::string("text"), std::string("text/"), std::string("/plain"),
        std::string("te xt/plain"), std::string("text/plain; charset"),
        std::string("text/plain; =x"), std::string("text/plain; a=\"unterminated"),
        std::string("text/plain\x7f"), std::string("text/pl\xc3\xa4in"), std::string(""),
        std::string("text/plain extra"), "text/" + std::string(300, 'a')}) {
    EXPECT_FALSE(is_valid_media_type(bad)) << printable_for_message(bad);
  }
  EXPECT_EQ(content_type_for(kInjected), "application/octet-stream");
  EXPECT_EQ(content_type_for("text/csv; header=present"), "text/csv; header=present");
  EXPECT_FALSE(is_safe_header_value("a\r\nb"));
  EXPECT_FALSE(is_safe_header_value(std::string("a\0b", 3)));
  EXPECT_TRUE(is_safe_header_value("attachment; filename=\"a.txt\""));
}

class HeaderInjectionStack : public StackTest {
 protected:
  StackOptions options() override { return {.worker = false}; }
};

TEST_F(HeaderInjectionStack, InputMediaTypeWithCrLfIs422) {
  json job = {
      {"steps", {{{"generator", "fixture.echo"}, {"params", json::object()}}}},
      {"inputs", {{{"name", "in.txt"}, {"media_type", kInjected}, {"content_base64", "aGk="}}}}};
  expect_problem(api().post_json("/api/v1/jobs", job), 422, "VALIDATION_FAILED",
                 "inputs[0].media_type");
  job["inputs"][0]["media_type"] = "text/plain; charset";  // not the grammar either
  expect_problem(api().post_json("/api/v1/jobs", job), 422, "VALIDATION_FAILED",
                 "inputs[0].media_type");
  job["inputs"][0]["media_type"] = "text/plain; charset=utf-8";
  EXPECT_EQ(api().post_json("/api/v1/jobs", job).status, 202);
}

TEST_F(HeaderInjectionStack, MultipartPartMediaTypeMustBeValid) {
  const std::string boundary = "b0undary";
  std::string body = "--" + boundary +
                     "\r\nContent-Disposition: form-data; name=\"job\"\r\n"
                     "Content-Type: application/json\r\n\r\n"
                     R"({"steps":[{"generator":"fixture.echo","params":{}}]})"
                     "\r\n--" +
                     boundary +
                     "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"in.txt\"\r\n"
                     "Content-Type: text/plain; charset\r\n\r\nhello\r\n--" +
                     boundary + "--\r\n";
  HttpResponse r =
      api().request("POST", "/api/v1/jobs", body, "multipart/form-data; boundary=" + boundary);
  expect_problem(r, 422, "VALIDATION_FAILED", "inputs[0].media_type");
}

class HeaderInjectionWorker : public StackTest {};

TEST_F(HeaderInjectionWorker, TemplateOutputMediaTypeWithCrLfFailsTheTask) {
  json job = {{"steps",
               {{{"generator", "text.template"},
                 {"params", {{"template", "hi"}, {"media_type", kInjected}}}}}}};
  json submitted = stack().submit(job);
  ASSERT_TRUE(submitted.contains("id")) << submitted.dump();
  const std::string id = submitted["id"];
  json done = stack().wait_for_job(id, 60s);
  ASSERT_EQ(done["status"], "FAILED") << done.dump(2);
  std::string message = done.dump();
  EXPECT_NE(message.find("invalid media type"), std::string::npos) << message;
  HttpResponse file = api().get("/api/v1/jobs/" + id + "/artifacts/output.txt");
  EXPECT_EQ(file.header("X-Injected"), "");
  EXPECT_NE(file.status, 200) << file.header("Content-Type");
}

// Defence in depth: a row stored before validation existed (written here straight into the
// database) is served as application/octet-stream, and no header is split.
TEST_F(HeaderInjectionStack, StoredBadMediaTypeIsServedAsOctetStream) {
  std::string id;
  {
    auto db = Database::open("sqlite://" + (stack().dir() / "generator.db").string(), 1);
    JobStore store(*db);
    JobSpec spec;
    spec.steps.push_back(StepSpec{"fixture.echo"});
    spec.inputs.push_back(InputFile{"in.txt", kInjected, "hello"});
    id = store.submit(spec);
  }
  HttpResponse file = api().get("/api/v1/jobs/" + id + "/artifacts/in.txt");
  ASSERT_EQ(file.status, 200) << file.body;
  EXPECT_EQ(file.header("Content-Type"), "application/octet-stream");
  EXPECT_EQ(file.header("X-Injected"), "");
  EXPECT_EQ(file.body, "hello");
}

}  // namespace
}  // namespace gen::itest
