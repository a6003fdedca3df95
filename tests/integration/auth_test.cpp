// Credentials, scopes, tenants and settings against the real backend.
//
// Attacks tried (each must fail):
//  - every route of Api::routes() with no Authorization header, a non-Bearer scheme, an empty
//    bearer, an unknown API key, a JWT signed with another key, a JWT whose payload was edited,
//    an expired JWT, the key and a token of a deactivated credential, and of a deleted one
//    -> 401 UNAUTHORIZED with WWW-Authenticate: Bearer; unknown /api paths and a malformed
//    tenant-id without a credential -> 401 too;
//  - every scoped route with a credential holding no scope -> 403 FORBIDDEN;
//  - a tenant credential naming another tenant in tenant-id -> 403;
//  - a tenant reaching another tenant's job, its artifacts list, an artifact, cancel, delete,
//    the job list and its settings by id -> 404 NOT_FOUND / not listed;
//    (its webhooks and their deliveries: webhooks_test.cpp; a finished job served from the
//    backend's read cache: read_cache_test.cpp);
//  - granting scopes one does not hold -> 403; writes of a disabled tenant -> 409;
//  - tenant ids differing only in case are different tenants;
//  - password guessing: the 11th failed login of an id within a minute -> 429.
#include "gen/core/tenancy/auth.hpp"

#include <set>

#include "fixture.hpp"
#include "gen/backend/api.hpp"
#include "gen/core/base/clock.hpp"
#include "gen/core/plugins/plugin_host.hpp"
#include "gen/core/queue/job_store.hpp"
#include "gen/core/storage/database.hpp"
#include "gen/core/tenancy/scopes.hpp"

namespace gen::itest {
namespace {

using namespace std::chrono_literals;

constexpr const char* kTokenSecret = "itest-token-secret-0123456789abcdefghijklmnop";

class Auth : public StackTest {
 protected:
  StackOptions options() override {
    return {.worker = true,
            .env = {{"AUTH__TOKEN_SECRET", kTokenSecret}, {"LIMITS__MAX_REQUEST_BYTES", "200000"}}};
  }

  /// Creates a credential as root; returns {api_key, password}.
  CredentialSecrets credential(const std::string& id, const json& scopes,
                               const json& tenants = json::object()) {
    return create_credential(api(), id, scopes, tenants);
  }

  void tenant(const std::string& id) { create_tenant(api(), id); }

  HttpResponse as(const std::string& token, const std::string& method, const std::string& path,
                  const std::string& tenant_id = {}, const json& body = nullptr) {
    std::map<std::string, std::string> headers;
    if (!tenant_id.empty()) headers["tenant-id"] = tenant_id;
    return api().with_token(token).request(method, path, body.is_null() ? "" : body.dump(),
                                           body.is_null() ? "" : "application/json", headers);
  }

  /// An access token for the credential (asserts the login succeeds).
  std::string login(const std::string& id, const std::string& secret) {
    HttpResponse r = itest::login(api(), id, secret);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json_body().value("access_token", "");
  }
};

json echo_job() {
  return {{"steps", {{{"generator", "fixture.echo"}}}}};
}

// Concrete paths for every route pattern.
std::string concrete(std::string pattern) {
  for (auto [from, to] :
       {std::pair{"{id}", "x"}, std::pair{"{name}", "LIMITS__MAX_REQUEST_BYTES"}}) {
    for (auto at = pattern.find(from); at != std::string::npos; at = pattern.find(from)) {
      pattern.replace(at, std::string(from).size(), to);
    }
  }
  return pattern;
}

/// The routes as the backend defines them (an in-process Api over a scratch database).
std::vector<backend::RouteInfo> all_routes() {
  TempDir dir;
  auto db = Database::open("sqlite://" + (dir.path() / "r.db").string(), 1);
  db->migrate();
  PluginHost plugins("");
  JobStore jobs(*db);
  backend::ApiOptions options;
  options.metrics_text = [] { return std::string(); };
  backend::Api api(*db, jobs, plugins, options);
  return api.routes();
}

// A route's scope is a gen::Scope, so a misspelt one does not compile. What is left to check
// at run time: each is one of the table's scopes (spelled and parsed back), only the routes
// meant to be open are public, and the API routes (but login) need a credential.
TEST(RouteScopes, EveryRouteNamesAKnownScope) {
  const auto routes = all_routes();
  ASSERT_FALSE(routes.empty());
  const std::set<std::string> open = {"/api/v1/login/access_token", "/health", "/ready",
                                      "/metrics"};
  int scoped = 0;
  for (const auto& route : routes) {
    SCOPED_TRACE(route.method + " " + route.pattern);
    EXPECT_EQ(route.is_public, open.contains(route.pattern));
    if (!route.scope) continue;
    ++scoped;
    EXPECT_FALSE(route.is_public);
    EXPECT_EQ(parse_scope(to_string(*route.scope)), route.scope);
  }
  EXPECT_GE(scoped, 26);
}

TEST_F(Auth, EveryApiRouteRefusesBadCredentials) {
  auto [key, password] = credential("victim", {"READ:JOBS"});
  std::string token = login("victim", password);
  ASSERT_FALSE(token.empty());
  TokenSigner foreign("another-secret-0123456789abcdefghijklmnopqrstuvwxyz");
  TokenSigner ours(kTokenSecret);
  std::string wrong_key = foreign.issue(Credential{.id = "root"}, 3600, now_ms());
  std::string expired = ours.issue(Credential{.id = "root"}, 60, now_ms() - 2 * 3600 * 1000);
  std::string edited = ours.issue(Credential{.id = "victim"}, 3600, now_ms());
  {
    // Swap the payload for one naming root, keep the signature.
    std::string root_token = ours.issue(Credential{.id = "root"}, 3600, now_ms());
    auto dot1 = edited.find('.'), dot2 = edited.rfind('.');
    auto rdot1 = root_token.find('.'), rdot2 = root_token.rfind('.');
    edited = edited.substr(0, dot1) + root_token.substr(rdot1, rdot2 - rdot1) + edited.substr(dot2);
  }

  std::vector<std::pair<std::string, std::map<std::string, std::string>>> attacks = {
      {"no header", {}},
      {"basic scheme", {{"Authorization", "Basic cm9vdDpyb290"}}},
      {"empty bearer", {{"Authorization", "Bearer "}}},
      {"unknown key", {{"Authorization", "Bearer gen_not-a-real-key"}}},
      {"foreign signature", {{"Authorization", "Bearer " + wrong_key}}},
      {"edited payload", {{"Authorization", "Bearer " + edited}}},
      {"expired token", {{"Authorization", "Bearer " + expired}}},
  };
  // Revocation: deactivate then delete; both the key and the token stop working at once.
  ASSERT_EQ(as(key, "GET", "/api/v1/jobs").status, 200);
  ASSERT_EQ(as(token, "GET", "/api/v1/jobs").status, 200);
  ASSERT_EQ(api()
                .request("PUT", "/api/v1/credentials/victim", R"({"is_active":false})",
                         "application/json")
                .status,
            200);
  attacks.push_back({"deactivated key", {{"Authorization", "Bearer " + key}}});
  attacks.push_back({"deactivated token", {{"Authorization", "Bearer " + token}}});

  HttpClient anonymous = api().with_token("");
  int checked = 0;
  for (const auto& route : all_routes()) {
    if (route.is_public) continue;
    for (const auto& [name, headers] : attacks) {
      SCOPED_TRACE(route.method + " " + route.pattern + " with " + name);
      HttpResponse r = anonymous.request(route.method, concrete(route.pattern), "{}",
                                         "application/json", headers);
      expect_problem(r, 401, "UNAUTHORIZED");
      EXPECT_EQ(r.header("WWW-Authenticate"), "Bearer");
      ++checked;
    }
  }
  EXPECT_GT(checked, 200);
  // Unknown /api paths answer 401 too: no probing for routes without a credential.
  expect_problem(anonymous.get("/api/v1/nothing-here"), 401, "UNAUTHORIZED");
  expect_problem(anonymous.request("GET", "/api/v1/jobs", "", "", {{"tenant-id", "bad id!"}}), 401,
                 "UNAUTHORIZED");
  expect_problem(api().request("GET", "/api/v1/jobs", "", "", {{"tenant-id", "bad id!"}}), 422,
                 "VALIDATION_FAILED", "tenant-id");
  EXPECT_EQ(anonymous.get("/health").status, 200);

  ASSERT_EQ(api().del("/api/v1/credentials/victim").status, 204);
  expect_problem(as(key, "GET", "/api/v1/jobs"), 401, "UNAUTHORIZED");
  expect_problem(as(token, "GET", "/api/v1/jobs"), 401, "UNAUTHORIZED");
}

TEST_F(Auth, EveryScopedRouteRefusesACredentialWithoutItsScope) {
  auto [key, password] = credential("nobody", json::array());
  for (const auto& route : all_routes()) {
    if (route.is_public) continue;
    SCOPED_TRACE(route.method + " " + route.pattern);
    HttpResponse r = as(key, route.method, concrete(route.pattern), "", json::object());
    if (!route.scope) {
      EXPECT_EQ(r.status, 200) << r.body;  // any valid credential (the OpenAPI document)
    } else {
      expect_problem(r, 403, "FORBIDDEN");
    }
  }
}

TEST_F(Auth, LoginGrantsAndScopedAccess) {
  auto [key, password] = credential("reader", {"READ:JOBS"});
  std::string token = login("reader", password);
  EXPECT_EQ(as(token, "GET", "/api/v1/jobs").status, 200);
  expect_problem(as(token, "POST", "/api/v1/jobs", "", echo_job()), 403, "FORBIDDEN");

  HttpClient anonymous = api().with_token("");
  HttpResponse pw = anonymous.request("POST", "/api/v1/login/access_token",
                                      "grant_type=password&username=reader&password=" + password,
                                      "application/x-www-form-urlencoded");
  ASSERT_EQ(pw.status, 200) << pw.body;
  EXPECT_EQ(pw.json_body()["token_type"], "bearer");
  EXPECT_EQ(pw.json_body()["expires_in"], 3600);
  EXPECT_EQ(pw.header("Cache-Control"), "no-store");
  expect_problem(anonymous.request("POST", "/api/v1/login/access_token",
                                   "grant_type=client_credentials&client_id=reader&client_secret=x",
                                   "application/x-www-form-urlencoded"),
                 401, "UNAUTHORIZED");
  expect_problem(anonymous.request("POST", "/api/v1/login/access_token", "grant_type=implicit",
                                   "application/x-www-form-urlencoded"),
                 400, "BAD_REQUEST", "grant_type");
  // An API key is never accepted as a password.
  expect_problem(
      anonymous.request("POST", "/api/v1/login/access_token",
                        "grant_type=client_credentials&client_id=reader&client_secret=" + key,
                        "application/x-www-form-urlencoded"),
      401, "UNAUTHORIZED");
  // Secrets are shown once: listing never shows them.
  HttpResponse list = api().get("/api/v1/credentials");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.body.find(password), std::string::npos);
  EXPECT_EQ(list.body.find("api_key"), std::string::npos);
}

TEST_F(Auth, RepeatedFailedLoginsAreThrottledPerId) {
  auto [key, password] = credential("target", {"READ:JOBS"});
  HttpClient anonymous = api().with_token("");
  auto attempt = [&](const std::string& id, const std::string& secret) {
    return anonymous.request(
        "POST", "/api/v1/login/access_token",
        "grant_type=client_credentials&client_id=" + id + "&client_secret=" + secret,
        "application/x-www-form-urlencoded");
  };
  for (int i = 0; i < 10; ++i) expect_problem(attempt("target", "guess"), 401, "UNAUTHORIZED");
  HttpResponse throttled = attempt("target", password);  // even the right secret, for now
  expect_problem(throttled, 429, "TOO_MANY_REQUESTS");
  EXPECT_GE(std::stoi(throttled.header("Retry-After")), 1);
  EXPECT_EQ(attempt("other-id", "x").status, 401);        // other ids are not affected
  EXPECT_EQ(as(key, "GET", "/api/v1/jobs").status, 200);  // nor the credential's API key
}

TEST_F(Auth, NobodyGrantsWhatTheyDoNotHold) {
  auto [admin, unused] = credential("cred-admin", {"WRITE:CREDENTIALS", "READ:JOBS"});
  HttpResponse escalate =
      as(admin, "POST", "/api/v1/credentials", "", {{"id", "evil"}, {"scopes", {"WRITE:JOBS"}}});
  expect_problem(escalate, 403, "FORBIDDEN", "scopes");
  HttpResponse ok =
      as(admin, "POST", "/api/v1/credentials", "", {{"id", "fine"}, {"scopes", {"READ:JOBS"}}});
  EXPECT_EQ(ok.status, 201) << ok.body;
  expect_problem(api().post_json("/api/v1/credentials", {{"id", "x"}, {"scopes", {"EAT:JOBS"}}}),
                 422, "VALIDATION_FAILED", "scopes[0]");
  expect_problem(api().post_json("/api/v1/credentials", {{"id", "fine"}}), 409, "CONFLICT", "id");
}

TEST_F(Auth, TenantsNeverSeeEachOthersResources) {
  tenant("acme");
  tenant("Acme");  // ids are case-sensitive: a different tenant
  auto [acme, p1] =
      credential("acme-user", json::array(),
                 {{"acme", {"READ:JOBS", "WRITE:JOBS", "READ:CONFIG", "WRITE:CONFIG"}}});
  auto [other, p2] = credential("other-user", json::array(),
                                {{"Acme", {"READ:JOBS", "WRITE:JOBS", "READ:CONFIG"}}});
  HttpResponse submitted = as(acme, "POST", "/api/v1/jobs", "acme", echo_job());
  ASSERT_EQ(submitted.status, 202) << submitted.body;
  std::string id = submitted.json_body()["id"];
  json done;
  for (int i = 0; i < 600; ++i) {
    done = as(acme, "GET", "/api/v1/jobs/" + id, "acme").json_body();
    if (done["status"] == "COMPLETED") break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(done["status"], "COMPLETED") << done.dump(2);
  std::string artifact = done["artifacts"][0]["url"];
  EXPECT_EQ(as(acme, "GET", artifact, "acme").status, 200);
  ASSERT_EQ(as(acme, "PUT", "/api/v1/config/JOBS__DEFAULT_PRIORITY", "acme", {{"value", 9}}).status,
            200);

  // The other tenant, by id: exactly like a job that does not exist.
  for (auto [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/api/v1/jobs/" + id},
           {"GET", "/api/v1/jobs/" + id + "/artifacts"},
           {"GET", artifact},
           {"POST", "/api/v1/jobs/" + id + "/cancel"},
           {"DELETE", "/api/v1/jobs/" + id}}) {
    SCOPED_TRACE(method + " " + path);
    expect_problem(as(other, method, path, "Acme"), 404, "NOT_FOUND");
    expect_problem(as(kRootApiKey, method, path), 404, "NOT_FOUND");  // system scope too
  }
  EXPECT_TRUE(as(other, "GET", "/api/v1/jobs", "Acme").json_body()["jobs"].empty());
  EXPECT_EQ(as(acme, "GET", "/api/v1/jobs", "acme").json_body()["jobs"].size(), 1u);
  json setting = as(other, "GET", "/api/v1/config/JOBS__DEFAULT_PRIORITY", "Acme").json_body();
  EXPECT_EQ(setting["value"], 0);
  EXPECT_EQ(setting["source"], "default");
  // Naming the other tenant is refused outright.
  expect_problem(as(other, "GET", "/api/v1/jobs/" + id, "acme"), 403, "FORBIDDEN");
  expect_problem(as(other, "GET", "/api/v1/jobs"), 403, "FORBIDDEN");  // no system scope
  // A tenant that does not exist.
  expect_problem(as(kRootApiKey, "GET", "/api/v1/jobs", "ghost"), 404, "NOT_FOUND", "tenant-id");
  // The tenant's default priority applies to its jobs only.
  EXPECT_EQ(as(acme, "POST", "/api/v1/jobs", "acme", echo_job()).json_body()["priority"], 9);
  EXPECT_EQ(as(other, "POST", "/api/v1/jobs", "Acme", echo_job()).json_body()["priority"], 0);
}

TEST_F(Auth, DisabledTenantCanReadButNotWrite) {
  tenant("acme");
  HttpResponse job = as(kRootApiKey, "POST", "/api/v1/jobs", "acme", echo_job());
  ASSERT_EQ(job.status, 202);
  ASSERT_EQ(api()
                .request("PUT", "/api/v1/app_management/tenants/acme", R"({"enabled":false})",
                         "application/json")
                .json_body()["enabled"],
            false);
  expect_problem(as(kRootApiKey, "POST", "/api/v1/jobs", "acme", echo_job()), 409, "CONFLICT",
                 "tenant-id");
  expect_problem(
      as(kRootApiKey, "PUT", "/api/v1/config/JOBS__DEFAULT_PRIORITY", "acme", {{"value", 1}}), 409,
      "CONFLICT");
  std::string id = job.json_body()["id"];
  EXPECT_EQ(as(kRootApiKey, "GET", "/api/v1/jobs/" + id, "acme").status, 200);
  ASSERT_EQ(api()
                .request("PUT", "/api/v1/app_management/tenants/acme", R"({"enabled":true})",
                         "application/json")
                .status,
            200);
  EXPECT_EQ(as(kRootApiKey, "POST", "/api/v1/jobs", "acme", echo_job()).status, 202);
  EXPECT_EQ(api().get("/api/v1/app_management/tenants").json_body()["tenants"].size(), 1u);
  EXPECT_EQ(api().del("/api/v1/app_management/tenants/acme").status, 204);
  expect_problem(api().del("/api/v1/app_management/tenants/acme"), 404, "NOT_FOUND", "id");
}

TEST_F(Auth, SettingsPrecedenceEnvironmentSystemTenant) {
  tenant("acme");
  const std::string path = "/api/v1/config/LIMITS__MAX_REQUEST_BYTES";
  json env = api().get(path).json_body();
  EXPECT_EQ(env["value"], 200000);  // the stack sets LIMITS__MAX_REQUEST_BYTES=200000
  EXPECT_EQ(env["source"], "environment");

  ASSERT_EQ(api().request("PUT", path, R"({"value":100000})", "application/json").status, 200);
  EXPECT_EQ(api().get(path).json_body()["source"], "system");
  EXPECT_EQ(as(kRootApiKey, "GET", path, "acme").json_body()["value"], 100000);  // inherited

  ASSERT_EQ(as(kRootApiKey, "PUT", path, "acme", {{"value", 2000}}).status, 200);
  json t = as(kRootApiKey, "GET", path, "acme").json_body();
  EXPECT_EQ(t["value"], 2000);
  EXPECT_EQ(t["source"], "tenant");
  EXPECT_EQ(api().get(path).json_body()["value"], 100000);

  // The tenant's limit is enforced on its requests only.
  json big = echo_job();
  big["steps"][0]["params"] = {{"message", std::string(3000, 'x')}};
  expect_problem(as(kRootApiKey, "POST", "/api/v1/jobs", "acme", big), 413, "PAYLOAD_TOO_LARGE");
  EXPECT_EQ(api().post_json("/api/v1/jobs", big).status, 202);

  ASSERT_EQ(as(kRootApiKey, "DELETE", path, "acme").status, 204);
  EXPECT_EQ(as(kRootApiKey, "GET", path, "acme").json_body()["source"], "system");
  ASSERT_EQ(api().del(path).status, 204);
  EXPECT_EQ(api().get(path).json_body()["source"], "environment");

  expect_problem(api().request("PUT", path, R"({"value":"big"})", "application/json"), 422,
                 "VALIDATION_FAILED", "LIMITS__MAX_REQUEST_BYTES");
  expect_problem(api().request("PUT", "/api/v1/config/PDF__DEFAULT_PAGE_SIZE", R"({"value":"B7"})",
                               "application/json"),
                 422, "VALIDATION_FAILED", "PDF__DEFAULT_PAGE_SIZE");
  expect_problem(api().get("/api/v1/config/NO_SUCH"), 404, "NOT_FOUND", "name");
  json all = api().get("/api/v1/config").json_body();
  EXPECT_GE(all["settings"].size(), 5u);
}

}  // namespace
}  // namespace gen::itest
