// The API's stores (credentials, tenants, settings, tenant job listing) on SQLite and
// PostgreSQL, and the whole authenticated API on PostgreSQL.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include <Poco/Data/Session.h>

#include "database_fixture.hpp"
#include "fixture.hpp"
#include "gen/core/base/clock.hpp"
#include "gen/core/queue/job_store.hpp"
#include "gen/core/storage/database.hpp"
#include "gen/core/tenancy/auth.hpp"
#include "gen/core/tenancy/config_store.hpp"
#include "gen/core/tenancy/tenants.hpp"
#include "storage/session.hpp"
#include "test_database.hpp"

namespace gen::itest {
namespace {

using namespace std::chrono_literals;

class Stores : public test::MigratedDatabaseTest {};

TEST_P(Stores, CredentialsHashSecretsAndRevokeAtOnce) {
  CredentialStore store(*db_);
  Credential c;
  c.id = "acme-user";
  c.scopes = {"READ:JOBS"};
  c.tenants["acme"] = {"WRITE:JOBS"};
  IssuedCredential issued = store.create(c, "");
  EXPECT_GE(issued.password.size(), 24u);
  EXPECT_TRUE(issued.api_key.starts_with("gen_"));
  EXPECT_THROW(store.create(c, ""), Error);  // the id is taken

  auto by_key = store.find_by_api_key(issued.api_key);
  ASSERT_TRUE(by_key.has_value());
  EXPECT_TRUE(by_key->allows("READ:JOBS", ""));
  EXPECT_TRUE(by_key->allows("WRITE:JOBS", "acme"));
  EXPECT_FALSE(by_key->allows("WRITE:JOBS", "other"));
  EXPECT_FALSE(by_key->allows("WRITE:JOBS", ""));
  EXPECT_TRUE(store.check_password("acme-user", issued.password).has_value());
  EXPECT_FALSE(store.check_password("acme-user", issued.password + "x").has_value());
  EXPECT_FALSE(store.check_password("nobody", issued.password).has_value());

  // Nothing in the database is a secret in clear text.
  {
    auto s = db_->session();
    std::vector<std::string> hashes, keys;
    s << "SELECT password_hash FROM credentials", Poco::Data::Keywords::into(hashes),
        Poco::Data::Keywords::now;
    s << "SELECT key_hash FROM api_keys", Poco::Data::Keywords::into(keys),
        Poco::Data::Keywords::now;
    ASSERT_EQ(hashes.size(), 1u);
    EXPECT_TRUE(hashes[0].starts_with("pbkdf2-sha256$100000$"));
    EXPECT_EQ(hashes[0].find(issued.password), std::string::npos);
    ASSERT_EQ(keys.size(), 1u);
    EXPECT_EQ(keys[0], hash_api_key(issued.api_key));
  }

  ASSERT_TRUE(store.set_active("acme-user", false).has_value());
  EXPECT_FALSE(store.find_by_api_key(issued.api_key).has_value());
  EXPECT_FALSE(store.check_password("acme-user", issued.password).has_value());
  store.set_active("acme-user", true);
  EXPECT_TRUE(store.remove("acme-user"));
  EXPECT_FALSE(store.remove("acme-user"));
  EXPECT_FALSE(store.find_by_api_key(issued.api_key).has_value());
}

TEST_P(Stores, RootKeyFromTheEnvironmentIsReplacedNotAdded) {
  CredentialStore store(*db_);
  const std::string first(40, 'a'), second(40, 'b');
  store.install_root_api_key(first);
  store.install_root_api_key(first);  // idempotent
  ASSERT_TRUE(store.find_by_api_key(first).has_value());
  EXPECT_TRUE(store.find_by_api_key(first)->is_root);
  store.install_root_api_key(second);
  EXPECT_FALSE(store.find_by_api_key(first).has_value());
  EXPECT_TRUE(store.find_by_api_key(second).has_value());
  EXPECT_THROW(store.create_root(), Error);  // the root exists
}

TEST_P(Stores, TokenSecretIsMadeOnceAndShared) {
  std::string a = CredentialStore(*db_).token_secret("");
  auto other = Database::open(url(), 1);  // another backend
  EXPECT_EQ(CredentialStore(*other).token_secret(""), a);
  EXPECT_EQ(a.size(), 64u);
  TokenSigner signer(a);
  std::string token = signer.issue(Credential{.id = "x", .generation = "g1"}, 60, now_ms());
  auto subject = TokenSigner(CredentialStore(*other).token_secret("")).verify(token, now_ms());
  ASSERT_TRUE(subject.has_value());
  EXPECT_EQ(subject->credential_id, "x");
  EXPECT_EQ(subject->generation, "g1");
  EXPECT_FALSE(signer.verify(token, now_ms() + 61000).has_value());  // expired
}

TEST_P(Stores, BackendsStartingTogetherAgreeOnRootAndSecret) {
  // Several backends install the same root key and read the token secret at once.
  constexpr int kBackends = 4;
  const std::string key(40, 'k');
  std::vector<std::unique_ptr<Database>> dbs;
  for (int i = 0; i < kBackends; ++i) dbs.push_back(Database::open(url(), 1));
  std::vector<std::string> secrets(kBackends);
  std::vector<std::string> errors(kBackends);
  std::vector<std::thread> threads;
  for (int i = 0; i < kBackends; ++i) {
    threads.emplace_back([&, i] {
      try {
        CredentialStore store(*dbs[i]);
        store.install_root_api_key(key);
        secrets[i] = store.token_secret("");
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kBackends; ++i) {
    EXPECT_EQ(errors[i], "") << "backend " << i;
    EXPECT_EQ(secrets[i], secrets[0]);
  }
  EXPECT_TRUE(CredentialStore(*db_).find_by_api_key(key).has_value());
  EXPECT_EQ(CredentialStore(*db_).list().size(), 1u);
}

TEST_P(Stores, TenantsAndSettingsPrecedence) {
  TenantStore tenants(*db_);
  tenants.create("acme", true);
  EXPECT_THROW(tenants.create("acme", true), Error);
  EXPECT_THROW(tenants.create("bad id", true), Error);
  EXPECT_FALSE(tenants.set_enabled("acme", false)->enabled);
  EXPECT_EQ(tenants.list().size(), 1u);

  ConfigStore config(*db_, {{"LIMITS__MAX_REQUEST_BYTES", "5000"}});
  EXPECT_EQ(config.resolve("LIMITS__MAX_REQUEST_BYTES", "acme").source, "environment");
  config.set("LIMITS__MAX_REQUEST_BYTES", "", 4000);
  config.set("LIMITS__MAX_REQUEST_BYTES", "acme", 3000);
  config.set("LIMITS__MAX_REQUEST_BYTES", "acme", 2000);  // replaces
  EXPECT_EQ(config.integer("LIMITS__MAX_REQUEST_BYTES", "acme"), 2000);
  EXPECT_EQ(config.integer("LIMITS__MAX_REQUEST_BYTES", ""), 4000);
  EXPECT_EQ(config.integer("LIMITS__MAX_REQUEST_BYTES", "other"), 4000);
  EXPECT_TRUE(tenants.remove("acme"));  // takes its settings along
  EXPECT_EQ(config.integer("LIMITS__MAX_REQUEST_BYTES", "acme"), 4000);
  EXPECT_TRUE(config.unset("LIMITS__MAX_REQUEST_BYTES", ""));
  EXPECT_FALSE(config.unset("LIMITS__MAX_REQUEST_BYTES", ""));
  EXPECT_EQ(config.integer("LIMITS__MAX_REQUEST_BYTES", ""), 5000);
}

TEST_P(Stores, TenantJobListingPagesWithinOneTenant) {
  JobStore jobs(*db_);
  std::vector<JobSpec> specs;
  for (int i = 0; i < 7; ++i) {
    JobSpec spec;
    spec.steps.push_back(StepSpec{"fixture.echo"});
    spec.tenant = i % 2 ? "acme" : "";
    specs.push_back(spec);
  }
  jobs.submit_all(specs);
  std::set<std::string> seen;
  std::string cursor;
  do {
    JobPage page = jobs.list_jobs("", 2, cursor, "acme");
    for (const auto& j : page.jobs) {
      EXPECT_EQ(j.tenant, "acme");
      EXPECT_TRUE(seen.insert(j.id).second);
    }
    cursor = page.next;
  } while (!cursor.empty());
  EXPECT_EQ(seen.size(), 3u);
  EXPECT_EQ(jobs.list_jobs("QUEUED", 100, "", "").jobs.size(), 4u);
  EXPECT_TRUE(jobs.list_jobs("", 100, "", "ACME").jobs.empty());  // case-sensitive
}

INSTANTIATE_TEST_SUITE_P(Backends, Stores, ::testing::ValuesIn(test::all_backends()),
                         [](const auto& param_info) { return param_info.param; });

// The authenticated API end to end with the backend and worker on PostgreSQL.
TEST(AuthOnPostgres, LoginTenantIsolationAndSettings) {
  test::TestDatabase pg("postgres");
  Stack stack({.worker = true, .env = {{"DATABASE__URL", pg.url()}}});
  const HttpClient& root = stack.api();
  ASSERT_EQ(root.post_json("/api/v1/app_management/tenants", {{"id", "acme"}}).status, 201);
  HttpResponse created = root.post_json(
      "/api/v1/credentials",
      {{"id", "acme-user"}, {"tenants", {{"acme", {"READ:JOBS", "WRITE:JOBS", "WRITE:CONFIG"}}}}});
  ASSERT_EQ(created.status, 201) << created.body;
  HttpResponse login =
      root.with_token("").request("POST", "/api/v1/login/access_token",
                                  "grant_type=password&username=acme-user&password=" +
                                      created.json_body()["password"].get<std::string>(),
                                  "application/x-www-form-urlencoded");
  ASSERT_EQ(login.status, 200) << login.body;
  HttpClient acme = root.with_token(login.json_body()["access_token"]);
  std::map<std::string, std::string> tenant = {{"tenant-id", "acme"}};
  ASSERT_EQ(acme.request("PUT", "/api/v1/config/JOBS__DEFAULT_PRIORITY", R"({"value":4})",
                         "application/json", tenant)
                .status,
            200);
  HttpResponse job =
      acme.request("POST", "/api/v1/jobs?wait=60", R"({"steps":[{"generator":"fixture.echo"}]})",
                   "application/json", tenant);
  ASSERT_EQ(job.status, 200) << job.body;
  EXPECT_EQ(job.json_body()["status"], "COMPLETED");
  EXPECT_EQ(job.json_body()["priority"], 4);
  std::string id = job.json_body()["id"];
  EXPECT_EQ(root.get("/api/v1/jobs/" + id).status, 404);  // the system scope sees nothing
  EXPECT_EQ(acme.request("GET", "/api/v1/jobs", "", "", tenant).json_body()["jobs"].size(), 1u);
}

}  // namespace
}  // namespace gen::itest
