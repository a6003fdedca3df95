// The backends' read caches (backend/src/read_cache.hpp) never outlive a change for long:
// two real backends and a worker on one database (SQLite file or PostgreSQL). A credential
// deactivated, a tenant disabled or a finished job deleted through backend A stops working on
// A at once and on B (which had it cached) within a moment; so does a change written straight
// into the database (as generatorctl does on the host).
#include <gtest/gtest.h>

#include <thread>

#include <Poco/Data/Session.h>

#include "gen/core/storage/database.hpp"
#include "harness.hpp"
#include "storage/session.hpp"
#include "test_database.hpp"

namespace gen::itest {
namespace {

using namespace std::chrono_literals;

// Polls `fn` until true or 5 s (the caches poll every 200 ms); returns the elapsed ms or -1.
template <typename Fn>
long long eventually(Fn fn) {
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < 5s) {
    if (fn()) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::steady_clock::now() - start)
          .count();
    }
    std::this_thread::sleep_for(20ms);
  }
  return -1;
}

class ReadCaches : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = std::make_unique<test::TestDatabase>(GetParam());
    const auto build = build_dir();
    for (int host = 0; host < 2; ++host) {
      const int port = free_port();
      auto env = service_environment({
          {"DATABASE__URL", db_->url()},
          {"PLUGINS__PATH", (build / "lib/generator/plugins").string() + ":" +
                                (build / "tests/fixture-plugins").string()},
          {"STORAGE__DATA_DIR", dir_.path().string()},
          {"HOSTING__PORT", std::to_string(port)},
          {"HOSTING__METRICS_PORT", std::to_string(free_port())},
          {"WORKER__POLL_INTERVAL_MS", "50"},
          {"AUTH__ROOT_API_KEY", kRootApiKey},
          {"LOGGING__LEVEL", "warning"},
      });
      const std::string n = host == 0 ? "a" : "b";
      procs_.push_back(std::make_unique<Process>("backend-" + n, build / "bin/generator-backend",
                                                 std::vector<std::string>{}, env,
                                                 dir_.path() / ("backend-" + n + ".log")));
      if (host == 0) {
        procs_.push_back(std::make_unique<Process>("worker", build / "bin/generator-worker",
                                                   std::vector<std::string>{"run"}, env,
                                                   dir_.path() / "worker.log"));
      }
      backends_.emplace_back(port, kRootApiKey);
    }
    for (auto& api : backends_) {
      ASSERT_GE(eventually([&] {
                  try {
                    return api.get("/health").status == 200;
                  } catch (const std::exception&) {
                    return false;
                  }
                }),
                0)
          << logs();
    }
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << logs();
  }
  std::string logs() const {
    std::string out;
    for (const auto& p : procs_) out += "---- " + p->name() + " ----\n" + p->log();
    return out;
  }
  const HttpClient& a() const { return backends_[0]; }
  const HttpClient& b() const { return backends_[1]; }

  // A credential with READ:JOBS and WRITE:JOBS everywhere; returns its API key.
  std::string make_credential(const std::string& id) {
    return create_credential(a(), id, {"READ:JOBS", "WRITE:JOBS"}).api_key;
  }

  std::unique_ptr<test::TestDatabase> db_;
  TempDir dir_;
  std::vector<std::unique_ptr<Process>> procs_;
  std::vector<HttpClient> backends_;
};

TEST_P(ReadCaches, ADeactivatedCredentialStopsWorkingOnEveryBackend) {
  const std::string key = make_credential("poller");
  ASSERT_FALSE(key.empty());
  // Both backends have the key cached after a first use.
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(a().with_token(key).get("/api/v1/jobs").status, 200);
    ASSERT_EQ(b().with_token(key).get("/api/v1/jobs").status, 200);
  }
  HttpResponse off = a().request("PUT", "/api/v1/credentials/poller",
                                 json{{"is_active", false}}.dump(), "application/json");
  ASSERT_EQ(off.status, 200) << off.body;
  // The backend that made the change: at once.
  EXPECT_EQ(a().with_token(key).get("/api/v1/jobs").status, 401);
  // The other one: once it has seen the change counter move.
  const long long ms =
      eventually([&] { return b().with_token(key).get("/api/v1/jobs").status == 401; });
  EXPECT_GE(ms, 0) << "backend B still accepts a deactivated key after 5 s";
  std::cout << "backend B refused the deactivated key after " << ms << " ms\n";
}

TEST_P(ReadCaches, ADisabledTenantAndADirectDatabaseChangeAreSeen) {
  ASSERT_EQ(a().post_json("/api/v1/app_management/tenants", {{"id", "acme"}}).status, 201);
  const std::map<std::string, std::string> acme = {{"tenant-id", "acme"}};
  const std::string job =
      json{{"steps", {{{"generator", "text.template"}, {"params", {{"template", "x"}}}}}}}.dump();
  ASSERT_EQ(b().request("POST", "/api/v1/jobs", job, "application/json", acme).status, 202);
  ASSERT_EQ(a().request("PUT", "/api/v1/app_management/tenants/acme",
                        json{{"enabled", false}}.dump(), "application/json")
                .status,
            200);
  EXPECT_GE(eventually([&] {
              return b().request("POST", "/api/v1/jobs", job, "application/json", acme).status ==
                     409;
            }),
            0)
      << "backend B still takes writes for a disabled tenant";

  // Written into the database directly (generatorctl's way on the host): a new tenant row.
  {
    auto db = Database::open(db_->url(), 1);
    Poco::Data::Session s = db->session();
    s << "UPDATE tenants SET enabled = 1 WHERE id = 'acme'", Poco::Data::Keywords::now;
  }
  EXPECT_GE(eventually([&] {
              return b().request("POST", "/api/v1/jobs", job, "application/json", acme).status ==
                     202;
            }),
            0)
      << "backend B did not see a change made in the database";
}

TEST_P(ReadCaches, AFinishedJobDeletedElsewhereIsGoneSoon) {
  HttpResponse submitted = b().post_json(
      "/api/v1/jobs",
      {{"steps", {{{"generator", "text.template"}, {"params", {{"template", "x"}}}}}}});
  ASSERT_EQ(submitted.status, 202) << submitted.body;
  const std::string id = submitted.json_body()["id"];
  ASSERT_GE(eventually([&] {
              return b().get("/api/v1/jobs/" + id).json_body().value("status", "") == "COMPLETED";
            }),
            0);
  // Served from B's cache now; the answer is the same as A's from the database.
  EXPECT_EQ(b().get("/api/v1/jobs/" + id).body, a().get("/api/v1/jobs/" + id).body);
  // Another tenant still cannot see it through the cache.
  ASSERT_EQ(a().post_json("/api/v1/app_management/tenants", {{"id", "other"}}).status, 201);
  EXPECT_EQ(b().request("GET", "/api/v1/jobs/" + id, {}, {}, {{"tenant-id", "other"}}).status, 404);

  ASSERT_EQ(a().del("/api/v1/jobs/" + id).status, 204);
  EXPECT_EQ(a().get("/api/v1/jobs/" + id).status, 404);
  EXPECT_GE(eventually([&] { return b().get("/api/v1/jobs/" + id).status == 404; }), 0)
      << "backend B still serves a deleted job after 5 s";
}

INSTANTIATE_TEST_SUITE_P(Backends, ReadCaches, ::testing::ValuesIn(test::all_backends()),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace gen::itest
