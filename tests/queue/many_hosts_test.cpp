// Many hosts on one PostgreSQL: two generator-backend processes and two generator-worker
// supervisors (each 2 processes x 3 threads), as separate hosts would run them. Jobs are
// submitted over HTTP to both backends alternately; every task is done, and done once.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "harness.hpp"
#include "test_database.hpp"

namespace gen {
namespace {

using namespace std::chrono_literals;
using itest::HttpClient;
using itest::Process;
using nlohmann::json;

constexpr int kJobs = 300;

TEST(ManyHosts, TwoBackendsAndTwoWorkerSupervisorsShareOnePostgres) {
  test::TestDatabase db("postgres");
  itest::TempDir dir;
  const std::string record = (dir.path() / "executions.log").string();
  const auto build = itest::build_dir();
  std::vector<std::unique_ptr<Process>> procs;
  std::vector<HttpClient> backends;
  for (int host = 0; host < 2; ++host) {
    int port = itest::free_port();
    auto env = itest::service_environment({
        {"DATABASE__URL", db.url()},
        {"PLUGINS__PATH", (build / "tests/fixture-plugins").string()},
        {"STORAGE__DATA_DIR", dir.path().string()},
        {"HOSTING__PORT", std::to_string(port)},
        {"HOSTING__METRICS_PORT", std::to_string(itest::free_port())},
        {"THREADS__DRAMATIQ_PROCESSES", "2"},
        {"THREADS__DRAMATIQ_THREADS", "3"},
        {"WORKER__POLL_INTERVAL_MS", "100"},
        {"AUTH__ROOT_API_KEY", itest::kRootApiKey},
        {"LOGGING__LEVEL", "warning"},
    });
    std::string n = std::to_string(host);
    procs.push_back(std::make_unique<Process>("backend" + n, build / "bin/generator-backend",
                                              std::vector<std::string>{}, env,
                                              dir.path() / ("backend" + n + ".log")));
    procs.push_back(std::make_unique<Process>("worker" + n, build / "bin/generator-worker",
                                              std::vector<std::string>{"run"}, env,
                                              dir.path() / ("worker" + n + ".log")));
    backends.emplace_back(port, itest::kRootApiKey);
  }
  auto logs = [&] {
    std::string out;
    for (auto& p : procs) out += "---- " + p->name() + " ----\n" + p->log();
    return out;
  };
  for (auto& api : backends) {
    bool up = false;
    for (int i = 0; i < 300 && !up; ++i) {
      try {
        up = api.get("/health").status == 200;
      } catch (const std::exception&) {
        // not listening yet
      }
      if (!up) std::this_thread::sleep_for(50ms);
    }
    ASSERT_TRUE(up) << logs();
  }

  std::set<std::string> ids;
  for (int i = 0; i < kJobs; ++i) {
    json body = {{"steps",
                  {{{"generator", "fixture.record"}, {"params", {{"path", record}}}},
                   {{"generator", "fixture.echo"}, {"params", {{"message", "step 2"}}}}}}};
    auto r = backends[i % 2].post_json("/api/v1/jobs", body);
    ASSERT_EQ(r.status, 202) << r.body << logs();
    ids.insert(r.json_body()["id"].get<std::string>());
  }
  ASSERT_EQ(ids.size(), static_cast<std::size_t>(kJobs));

  // Each backend sees every job, whichever backend took it.
  std::map<std::string, std::string> status;
  const auto deadline = std::chrono::steady_clock::now() + 5min;  // hang guard only
  for (const std::string& id : ids) {
    for (;;) {
      auto r = backends[(id.back() & 1)].get("/api/v1/jobs/" + id);
      ASSERT_EQ(r.status, 200) << r.body;
      std::string s = r.json_body()["status"];
      if (s == "COMPLETED" || s == "FAILED" || s == "CANCELLED") {
        status[id] = s;
        break;
      }
      ASSERT_LT(std::chrono::steady_clock::now(), deadline)
          << "job " << id << " stuck " << s << logs();
      std::this_thread::sleep_for(20ms);
    }
  }
  for (const auto& [id, s] : status) EXPECT_EQ(s, "COMPLETED") << id;

  // Exactly once: each first-step task ran once (no kills here), and both worker hosts
  // took part.
  std::map<std::string, int> runs;
  std::ifstream in(record);
  std::string task;
  int attempt = 0;
  while (in >> task >> attempt) ++runs[task];
  EXPECT_EQ(runs.size(), static_cast<std::size_t>(kJobs));
  for (const auto& [t, n] : runs) EXPECT_EQ(n, 1) << t;
  std::set<std::string> worker_ids;
  for (const std::string& id : ids) {
    auto job = backends[1].get("/api/v1/jobs/" + id).json_body();
    for (const auto& t : job["tasks"]) {
      for (const auto& a : t["attempts"]) worker_ids.insert(a["worker"].get<std::string>());
    }
  }
  EXPECT_GE(worker_ids.size(), 3u) << "work spread over the worker processes of both hosts";
  for (auto& p : procs) EXPECT_EQ(p->stop(SIGTERM, 30s), 0) << p->name() << "\n" << p->log();
}

}  // namespace
}  // namespace gen
