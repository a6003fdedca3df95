// POST /api/v1/jobs as multipart/form-data: a "job" part with the JSON job plus file parts,
// which become the job's inputs (no base64).
#include <Poco/Data/Session.h>
#include <Poco/DigestEngine.h>
#include <Poco/SHA2Engine.h>

#include "fixture.hpp"
#include "gen/core/storage/database.hpp"
#include "storage/session.hpp"
#include "streaming_client.hpp"

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

std::string sha256_hex(const std::string& data) {
  Poco::SHA2Engine engine(Poco::SHA2Engine::SHA_256);
  engine.update(data.data(), data.size());
  return Poco::DigestEngine::digestToHex(engine.digest());
}

std::int64_t count_rows(Stack& stack, const std::string& table) {
  auto db = Database::open("sqlite://" + (stack.dir() / "generator.db").string(), 1);
  Poco::Data::Session s = db->session();
  Poco::Int64 n = 0;
  s << "SELECT COUNT(*) FROM " + table, Poco::Data::Keywords::into(n), Poco::Data::Keywords::now;
  return n;
}

TEST_F(Uploads, DownloadsAnswerRangesConditionsAndNameTheFile) {
  // 3 MB: stored in chunks and streamed back; params.json is small and inline.
  const std::int64_t size = 3'000'000;
  const std::string bytes = ByteSource(size).range(0, size);
  const std::string name = "na\xC3\xAFve \"q\".bin";
  std::string body =
      form({{"job", "", "application/json", R"({"steps":[{"generator":"fixture.echo"}]})"},
            {"file", "na\xC3\xAFve \\\"q\\\".bin", "application/octet-stream", bytes}});
  HttpResponse r = api().request("POST", "/api/v1/jobs?wait=60", body, kFormType);
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.json_body()["status"], "COMPLETED") << r.body;
  const std::string url = "/api/v1/jobs/" + r.json_body()["id"].get<std::string>() +
                          "/artifacts/na%C3%AFve%20%22q%22.bin";
  const std::string etag = "\"" + sha256_hex(bytes) + "\"";
  auto get = [&](std::map<std::string, std::string> headers) {
    return api().request("GET", url, {}, {}, headers);
  };

  HttpResponse full = get({});
  ASSERT_EQ(full.status, 200) << full.body;
  EXPECT_EQ(full.body, bytes);
  EXPECT_EQ(full.header("Content-Length"), std::to_string(size));
  EXPECT_EQ(full.header("Content-Type"), "application/octet-stream");
  EXPECT_EQ(full.header("ETag"), etag);
  EXPECT_EQ(full.header("Accept-Ranges"), "bytes");
  EXPECT_EQ(full.header("Content-Disposition"),
            "attachment; filename=\"na__ve \\\"q\\\".bin\"; "
            "filename*=UTF-8''na%C3%AFve%20%22q%22.bin");

  struct Case {
    std::string range;
    std::int64_t first, last;
  };
  for (const Case& c : std::vector<Case>{{"bytes=0-9", 0, 9},
                                         {"bytes=-5", size - 5, size - 1},
                                         {"bytes=2999990-", size - 10, size - 1},
                                         {"bytes=1048570-1048585", 1048570, 1048585},
                                         {"bytes=100-99999999", 100, size - 1},
                                         {"bytes=-99999999", 0, size - 1}}) {
    HttpResponse part = get({{"Range", c.range}});
    ASSERT_EQ(part.status, 206) << c.range << ": " << part.body;
    EXPECT_EQ(part.header("Content-Range"), "bytes " + std::to_string(c.first) + "-" +
                                                std::to_string(c.last) + "/" + std::to_string(size))
        << c.range;
    EXPECT_EQ(part.header("Content-Length"), std::to_string(c.last - c.first + 1)) << c.range;
    EXPECT_TRUE(part.body == bytes.substr(static_cast<std::size_t>(c.first),
                                          static_cast<std::size_t>(c.last - c.first + 1)))
        << c.range;
  }
  for (const char* range : {"bytes=3000000-", "bytes=5000000-5000001", "bytes=-0"}) {
    HttpResponse refused = get({{"Range", range}});
    expect_problem(refused, 416, "RANGE_NOT_SATISFIABLE", "Range");
    EXPECT_EQ(refused.header("Content-Range"), "bytes */3000000") << range;
  }
  // Several ranges, another unit, or nonsense: the whole file (RFC 9110 allows it).
  for (const char* range : {"bytes=0-1,5-6", "items=0-1", "bytes=9-2", "bytes=x-"}) {
    HttpResponse whole = get({{"Range", range}});
    EXPECT_EQ(whole.status, 200) << range;
    EXPECT_EQ(whole.body.size(), bytes.size()) << range;
  }
  // Conditional requests.
  for (const std::string& match : {etag, "W/" + etag, "\"other\", " + etag, std::string("*")}) {
    HttpResponse same = get({{"If-None-Match", match}});
    EXPECT_EQ(same.status, 304) << match;
    EXPECT_TRUE(same.body.empty());
    EXPECT_EQ(same.header("ETag"), etag);
  }
  EXPECT_EQ(get({{"If-None-Match", "\"other\""}}).status, 200);
  EXPECT_EQ(get({{"Range", "bytes=0-1"}, {"If-Range", etag}}).status, 206);
  HttpResponse changed = get({{"Range", "bytes=0-1"}, {"If-Range", "\"other\""}});
  EXPECT_EQ(changed.status, 200) << "If-Range names another version: the whole file";
  EXPECT_EQ(changed.body.size(), bytes.size());

  // HEAD: the headers alone.
  HttpResponse head = stream_request(
      stack().port(), {.method = "HEAD",
                       .path = url,
                       .headers = {{"Authorization", std::string("Bearer ") + kRootApiKey}}});
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("content-length"), std::to_string(size));
  EXPECT_EQ(head.header("etag"), etag);
  EXPECT_TRUE(head.body.empty());

  // A small (inline) artifact answers ranges the same way.
  const std::string params_url =
      "/api/v1/jobs/" + r.json_body()["id"].get<std::string>() + "/artifacts/params.json";
  HttpResponse small = api().request("GET", params_url, {}, {}, {{"Range", "bytes=0-0"}});
  EXPECT_EQ(small.status, 206);
  EXPECT_EQ(small.body, "{");
  EXPECT_EQ(small.header("Content-Type"), "application/json");
}

TEST_F(Uploads, TenantLimitRefusesLargeUploadsAndLeavesNoChunks) {
  ASSERT_EQ(api().post_json("/api/v1/app_management/tenants", {{"id", "acme"}}).status, 201);
  HttpResponse set =
      api().request("PUT", "/api/v1/config/LIMITS__MAX_REQUEST_BYTES", R"({"value": 2000000})",
                    "application/json", {{"tenant-id", "acme"}});
  ASSERT_EQ(set.status, 200) << set.body;
  const std::string job = R"({"steps":[{"generator":"fixture.echo"}]})";
  const std::string big(3'000'000, 'x');

  // Announced too large: refused before a byte is stored.
  expect_problem(api().request("POST", "/api/v1/jobs",
                               form({{"job", "", "", job}, {"file", "a.bin", "", big}}), kFormType,
                               {{"tenant-id", "acme"}}),
                 413, "PAYLOAD_TOO_LARGE", "Content-Length");

  // Chunked, no length up front: refused while streaming, once past the limit; the chunks
  // stored until then are deleted.
  ByteSource source(5'000'000);
  StreamedForm streamed;
  streamed.add_field("job", job);
  streamed.add_file("file", "b.bin", "application/octet-stream", source);
  HttpResponse refused =
      stream_request(stack().port(),
                     {.method = "POST",
                      .path = "/api/v1/jobs",
                      .headers = {{"Authorization", std::string("Bearer ") + kRootApiKey},
                                  {"Content-Type", StreamedForm::content_type()},
                                  {"tenant-id", "acme"}},
                      .body = [&](char* out, std::size_t max) { return streamed.read(out, max); }});
  expect_problem(refused, 413, "PAYLOAD_TOO_LARGE", "inputs[0]");
  EXPECT_EQ(count_rows(stack(), "artifact_chunks"), 0);
  EXPECT_EQ(count_rows(stack(), "uploads"), 0);
  EXPECT_TRUE(api().get("/api/v1/jobs").json_body()["jobs"].empty());

  // The limit is the tenant's: the system scope still takes 3 MB, and so does acme under 2 MB.
  HttpResponse ok = api().request(
      "POST", "/api/v1/jobs", form({{"job", "", "", job}, {"file", "a.bin", "", big}}), kFormType);
  EXPECT_EQ(ok.status, 202) << ok.body;
  HttpResponse small = api().request(
      "POST", "/api/v1/jobs",
      form({{"job", "", "", job}, {"file", "a.bin", "", std::string(1'500'000, 'y')}}), kFormType,
      {{"tenant-id", "acme"}});
  EXPECT_EQ(small.status, 202) << small.body;
  EXPECT_EQ(count_rows(stack(), "uploads"), 0);
  EXPECT_GE(count_rows(stack(), "artifact_chunks"), 5);  // 3 + 2 chunks of 1 MiB, + outputs
}

}  // namespace
}  // namespace gen::itest
