// Hostile JSON (issue 13, items 1, 2 (text.template), 3, 11 and part of 15): deep nesting,
// node-count amplification, numbers out of range, invalid UTF-8, NUL in names, two "job" parts.
// The bounded parser (gen::sdk::parse_json) is tested directly; the attacks go through the real
// backend and worker (tests/support/harness.hpp) on SQLite (no storage is involved).
#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <gen/sdk/json.hpp>

#include "fixture.hpp"
#include "sanitizers.hpp"

namespace gen::itest {
namespace {

using sdk::JsonError;
using sdk::JsonLimits;
using sdk::parse_json;

std::string nested_arrays(std::size_t depth, std::string_view inner = "") {
  std::string out(depth, '[');
  out += inner;
  out.append(depth, ']');
  return out;
}

// ---- the bounded parser ---------------------------------------------------------------------

TEST(BoundedJsonParser, ParsesWhatJsonParseParses) {
  const std::string text =
      R"({"a":[1,-2,18446744073709551615,2.5,1e300,"s\u00e9",true,false,null,{}],"b":{"c":[]},)"
      R"("a2":"dup","a2":"last"})";
  auto r = parse_json(text);
  ASSERT_TRUE(r) << r.error->describe();
  EXPECT_EQ(r.value, nlohmann::json::parse(text));
  EXPECT_EQ(r.value["a2"], "last");  // like json::parse: the last duplicate wins
  ASSERT_TRUE(parse_json("42"));
  EXPECT_EQ(parse_json("42").value, 42);
  EXPECT_EQ(parse_json(R"("x")").value, "x");
}

TEST(BoundedJsonParser, DepthLimitNamesThePath) {
  JsonLimits limits{.max_depth = 4, .max_values = 1000};
  EXPECT_TRUE(parse_json(nested_arrays(4), limits));
  auto r = parse_json(R"({"a":[{"b":[[1]]}]})", limits);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error->kind, JsonError::Kind::kTooDeep);
  EXPECT_EQ(r.error->field, "a[0].b[0]");
  EXPECT_NE(r.error->message.find("LIMITS__MAX_JSON_DEPTH"), std::string::npos);
  EXPECT_TRUE(r.value.is_null());
}

TEST(BoundedJsonParser, AMillionLevelsAreRefusedWithoutRecursion) {
  auto r = parse_json(nested_arrays(1'000'000));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error->kind, JsonError::Kind::kTooDeep);
  std::string expected;
  for (int i = 0; i < 128; ++i) expected += "[0]";
  EXPECT_EQ(r.error->field, expected);
  // It stopped where the limit was crossed, not at the end of the text.
  EXPECT_LT(r.error->byte_offset, 1000u);
}

TEST(BoundedJsonParser, ValueLimitStopsBeforeTheTreeGrows) {
  JsonLimits limits{.max_depth = 8, .max_values = 10};
  auto ok = parse_json("[1,2,3,4,5,6,7,8,9]", limits);  // 10 values: the array and 9
  EXPECT_TRUE(ok);
  auto r = parse_json(R"({"x":[[],[],[],[],[],[],[],[],[],[],[],[]]})", limits);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error->kind, JsonError::Kind::kTooManyValues);
  EXPECT_EQ(r.error->field, "x[8]");  // root, x, and x[0..7] are the first ten
  EXPECT_NE(r.error->message.find("LIMITS__MAX_JSON_VALUES"), std::string::npos);
  // Long strings are one value each: a 20 MB string passes a 10-value limit.
  EXPECT_TRUE(parse_json("[\"" + std::string(20 << 20, 'A') + "\"]", limits));
}

TEST(BoundedJsonParser, NumbersOutOfRangeNameTheirPath) {
  auto r = parse_json(R"({"a":{"b":[0,1e400]}})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error->kind, JsonError::Kind::kNumberOutOfRange);
  EXPECT_EQ(r.error->field, "a.b[1]");
  auto huge = parse_json(R"({"n":)" + std::string(100'000, '7') + "}");
  ASSERT_FALSE(huge);
  EXPECT_EQ(huge.error->kind, JsonError::Kind::kNumberOutOfRange);
  EXPECT_EQ(huge.error->field, "n");
  EXPECT_LT(huge.error->message.size(), 300u) << "the message quotes a bounded part";
  // Beyond 64 bits but within double's range: still refused rather than rounded.
  auto rounded = parse_json(R"([123456789012345678901234567890])");
  ASSERT_FALSE(rounded);
  EXPECT_EQ(rounded.error->field, "[0]");
  EXPECT_EQ(parse_json("-1e400").error->kind, JsonError::Kind::kNumberOutOfRange);
  EXPECT_TRUE(parse_json("[1e-400, 1.7e308, -9223372036854775808]"));
}

TEST(BoundedJsonParser, SyntaxErrorsArePrintableAndBounded) {
  auto r = parse_json("{\"a\":[\"ok\",\"bad \xff byte\"]}");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error->kind, JsonError::Kind::kSyntax);
  EXPECT_EQ(r.error->field, "a[1]");
  EXPECT_NE(r.error->message.find("\\xff"), std::string::npos) << r.error->message;
  for (char c : r.error->message) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << r.error->message;
  auto unterminated = parse_json("[\"" + std::string(1 << 20, 'x'));
  ASSERT_FALSE(unterminated);
  EXPECT_LT(unterminated.error->message.size(), 400u);
  EXPECT_FALSE(parse_json("[1] trailing"));
  EXPECT_FALSE(parse_json(""));
  EXPECT_FALSE(parse_json("[1,]"));
  EXPECT_EQ(r.error->describe("body"), "body.a[1]: " + r.error->message);
}

// ---- through the services -------------------------------------------------------------------

// One backend + worker, started on first use and shared by the attack suites below (each
// suite is named after its attack); every test checks that the backend survived.
class LiveStack : public ::testing::Test {
 protected:
  static std::unique_ptr<Stack>& shared() {
    static std::unique_ptr<Stack> stack;
    return stack;
  }
  // Restarted when an attack took the backend down, so that one crash fails one test only.
  static Stack& stack() {
    bool healthy = false;
    if (shared() && shared()->backend().running()) {
      try {
        healthy = shared()->api().get("/health").status == 200;
      } catch (const std::exception&) {
      }
    }
    if (!healthy) {
      shared().reset();
      shared() = std::make_unique<Stack>(StackOptions{.worker = true});
    }
    return *shared();
  }
  void TearDown() override {
    ASSERT_TRUE(shared());
    Stack& s = *shared();
    // A crash takes a moment to end the process: give it that moment.
    std::optional<int> exited = s.backend().wait(std::chrono::milliseconds(500));
    EXPECT_FALSE(exited.has_value()) << "the attack took the backend down (exit " << *exited << ")";
    if (!exited) {
      EXPECT_EQ(s.api().get("/health").status, 200);
    }
    if (HasFailure()) std::cerr << s.logs();
  }
  static const HttpClient& api() { return stack().api(); }
  static HttpResponse post(const std::string& path, const std::string& body,
                           const std::map<std::string, std::string>& headers = {}) {
    return api().request("POST", path, body, "application/json", headers);
  }
};
class DeepJson : public LiveStack {};
class JsonNumbers : public LiveStack {};
class InvalidUtf8 : public LiveStack {};
class NulInNames : public LiveStack {};
class TwoJobParts : public LiveStack {};
class DeepJsonArtifact : public LiveStack {};

std::string job_with_data(const std::string& data_value) {
  return R"({"steps":[{"generator":"text.template","params":{"template":"x","data":{"a":)" +
         data_value + "}}}]}";
}

void expect_field_prefix(const HttpResponse& r, int status, const std::string& code,
                         const std::string& field_prefix) {
  EXPECT_EQ(r.status, status) << r.body.substr(0, 2000);
  EXPECT_EQ(r.header("Content-Type"), "application/problem+json");
  json body = r.json_body();
  ASSERT_TRUE(body.is_object()) << r.body.substr(0, 2000);
  EXPECT_EQ(body.value("code", ""), code) << r.body.substr(0, 2000);
  EXPECT_TRUE(body.value("field", "").starts_with(field_prefix)) << r.body.substr(0, 2000);
}

TEST_F(DeepJson, JobParamsNested60000DeepGet422) {
  HttpResponse r = post("/api/v1/jobs", job_with_data(nested_arrays(60'000)));
  expect_field_prefix(r, 422, "VALIDATION_FAILED", "steps[0].params.data.a[0][0][0]");
  EXPECT_NE(r.json_body().value("detail", "").find("LIMITS__MAX_JSON_DEPTH"), std::string::npos);
}

TEST_F(DeepJson, BulkConfigWebhooksAndMultipartGet422) {
  const std::string deep = nested_arrays(60'000);
  expect_field_prefix(post("/api/v1/jobs/bulk", R"({"jobs":[)" + job_with_data(deep) + "]}"), 422,
                      "VALIDATION_FAILED", "jobs[0].steps[0].params.data.a[0][0]");
  expect_field_prefix(api().request("PUT", "/api/v1/config/JOBS__DEFAULT_PRIORITY",
                                    R"({"value":)" + deep + "}", "application/json"),
                      422, "VALIDATION_FAILED", "value[0][0]");
  expect_field_prefix(
      post("/api/v1/webhooks", R"({"url":"https://example.com/h","events":)" + deep + "}"), 422,
      "VALIDATION_FAILED", "events[0][0]");
  const std::string form = "--b\r\nContent-Disposition: form-data; name=\"job\"\r\n\r\n" +
                           job_with_data(deep) + "\r\n--b--\r\n";
  expect_field_prefix(
      api().request("POST", "/api/v1/jobs", form, "multipart/form-data; boundary=b"), 422,
      "VALIDATION_FAILED", "steps[0].params.data.a[0][0]");
}

TEST_F(JsonNumbers, OutOfRangeGet422NamingTheField) {
  expect_problem(post("/api/v1/jobs", job_with_data("[1, 1e400]")), 422, "VALIDATION_FAILED",
                 "steps[0].params.data.a[1]");
  expect_problem(post("/api/v1/jobs", job_with_data(std::string(100'000, '9'))), 422,
                 "VALIDATION_FAILED", "steps[0].params.data.a");
  expect_problem(post("/api/v1/jobs", R"({"steps":[{"generator":"text.template",)"
                                      R"("params":{"template":"x"}}],"priority":-1e400})"),
                 422, "VALIDATION_FAILED", "priority");
  expect_problem(api().request("PUT", "/api/v1/config/JOBS__DEFAULT_PRIORITY", R"({"value":1e999})",
                               "application/json"),
                 422, "VALIDATION_FAILED", "value");
}

TEST_F(InvalidUtf8, IsInvalidJsonAndKeepsTheConnection) {
  expect_problem(post("/api/v1/jobs", job_with_data("\"caf\xc3\x28 \xff\"")), 400, "INVALID_JSON",
                 "steps[0].params.data.a");
  // On one kept-alive connection: the refusal, then another request.
  Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(api().port()));
  session.setKeepAlive(true);
  session.setTimeout(Poco::Timespan(30, 0));
  const std::string body = job_with_data("\"\xff\"");
  Poco::Net::HTTPRequest bad("POST", "/api/v1/jobs", Poco::Net::HTTPMessage::HTTP_1_1);
  bad.setKeepAlive(true);
  bad.set("Authorization", "Bearer " + api().token());
  bad.setContentType("application/json");
  bad.setContentLength64(static_cast<Poco::Int64>(body.size()));
  session.sendRequest(bad) << body;
  Poco::Net::HTTPResponse refused;
  std::string refused_body;
  Poco::StreamCopier::copyToString(session.receiveResponse(refused), refused_body);
  EXPECT_EQ(refused.getStatus(), 400) << refused_body;
  EXPECT_EQ(refused.getContentType(), "application/problem+json");
  EXPECT_NE(refused_body.find("INVALID_JSON"), std::string::npos) << refused_body;
  EXPECT_TRUE(refused.getKeepAlive()) << "the backend closed the connection";
  Poco::Net::HTTPRequest health("GET", "/health", Poco::Net::HTTPMessage::HTTP_1_1);
  health.setKeepAlive(true);
  session.sendRequest(health);
  Poco::Net::HTTPResponse ok;
  std::string ok_body;
  Poco::StreamCopier::copyToString(session.receiveResponse(ok), ok_body);
  EXPECT_EQ(ok.getStatus(), 200) << ok_body;
  // An invalid byte outside any string, too.
  expect_problem(post("/api/v1/jobs", "{\"steps\":\xff}"), 400, "INVALID_JSON", "steps");
}

TEST_F(NulInNames, OutputAndInputNamesAreRefused) {
  HttpResponse r = post("/api/v1/jobs", R"({"steps":[{"generator":"text.template","params":)"
                                        R"({"template":"x","output_name":"a.txt\u0000.sh"}}]})");
  expect_problem(r, 422, "VALIDATION_FAILED", "steps[0].params.output_name");
  expect_problem(post("/api/v1/jobs", R"({"steps":[{"generator":"text.template","params":)"
                                      R"({"template":"x","output_name":"a\r\nX-Evil: 1"}}]})"),
                 422, "VALIDATION_FAILED", "steps[0].params.output_name");
  expect_problem(post("/api/v1/jobs", R"({"steps":[{"generator":"text.template","params":)"
                                      R"({"template":"x"}}],"inputs":[{"name":"in\u0000.txt",)"
                                      R"("media_type":"text/plain","content_base64":"eA=="}]})"),
                 422, "VALIDATION_FAILED", "inputs[0].name");
  // An uploaded file's name with a NUL (or bytes that are not UTF-8).
  for (std::string bad : {std::string("in\0.txt", 7), std::string("caf\xe9.txt")}) {
    const std::string form =
        "--b\r\nContent-Disposition: form-data; name=\"job\"\r\n\r\n"
        R"({"steps":[{"generator":"text.template","params":{"template":"x"}}]})"
        "\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" +
        bad + "\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b--\r\n";
    expect_problem(api().request("POST", "/api/v1/jobs", form, "multipart/form-data; boundary=b"),
                   422, "VALIDATION_FAILED", "inputs[0].name");
  }
  // A plain name still works.
  HttpResponse ok =
      post("/api/v1/jobs", R"({"steps":[{"generator":"text.template","params":)"
                           R"({"template":"x","output_name":"r\u00e9sum\u00e9.txt"}}]})");
  EXPECT_EQ(ok.status, 202) << ok.body;
}

TEST_F(TwoJobParts, InAFormAreRefused) {
  auto part = [](const std::string& tmpl) {
    return "--b\r\nContent-Disposition: form-data; name=\"job\"\r\n\r\n"
           R"({"steps":[{"generator":"text.template","params":{"template":")" +
           tmpl + "\"}}]}\r\n";
  };
  HttpResponse r =
      api().request("POST", "/api/v1/jobs", part("first") + part("second") + "--b--\r\n",
                    "multipart/form-data; boundary=b");
  expect_problem(r, 422, "VALIDATION_FAILED", "job");
  EXPECT_NE(r.json_body().value("detail", "").find("more than one"), std::string::npos) << r.body;
}

// Item 2 (text.template): a 1,000,000-deep JSON input artifact fails the task permanently
// with a precise message; the worker process that ran it lives on.
TEST_F(DeepJsonArtifact, MillionDeepInputFailsTheTaskNotTheWorker) {
  json body = {{"steps", {{{"generator", "text.template"}, {"params", {{"template", "{{a}}"}}}}}},
               {"inputs",
                {{{"name", "deep.json"},
                  {"media_type", "application/json"},
                  {"content_base64", base64_encode("{\"a\":" + nested_arrays(1'000'000) + "}")}}}}};
  json job = stack().submit(body);
  ASSERT_TRUE(job.contains("id")) << job.dump();
  json done = stack().wait_for_job(job["id"], std::chrono::seconds(60));
  ASSERT_EQ(done["status"], "FAILED") << done.dump(2);
  const json& task = done["tasks"][0];
  std::string message = task["error"].value("message", "");
  EXPECT_NE(message.find("inputs[deep.json]"), std::string::npos) << message;
  EXPECT_NE(message.find("LIMITS__MAX_JSON_DEPTH"), std::string::npos) << message;
  EXPECT_EQ(task["attempts"].size(), 1u) << "a permanent failure is not retried: " << done.dump(2);
}

// Item 3: 60 MB of `[],` refused while parsing, and the backend's peak memory stays bounded.
long vm_kib(pid_t pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with(field + ":")) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

TEST(JsonMemory, SixtyMegabytesOfEmptyArraysKeepTheBackendUnder300MB) {
  Stack stack(StackOptions{.worker = false});
  const pid_t pid = stack.backend().pid();
  const long before = vm_kib(pid, "VmHWM");
  std::string body =
      R"({"steps":[{"generator":"text.template","params":{"template":"x"}}],"zzz":[)";
  const std::size_t target = 60u << 20;
  body.reserve(target + 16);
  while (body.size() < target) body += "[],";
  body += "[]]}";
  HttpResponse r = stack.api().request("POST", "/api/v1/jobs", body, "application/json");
  expect_field_prefix(r, 422, "VALIDATION_FAILED", "zzz[");
  EXPECT_NE(r.json_body().value("detail", "").find("LIMITS__MAX_JSON_VALUES"), std::string::npos);
  const long peak = vm_kib(pid, "VmHWM");
  const long after = vm_kib(pid, "VmRSS");
  std::cout << "backend VmHWM before " << before / 1024 << " MB, peak " << peak / 1024
            << " MB, VmRSS after " << after / 1024 << " MB\n";
  ASSERT_GT(peak, 0);
  if (!gen::test::kUnderAddressSanitizer) {  // see sanitizers.hpp
    EXPECT_LT(peak, 300L * 1024) << "peak RSS of the backend in KiB";
  }
  EXPECT_EQ(stack.api().get("/health").status, 200);
}

}  // namespace
}  // namespace gen::itest
