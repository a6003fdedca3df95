// POST /api/v1/jobs as multipart/form-data: a "job" part with the JSON job plus file parts,
// which become the job's inputs (no base64).
#include "fixture.hpp"

namespace gen::itest {
namespace {

using namespace std::chrono_literals;

constexpr const char* kBoundary = "gen-boundary-7MA4YWxkTrZu0gW";

struct Part {
  std::string name, filename, content_type, data;
};

std::string form(const std::vector<Part>& parts) {
  std::string body;
  for (const Part& p : parts) {
    body += std::string("--") + kBoundary + "\r\nContent-Disposition: form-data; name=\"" + p.name +
            "\"";
    if (!p.filename.empty()) body += "; filename=\"" + p.filename + "\"";
    body += "\r\n";
    if (!p.content_type.empty()) body += "Content-Type: " + p.content_type + "\r\n";
    body += "\r\n" + p.data + "\r\n";
  }
  return body + "--" + kBoundary + "--\r\n";
}

const std::string kFormType = std::string("multipart/form-data; boundary=") + kBoundary;

class Uploads : public StackTest {};

TEST_F(Uploads, FilePartsBecomeTheJobsInputs) {
  std::string binary("\x00\x01\r\n--not-a-boundary\xff", 21);
  std::string body = form(
      {{"job", "", "application/json",
        R"({"steps":[{"generator":"text.template","params":{"template":"Hello {{name}}!"}}]})"},
       {"file", "data.json", "application/json", R"({"name":"Multipart"})"},
       {"file", "raw.txt", "text/plain", binary}});
  HttpResponse r = api().request("POST", "/api/v1/jobs?wait=60", body, kFormType);
  ASSERT_EQ(r.status, 200) << r.body;
  json job = r.json_body();
  ASSERT_EQ(job["status"], "COMPLETED") << job.dump(2);
  std::string id = job["id"];
  HttpResponse out = api().get(job["artifacts"][0]["url"].get<std::string>());
  EXPECT_EQ(out.body, "Hello Multipart!");
  HttpResponse raw = api().get("/api/v1/jobs/" + id + "/artifacts/raw.txt");
  ASSERT_EQ(raw.status, 200);
  EXPECT_EQ(raw.body, binary);  // bytes kept exactly, CRLF and dashes included
}

TEST_F(Uploads, MalformedFormsAreRefusedPrecisely) {
  const std::string job = R"({"steps":[{"generator":"text.template","params":{"template":"x"}}]})";
  expect_problem(api().request("POST", "/api/v1/jobs", form({{"file", "a.txt", "text/plain", "a"}}),
                               kFormType),
                 422, "VALIDATION_FAILED", "job");
  expect_problem(
      api().request("POST", "/api/v1/jobs", form({{"job", "", "", job}}), "multipart/form-data"),
      400, "BAD_REQUEST");
  expect_problem(
      api().request("POST", "/api/v1/jobs", "--gen-boundary-7MA4YWxkTrZu0gW\r\nx", kFormType), 400,
      "BAD_REQUEST");
  expect_problem(
      api().request("POST", "/api/v1/jobs",
                    form({{"job", "", "", job}, {"file", "a.png", "image/png", "x"}}), kFormType),
      422, "VALIDATION_FAILED", "inputs[0].media_type");
  expect_problem(api().request("POST", "/api/v1/jobs",
                               form({{"job", "", "", job},
                                     {"file", "a.txt", "text/plain", "1"},
                                     {"file", "a.txt", "text/plain", "2"}}),
                               kFormType),
                 422, "VALIDATION_FAILED", "inputs[1].name");
  expect_problem(api().request("POST", "/api/v1/jobs", form({{"job", "", "", "{"}}), kFormType),
                 400, "INVALID_JSON");
  expect_problem(api().request("POST", "/api/v1/jobs",
                               form({{"job", "", "", job}, {"x", "", "", "1"}}), kFormType),
                 422, "VALIDATION_FAILED", "x");
  EXPECT_TRUE(api().get("/api/v1/jobs").json_body()["jobs"].empty());
}

}  // namespace
}  // namespace gen::itest
