// Webhooks end to end: the real backend and worker deliver JOB_PROCESSED to a receiver run by
// the test, which checks the HMAC signature, fails the first delivery on purpose and gets the
// retry; the deliveries API shows every try. Outbound requests to loopback are refused unless
// WEBHOOKS__ALLOW_HOSTS allows them, at subscription and again at delivery. SQLite and
// PostgreSQL.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include <Poco/HMACEngine.h>
#include <Poco/SHA2Engine.h>

#include "fixture.hpp"
#include "webhook_receiver.hpp"

namespace gen::itest {
namespace {

using namespace std::chrono_literals;

// An HMAC-SHA256 independent of the product's (which uses OpenSSL).
class Sha256 : public Poco::SHA2Engine {
 public:
  enum { BLOCK_SIZE = 64, DIGEST_SIZE = 32 };
  Sha256() : Poco::SHA2Engine(Poco::SHA2Engine::SHA_256) {}
};

std::string hmac_sha256_hex(const std::string& key, const std::string& text) {
  Poco::HMACEngine<Sha256> engine(key);
  engine.update(text);
  return Poco::DigestEngine::digestToHex(engine.digest());
}

json step(const std::string& generator, const json& params) {
  return {{"generator", generator}, {"params", params}};
}

const std::map<std::string, std::string> kAcme = {{"tenant-id", "acme"}};

HttpResponse post(const HttpClient& api, const std::string& path, const json& body,
                  const std::map<std::string, std::string>& headers) {
  return api.request("POST", path, body.dump(), "application/json", headers);
}

HttpResponse get(const HttpClient& api, const std::string& path,
                 const std::map<std::string, std::string>& headers) {
  return api.request("GET", path, {}, {}, headers);
}

// Whether every delivery for `job_ids` has been answered 200.
bool delivered(const std::vector<ReceivedHook>& got, const std::vector<std::string>& job_ids) {
  for (const std::string& id : job_ids) {
    bool ok = std::any_of(got.begin(), got.end(), [&](const ReceivedHook& r) {
      return r.answered == 200 && r.job_id() == id;
    });
    if (!ok) return false;
  }
  return true;
}

// "t=<seconds>,v1=<hex>" checked against the secret, the body and the clock.
void expect_signed(const ReceivedHook& r, const std::string& secret) {
  std::string header =
      r.headers.count("generator-signature") ? r.headers.at("generator-signature") : std::string();
  auto comma = header.find(",v1=");
  ASSERT_TRUE(header.starts_with("t=") && comma != std::string::npos) << header;
  std::string t = header.substr(2, comma - 2);
  std::string v1 = header.substr(comma + 4);
  EXPECT_EQ(v1, hmac_sha256_hex(secret, t + "." + r.body)) << "signature does not verify";
  EXPECT_NE(v1, hmac_sha256_hex(secret + "x", t + "." + r.body));
  std::int64_t sent = std::stoll(t);
  std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  EXPECT_LE(std::abs(now - sent), 120) << "timestamp " << t << " is not current";
}

class Webhooks : public PerDatabaseTest {};

TEST_P(Webhooks, JobProcessedIsSignedRetriedAndRecorded) {
  WebhookReceiver receiver(/*fail_first=*/1);
  std::map<std::string, std::string> env = database_env();
  env["WEBHOOKS__ALLOW_HOSTS"] = "127.0.0.1/32";
  env["WEBHOOKS__RETRY_BASE_MS"] = "300";
  Stack stack({.env = env});
  const HttpClient& api = stack.api();
  ASSERT_EQ(api.post_json("/api/v1/app_management/tenants", {{"id", "acme"}}).status, 201);
  ASSERT_EQ(api.post_json("/api/v1/app_management/tenants", {{"id", "other"}}).status, 201);

  // Validation names the field.
  expect_problem(post(api, "/api/v1/webhooks", {{"url", "ftp://example.com/x"}}, kAcme), 422,
                 "VALIDATION_FAILED", "url");
  expect_problem(post(api, "/api/v1/webhooks", {{"events", {"JOB_PROCESSED"}}}, kAcme), 422,
                 "VALIDATION_FAILED", "url");
  expect_problem(
      post(api, "/api/v1/webhooks", {{"url", receiver.url()}, {"events", {"NOPE"}}}, kAcme), 422,
      "VALIDATION_FAILED", "events[0]");
  expect_problem(post(api, "/api/v1/webhooks",
                      {{"url", receiver.url()}, {"auth", {{"type", "basic"}}}}, kAcme),
                 422, "VALIDATION_FAILED", "auth.username");
  expect_problem(
      post(api, "/api/v1/webhooks",
           {{"url", receiver.url()}, {"auth", {{"type", "hmac"}, {"secret", "short"}}}}, kAcme),
      422, "VALIDATION_FAILED", "auth.secret");

  // A subscription with a generated HMAC secret, shown once.
  HttpResponse created = post(api, "/api/v1/webhooks",
                              {{"url", receiver.url()}, {"events", {"JOB_PROCESSED"}}}, kAcme);
  ASSERT_EQ(created.status, 201) << created.body;
  json webhook = created.json_body();
  const std::string webhook_id = webhook["id"];
  EXPECT_EQ(webhook["auth"]["type"], "hmac");
  const std::string secret = webhook["auth"].value("secret", "");
  ASSERT_TRUE(secret.starts_with("whsec_")) << created.body;
  EXPECT_EQ(created.header("Location"), "/api/v1/webhooks/" + webhook_id);
  HttpResponse shown = get(api, "/api/v1/webhooks/" + webhook_id, kAcme);
  ASSERT_EQ(shown.status, 200) << shown.body;
  EXPECT_FALSE(shown.json_body()["auth"].contains("secret")) << shown.body;
  EXPECT_EQ(shown.body.find(secret), std::string::npos);

  // Invisible from another tenant and from the system scope.
  expect_problem(get(api, "/api/v1/webhooks/" + webhook_id, {{"tenant-id", "other"}}), 404,
                 "NOT_FOUND", "id");
  expect_problem(get(api, "/api/v1/webhooks/" + webhook_id, {}), 404, "NOT_FOUND", "id");
  expect_problem(
      api.request("DELETE", "/api/v1/webhooks/" + webhook_id, {}, {}, {{"tenant-id", "other"}}),
      404, "NOT_FOUND", "id");
  HttpResponse other_list = get(api, "/api/v1/webhooks", {{"tenant-id", "other"}});
  ASSERT_EQ(other_list.status, 200);
  EXPECT_TRUE(other_list.json_body()["webhooks"].empty()) << other_list.body;
  HttpResponse acme_list = get(api, "/api/v1/webhooks", kAcme);
  ASSERT_EQ(acme_list.json_body()["webhooks"].size(), 1u) << acme_list.body;

  // A job that completes and one that fails, in tenant acme; and one of another tenant,
  // which must not reach acme's webhook.
  HttpResponse ok = post(
      api, "/api/v1/jobs",
      {{"steps",
        {step("text.template", {{"template", "Hello {{name}}!"}, {"data", {{"name", "hook"}}}})}}},
      kAcme);
  ASSERT_EQ(ok.status, 202) << ok.body;
  HttpResponse bad =
      post(api, "/api/v1/jobs", {{"steps", {step("fixture.fail_permanent", {})}}}, kAcme);
  ASSERT_EQ(bad.status, 202) << bad.body;
  HttpResponse foreign =
      post(api, "/api/v1/jobs", {{"steps", {step("fixture.echo", {})}}}, {{"tenant-id", "other"}});
  ASSERT_EQ(foreign.status, 202) << foreign.body;
  const std::string ok_id = ok.json_body()["id"];
  const std::string bad_id = bad.json_body()["id"];
  const std::string foreign_id = foreign.json_body()["id"];

  std::vector<ReceivedHook> got = receiver.wait_for(
      [&](const std::vector<ReceivedHook>& r) {
        return delivered(r, {ok_id, bad_id});
      },
      60s);
  ASSERT_TRUE(delivered(got, {ok_id, bad_id})) << got.size() << " requests\n" << stack.logs();
  ASSERT_GE(got.size(), 3u);  // the first was answered 500 and retried
  EXPECT_EQ(got.front().answered, 500);
  const std::string failed_delivery = got.front().headers["generator-delivery"];
  EXPECT_EQ(got.front().headers["generator-attempt"], "1");

  int retries_seen = 0;
  for (const ReceivedHook& r : got) {
    SCOPED_TRACE(r.body);
    expect_signed(r, secret);
    json p = r.payload();
    ASSERT_TRUE(p.is_object());
    EXPECT_EQ(p["event"], "JOB_PROCESSED");
    EXPECT_EQ(r.headers.at("generator-event"), "JOB_PROCESSED");
    EXPECT_EQ(r.headers.at("generator-delivery"), p["delivery_id"]);
    EXPECT_EQ(r.headers.at("content-type"), "application/json");
    EXPECT_EQ(p["webhook_id"], webhook_id);
    EXPECT_EQ(p["tenant"], "acme");
    EXPECT_NE(p["job"]["id"], foreign_id);
    if (r.headers.at("generator-delivery") == failed_delivery && r.answered == 200) {
      ++retries_seen;
      EXPECT_EQ(r.headers.at("generator-attempt"), "2");
      EXPECT_EQ(r.body, got.front().body);  // the same event, byte for byte
    }
    if (p["job"]["id"] == ok_id) {
      EXPECT_EQ(p["job"]["status"], "COMPLETED");
      EXPECT_TRUE(p["job"]["error"].is_null());
      ASSERT_EQ(p["job"]["artifacts"].size(), 1u);
      EXPECT_EQ(p["job"]["artifacts"][0]["name"], "output.txt");
      EXPECT_EQ(p["job"]["artifacts"][0]["url"], "/api/v1/jobs/" + ok_id + "/artifacts/output.txt");
      HttpResponse file = api.request("GET", p["job"]["artifacts"][0]["url"], {}, {}, kAcme);
      EXPECT_EQ(file.body, "Hello hook!");
    } else {
      EXPECT_EQ(p["job"]["id"], bad_id);
      EXPECT_EQ(p["job"]["status"], "FAILED");
      EXPECT_EQ(p["job"]["error"]["code"], "GENERATOR_REJECTED_INPUT") << r.body;
      EXPECT_TRUE(p["job"]["artifacts"].empty());
    }
    EXPECT_TRUE(p["job"]["finished_at"].is_string());
  }
  EXPECT_EQ(retries_seen, 1);

  // The deliveries API: both DELIVERED, the first with its failed try and the retry.
  json deliveries;
  for (auto deadline = std::chrono::steady_clock::now() + 20s;
       std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(100ms)) {
    HttpResponse list = get(api, "/api/v1/webhooks/" + webhook_id + "/deliveries", kAcme);
    ASSERT_EQ(list.status, 200) << list.body;
    deliveries = list.json_body()["deliveries"];
    bool all_done = deliveries.size() == 2 && deliveries[0]["state"] == "DELIVERED" &&
                    deliveries[1]["state"] == "DELIVERED";
    if (all_done) break;
  }
  ASSERT_EQ(deliveries.size(), 2u) << deliveries.dump(2);
  bool saw_retried = false;
  for (const json& d : deliveries) {
    EXPECT_EQ(d["state"], "DELIVERED") << d.dump(2);
    EXPECT_EQ(d["event"], "JOB_PROCESSED");
    if (d["id"] == failed_delivery) {
      saw_retried = true;
      ASSERT_EQ(d["attempts"].size(), 2u) << d.dump(2);
      EXPECT_EQ(d["attempts"][0]["attempt"], 1);
      EXPECT_EQ(d["attempts"][0]["http_status"], 500);
      EXPECT_NE(d["attempts"][0]["error"].get<std::string>().find("500"), std::string::npos);
      EXPECT_EQ(d["attempts"][1]["attempt"], 2);
      EXPECT_EQ(d["attempts"][1]["http_status"], 200);
      EXPECT_TRUE(d["attempts"][1]["error"].is_null());
      EXPECT_TRUE(d["attempts"][1]["finished_at"].is_string());
    } else {
      ASSERT_EQ(d["attempts"].size(), 1u) << d.dump(2);
      EXPECT_EQ(d["attempts"][0]["http_status"], 200);
    }
  }
  EXPECT_TRUE(saw_retried) << deliveries.dump(2);
  expect_problem(
      get(api, "/api/v1/webhooks/" + webhook_id + "/deliveries", {{"tenant-id", "other"}}), 404,
      "NOT_FOUND", "id");

  // Disabled: a further job ends without a delivery. Deleted: gone with its deliveries.
  HttpResponse off = api.request("PUT", "/api/v1/webhooks/" + webhook_id,
                                 json{{"enabled", false}}.dump(), "application/json", kAcme);
  ASSERT_EQ(off.status, 200) << off.body;
  EXPECT_EQ(off.json_body()["enabled"], false);
  HttpResponse quiet =
      post(api, "/api/v1/jobs?wait=30", {{"steps", {step("fixture.echo", {})}}}, kAcme);
  ASSERT_EQ(quiet.status, 200) << quiet.body;
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(receiver.requests().size(), got.size());
  HttpResponse gone = api.request("DELETE", "/api/v1/webhooks/" + webhook_id, {}, {}, kAcme);
  EXPECT_EQ(gone.status, 204) << gone.body;
  expect_problem(get(api, "/api/v1/webhooks/" + webhook_id, kAcme), 404, "NOT_FOUND", "id");
}

// Basic auth instead of a signature.
TEST_P(Webhooks, BasicAuthIsSent) {
  WebhookReceiver receiver(/*fail_first=*/0);
  std::map<std::string, std::string> env = database_env();
  env["WEBHOOKS__ALLOW_HOSTS"] = "127.0.0.1";
  Stack stack({.env = env});
  HttpResponse created = stack.api().post_json(
      "/api/v1/webhooks",
      {{"url", receiver.url()},
       {"auth", {{"type", "basic"}, {"username", "hook"}, {"password", "s3cret-pass"}}}});
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.json_body()["auth"], json({{"type", "basic"}, {"username", "hook"}}));
  json job = stack.submit({{"steps", {step("fixture.echo", {})}}});
  std::vector<ReceivedHook> got = receiver.wait_for(
      [&](const std::vector<ReceivedHook>& r) { return delivered(r, {job["id"]}); }, 60s);
  ASSERT_TRUE(delivered(got, {job["id"]})) << stack.logs();
  EXPECT_EQ(got.front().headers["authorization"], "Basic " + base64_encode("hook:s3cret-pass"));
  EXPECT_EQ(got.front().headers.count("generator-signature"), 0u);
  EXPECT_TRUE(got.front().payload()["tenant"].is_null());  // the system scope
}

INSTANTIATE_TEST_SUITE_P(Backends, Webhooks, ::testing::ValuesIn(test::all_backends()),
                         [](const auto& param_info) { return param_info.param; });

// Without an allow-list, webhooks may not point at loopback, private or link-local addresses.
TEST(WebhookTargets, InternalAddressesAreRefusedUnlessAllowed) {
  Stack stack({.worker = false});
  for (const std::string url :
       {"http://127.0.0.1:9/hook", "http://localhost:9/hook", "http://[::1]:9/", "http://10.1.2.3/",
        "http://192.168.0.10/", "http://172.16.5.4/", "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/", "http://[fd00::1]/", "http://100.64.0.1/", "http://0.0.0.0/",
        "http://[::ffff:127.0.0.1]/", "http://2130706433/"}) {
    SCOPED_TRACE(url);
    HttpResponse r = stack.api().post_json("/api/v1/webhooks", {{"url", url}});
    expect_problem(r, 422, "VALIDATION_FAILED", "url");
  }
  HttpResponse loopback =
      stack.api().post_json("/api/v1/webhooks", {{"url", "http://127.0.0.1:9/hook"}});
  std::string detail = loopback.json_body().value("detail", "");
  EXPECT_NE(detail.find("loopback"), std::string::npos) << detail;
  EXPECT_NE(detail.find("WEBHOOKS__ALLOW_HOSTS"), std::string::npos) << detail;
  expect_problem(
      stack.api().post_json("/api/v1/webhooks", {{"url", "http://user:pw@example.com/"}}), 422,
      "VALIDATION_FAILED", "url");
}

// Allowed when the subscription was made, refused when it is delivered: the worker checks
// again (its own WEBHOOKS__ALLOW_HOSTS) and records why, without sending anything.
TEST(WebhookTargets, DeliveryRechecksTheTarget) {
  WebhookReceiver receiver(/*fail_first=*/0);
  Stack stack({.worker = false, .env = {{"WEBHOOKS__ALLOW_HOSTS", "127.0.0.1/32"}}});
  HttpResponse created = stack.api().post_json("/api/v1/webhooks", {{"url", receiver.url()}});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string webhook_id = created.json_body()["id"];
  json job = stack.submit({{"steps", {step("fixture.echo", {})}}});

  std::map<std::string, std::string> env = stack.environment();
  env.erase("WEBHOOKS__ALLOW_HOSTS");
  Process worker("generator-worker", build_dir() / "bin/generator-worker", {"run"}, env,
                 stack.dir() / "worker-without-allow-list.log");
  json deliveries;
  for (auto deadline = std::chrono::steady_clock::now() + 60s;
       std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(100ms)) {
    HttpResponse list = stack.api().get("/api/v1/webhooks/" + webhook_id + "/deliveries");
    ASSERT_EQ(list.status, 200) << list.body;
    deliveries = list.json_body()["deliveries"];
    if (deliveries.size() == 1 && deliveries[0]["state"] == "FAILED") break;
  }
  ASSERT_EQ(deliveries.size(), 1u) << worker.log();
  const json& d = deliveries[0];
  EXPECT_EQ(d["state"], "FAILED") << d.dump(2) << worker.log();
  EXPECT_EQ(d["job_id"], job["id"]);
  std::string error = d["last_error"].is_string() ? d["last_error"].get<std::string>() : "";
  EXPECT_NE(error.find("refused"), std::string::npos) << error;
  EXPECT_NE(error.find("loopback"), std::string::npos) << error;
  ASSERT_EQ(d["attempts"].size(), 1u) << d.dump(2);
  EXPECT_TRUE(d["attempts"][0]["http_status"].is_null());
  EXPECT_EQ(d["attempts"][0]["error"], d["last_error"]);
  EXPECT_TRUE(receiver.requests().empty());
}

// generatorctl webhooks create|list|show|disable|deliveries|delete in a tenant.
TEST(WebhookCtl, ManagesWebhooksOfTheTenant) {
  WebhookReceiver receiver(/*fail_first=*/0);
  Stack stack({.env = {{"WEBHOOKS__ALLOW_HOSTS", "127.0.0.1/32"}}});
  ASSERT_EQ(stack.api().post_json("/api/v1/app_management/tenants", {{"id", "acme"}}).status, 201);
  std::map<std::string, std::string> env = service_environment({});
  env["GENERATOR_URL"] = "http://127.0.0.1:" + std::to_string(stack.port());
  env["GENERATOR_TOKEN"] = kRootApiKey;
  env["GENERATOR_TENANT"] = "acme";
  auto ctl = [&](const std::vector<std::string>& args) {
    return run_to_completion(build_dir() / "bin/generatorctl", args, env, 60s);
  };
  auto [code, out] = ctl({"webhooks", "create", receiver.url(), "--event", "JOB_PROCESSED"});
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("whsec_"), std::string::npos) << out;
  auto brace = out.find('{');
  ASSERT_NE(brace, std::string::npos) << out;
  json created = json::parse(out.substr(brace), nullptr, false);
  ASSERT_TRUE(created.is_object()) << out;
  const std::string id = created["id"];

  auto [list_code, list] = ctl({"webhooks", "list"});
  EXPECT_EQ(list_code, 0) << list;
  EXPECT_NE(list.find(id), std::string::npos) << list;
  EXPECT_EQ(list.find("whsec_"), std::string::npos) << list;
  json job = json::parse(
      post(stack.api(), "/api/v1/jobs", {{"steps", {step("fixture.echo", {})}}}, kAcme).body);
  receiver.wait_for([&](const std::vector<ReceivedHook>& r) { return delivered(r, {job["id"]}); },
                    60s);
  json deliveries;
  for (auto deadline = std::chrono::steady_clock::now() + 20s;
       std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(100ms)) {
    auto [d_code, d_out] = ctl({"webhooks", "deliveries", id, "--limit", "5"});
    ASSERT_EQ(d_code, 0) << d_out;
    deliveries = json::parse(d_out, nullptr, false)["deliveries"];
    if (deliveries.size() == 1 && deliveries[0]["state"] == "DELIVERED") break;
  }
  ASSERT_EQ(deliveries.size(), 1u) << deliveries.dump(2) << stack.logs();
  EXPECT_EQ(deliveries[0]["state"], "DELIVERED");
  EXPECT_EQ(ctl({"webhooks", "disable", id}).first, 0);
  auto [show_code, shown] = ctl({"webhooks", "show", id});
  EXPECT_EQ(show_code, 0) << shown;
  EXPECT_EQ(json::parse(shown, nullptr, false)["enabled"], false) << shown;
  EXPECT_EQ(ctl({"webhooks", "create", "http://10.0.0.1/"}).first, 1);  // 422: refused
  EXPECT_EQ(ctl({"webhooks", "delete", id}).first, 0);
  EXPECT_EQ(ctl({"webhooks", "show", id}).first, 1);  // 404
}

}  // namespace
}  // namespace gen::itest
