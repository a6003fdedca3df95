// meta.generate's openai provider in the real worker: the tenant's GENERATION__LLM_* settings
// (the secret key included) reach the generator through ctx.setting(), the worker's
// WEBHOOKS__ALLOW_HOSTS opens the loopback endpoint, and a 429 is retried through the task's
// backoff until the fake OpenAI server (tests/support/fake_llm_server.hpp) answers.
#include <thread>

#include "fake_llm_server.hpp"
#include "fixture.hpp"

namespace gen::itest {
namespace {

using namespace std::chrono_literals;
using gen::testing::FakeLlmServer;
using gen::testing::LlmReply;

const char* kSegmentsType = "application/vnd.generator.content-segments+json";

class MetaOpenAi : public StackTest {
 protected:
  StackOptions options() override {
    StackOptions o;
    o.env["WEBHOOKS__ALLOW_HOSTS"] = "127.0.0.1";  // the worker's environment
    o.env["GENERATION__LLM_MODEL"] = "env-model";  // an environment default
    return o;
  }

  void create_tenant(const std::string& id) {
    HttpResponse r = api().post_json("/api/v1/app_management/tenants", {{"id", id}});
    ASSERT_EQ(r.status, 201) << r.body;
  }
  void set(const std::string& tenant, const std::string& name, const json& value) {
    HttpResponse r = api().request("PUT", "/api/v1/config/" + name, json{{"value", value}}.dump(),
                                   "application/json", {{"tenant-id", tenant}});
    ASSERT_EQ(r.status, 200) << r.body;
  }

  // Submits one meta.generate SUMMARY step for `tenant` and waits for its end.
  json run_summary(const std::string& tenant) {
    const json doc = {
        {"format", "text"},
        {"title", "The Lighthouse"},
        {"segments",
         {{{"location", "paragraph 1"},
           {"location_kind", "paragraph"},
           {"text",
            "The lighthouse keeper climbs the tower every evening at dusk. He lights the lamp "
            "and winds the clockwork that turns the lens."},
           {"tokens", 30}}}}};
    const json body = {{"inputs",
                        {{{"name", "doc.json"},
                          {"media_type", kSegmentsType},
                          {"content_base64", base64_encode(doc.dump())}}}},
                       {"steps",
                        {{{"generator", "meta.generate"},
                          {"params", {{"field", "SUMMARY"}, {"provider", "openai"}}}}}}};
    const std::map<std::string, std::string> headers = {{"tenant-id", tenant}};
    HttpResponse submitted =
        api().request("POST", "/api/v1/jobs", body.dump(), "application/json", headers);
    EXPECT_EQ(submitted.status, 202) << submitted.body;
    if (submitted.status != 202) return {};
    const std::string id = submitted.json_body()["id"];
    json job;
    for (auto deadline = std::chrono::steady_clock::now() + 60s;
         std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(50ms)) {
      job = api().request("GET", "/api/v1/jobs/" + id, {}, {}, headers).json_body();
      const std::string status = job.value("status", "");
      if (status == "COMPLETED" || status == "FAILED") break;
    }
    return job;
  }

  FakeLlmServer server;
};

TEST_F(MetaOpenAi, TheTenantsSettingsReachTheEndpointAndA429IsRetried) {
  create_tenant("acme");
  create_tenant("beta");
  set("acme", "GENERATION__LLM_URL", server.base_url());
  set("acme", "GENERATION__LLM_API_KEY", "sk-acme-secret");
  LlmReply limited = LlmReply::error(429, "Rate limit reached");
  limited.headers["Retry-After"] = "1";
  server.push(limited);
  const std::string summary =
      "A lighthouse keeper lights the lamp at dusk and keeps the lens turning.";
  server.push(LlmReply::completion({{"summary", summary}}));

  const json job = run_summary("acme");
  ASSERT_EQ(job.value("status", ""), "COMPLETED") << job.dump() << "\n" << stack().logs();
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u) << "the 429 was not retried";
  for (const auto& q : requests) {
    EXPECT_EQ(q.uri, "/v1/chat/completions");
    EXPECT_EQ(q.headers.at("authorization"), "Bearer sk-acme-secret");
    EXPECT_EQ(q.payload()["model"], "env-model");
  }
  std::string field_url;
  for (const json& a : job["artifacts"]) {
    if (a.value("name", "") == "field-SUMMARY.json") field_url = a.value("url", "");
  }
  ASSERT_FALSE(field_url.empty()) << job.dump();
  HttpResponse field = api().request("GET", field_url, {}, {}, {{"tenant-id", "acme"}});
  ASSERT_EQ(field.status, 200);
  const json artifact = json::parse(field.body);
  EXPECT_EQ(artifact["value"], summary);
  EXPECT_EQ(artifact["method"], "openai:env-model");

  // beta has no URL of its own (nor does the system): a permanent failure naming the setting,
  // and nothing sent.
  const json failed = run_summary("beta");
  EXPECT_EQ(failed.value("status", ""), "FAILED") << failed.dump();
  EXPECT_NE(failed.dump().find("GENERATION__LLM_URL is not set"), std::string::npos)
      << failed.dump();
  EXPECT_EQ(server.requests().size(), 2u);
  // The key went to the endpoint only: neither service logged it.
  EXPECT_EQ(stack().logs().find("sk-acme-secret"), std::string::npos);
}

}  // namespace
}  // namespace gen::itest
