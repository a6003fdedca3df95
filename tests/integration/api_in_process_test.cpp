// The REST handlers in-process (gen::backend linked directly, no socket): routing details
// and request parsing corners that are awkward to reach over HTTP.
#include <gtest/gtest.h>

#include "gen/backend/api.hpp"
#include "gen/backend/http.hpp"
#include "gen/core/plugins/plugin_host.hpp"
#include "gen/core/queue/job_store.hpp"
#include "gen/core/storage/database.hpp"
#include "harness.hpp"

namespace gen::itest {
namespace {

using backend::Request;
using backend::Response;

TEST(Query, DecodesPlusAndPercent) {
  auto q = backend::parse_query("status=QUEUED&cursor=a%2Bb+c&flag");
  EXPECT_EQ(q.at("status"), "QUEUED");
  EXPECT_EQ(q.at("cursor"), "a+b c");
  EXPECT_EQ(q.at("flag"), "");
}

class ApiInProcess : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = Database::open("sqlite://" + (dir_.path() / "generator.db").string(), 2);
    db_->migrate();
    plugins_ = std::make_unique<PluginHost>((build_dir() / "lib/generator/plugins").string() + ":" +
                                            (build_dir() / "tests/fixture-plugins").string());
    plugins_->load_all();
    jobs_ = std::make_unique<JobStore>(*db_);
    backend::ApiOptions options;
    options.require_auth = false;
    api_ = std::make_unique<backend::Api>(*db_, *jobs_, *plugins_, options);
  }

  Response submit(const json& body) {
    Request r;
    r.method = "POST";
    r.raw_path = "/api/v1/jobs";
    r.path = backend::split_path(r.raw_path);
    r.headers["content-type"] = "Application/JSON; charset=utf-8";
    r.body = body.dump();
    return api_->handle(r);
  }

  Response get(const std::string& path_and_query) {
    Request r;
    r.method = "GET";
    auto q = path_and_query.find('?');
    r.raw_path = path_and_query.substr(0, q);
    r.path = backend::split_path(r.raw_path);
    if (q != std::string::npos) r.query = backend::parse_query(path_and_query.substr(q + 1));
    return api_->handle(r);
  }

  json job_with_input(const std::string& content_base64) {
    return {
        {"inputs",
         {{{"name", "in.txt"}, {"media_type", "text/plain"}, {"content_base64", content_base64}}}},
        {"steps", {{{"generator", "fixture.echo"}}}}};
  }

  TempDir dir_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<PluginHost> plugins_;
  std::unique_ptr<JobStore> jobs_;
  std::unique_ptr<backend::Api> api_;
};

TEST_F(ApiInProcess, Base64WithAndWithoutPaddingIsStoredDecoded) {
  for (const char* encoded : {"aGk=", "aGk"}) {
    SCOPED_TRACE(encoded);
    Response r = submit(job_with_input(encoded));
    ASSERT_EQ(r.status, 202) << r.body;
    std::string id = json::parse(r.body)["id"];
    auto input = jobs_->read_artifact(id, "in.txt");
    ASSERT_TRUE(input.has_value());
    EXPECT_EQ(input->data, "hi");
    EXPECT_EQ(input->meta.step, -1);
  }
}

TEST_F(ApiInProcess, NonCanonicalOrMalformedBase64IsRefused) {
  // "aGl=" has non-zero padding bits; the others have bad characters, length or padding.
  for (const char* encoded : {"aGl=", "a", "aGk==", "aG k", "aGk=\n", "a-_b"}) {
    SCOPED_TRACE(encoded);
    Response r = submit(job_with_input(encoded));
    EXPECT_EQ(r.status, 422) << r.body;
    EXPECT_EQ(json::parse(r.body)["field"], "inputs[0].content_base64");
  }
}

TEST_F(ApiInProcess, InputMediaTypeMustSuitTheFirstStep) {
  json body = job_with_input("aGk=");
  body["inputs"][0]["media_type"] = "image/png";
  body["steps"] = {{{"generator", "text.template"}, {"params", {{"template", "x"}}}}};
  Response refused = submit(body);  // text.template reads application/json and text/* only
  EXPECT_EQ(refused.status, 422) << refused.body;
  EXPECT_EQ(json::parse(refused.body)["field"], "inputs[0].media_type");
  body["inputs"][0]["media_type"] = "text/markdown";
  EXPECT_EQ(submit(body).status, 202);
  body["steps"] = {{{"generator", "fixture.sleep"}, {"params", {{"ms", 1}}}}};
  body["inputs"][0]["media_type"] = "image/png";
  EXPECT_EQ(submit(body).status, 202);  // the SDK default "*/*" takes anything
}

TEST_F(ApiInProcess, StoredParamsHaveDefaultsFilledIn) {
  Response r = submit({{"steps", {{{"generator", "fixture.echo"}, {"params", {{"count", 2.0}}}}}}});
  ASSERT_EQ(r.status, 202) << r.body;
  auto claimed = jobs_->claim("test-worker", 1, 60000);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].params["message"], "hello");
  EXPECT_EQ(claimed[0].params["count"], 2);
  EXPECT_TRUE(claimed[0].params["count"].is_number_integer());
}

TEST_F(ApiInProcess, ListQueryIsValidated) {
  EXPECT_EQ(get("/api/v1/jobs?status=queued").status, 200);  // case-insensitive
  Response bad = get("/api/v1/jobs?limit=-1");
  EXPECT_EQ(bad.status, 422);
  EXPECT_EQ(json::parse(bad.body)["field"], "limit");
  Response all = get("/api/v1/jobs/x/artifacts?all=maybe");
  EXPECT_EQ(all.status, 422);
  EXPECT_EQ(json::parse(all.body)["field"], "all");
}

}  // namespace
}  // namespace gen::itest
