// The backend as a process: command line, configuration errors, port clashes, metrics,
// clean stop on SIGTERM.
#include <signal.h>

#include "fixture.hpp"

namespace gen::itest {
namespace {

using namespace std::chrono_literals;

std::filesystem::path backend_exe() {
  return build_dir() / "bin/generator-backend";
}

TEST(BackendProcess, VersionAndHelp) {
  auto [code, out] = run_to_completion(backend_exe(), {"version"}, service_environment({}), 10s);
  EXPECT_EQ(code, 0) << out;
  EXPECT_TRUE(out.starts_with("generator-backend ")) << out;
  auto [help_code, help] =
      run_to_completion(backend_exe(), {"--help"}, service_environment({}), 10s);
  EXPECT_EQ(help_code, 0);
  EXPECT_NE(help.find("usage: generator-backend"), std::string::npos) << help;
}

TEST(BackendProcess, ConfigurationErrorExitsWithTwo) {
  auto [code, out] = run_to_completion(backend_exe(), {"serve"},
                                       service_environment({{"HOSTING__PORT", "http"}}), 10s);
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("generator-backend: configuration error: HOSTING__PORT"), std::string::npos)
      << out;
}

TEST(BackendProcess, MigrateReportsWhatRan) {
  TempDir dir;
  auto env = service_environment(
      {{"DATABASE__URL", "sqlite://" + (dir.path() / "generator.db").string()}});
  auto [code, out] = run_to_completion(backend_exe(), {"migrate"}, env, 30s);
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(out.find("applied 0 migration"), std::string::npos) << out;
  auto [again_code, again] = run_to_completion(backend_exe(), {"migrate"}, env, 30s);
  EXPECT_EQ(again_code, 0) << again;
  EXPECT_NE(again.find("applied 0 migration(s)"), std::string::npos) << again;
}

class Service : public StackTest {
 protected:
  StackOptions options() override { return {.worker = false}; }
};

TEST_F(Service, PortTakenExitsWithOne) {
  auto env = stack().environment();
  env["DATABASE__URL"] = "sqlite://" + (stack().dir() / "other.db").string();
  auto [code, out] = run_to_completion(backend_exe(), {"serve"}, env, 30s);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find(env["HOSTING__PORT"]), std::string::npos) << out;
  EXPECT_EQ(api().get("/health").status, 200) << "the first backend must be unaffected";
}

TEST_F(Service, HealthAndMetrics) {
  HttpResponse health = api().get("/health");
  ASSERT_EQ(health.status, 200);
  EXPECT_EQ(health.json_body(), json({{"status", "ok"}}));

  api().get("/api/v1/jobs/nope");
  HttpResponse metrics = api().get("/metrics");
  ASSERT_EQ(metrics.status, 200) << metrics.body;
  EXPECT_TRUE(metrics.header("Content-Type").starts_with("text/plain"));
  EXPECT_NE(metrics.body.find("generator_http_requests_total{method=\"GET\",route=\"/api/v1/jobs/"
                              "{id}\",status=\"4xx\"} 1"),
            std::string::npos)
      << metrics.body;

  // Never through a load balancer.
  expect_problem(api().request("GET", "/metrics", {}, {}, {{"X-Forwarded-For", "10.0.0.1"}}), 404,
                 "NOT_FOUND");
}

TEST(BackendProcessMetrics, DisabledMetricsAreNotServed) {
  Stack stack({.worker = false, .env = {{"HOSTING__ENABLE_METRICS", "false"}}});
  expect_problem(stack.api().get("/metrics"), 404, "NOT_FOUND");
}

TEST_F(Service, StopsCleanlyOnSigterm) {
  EXPECT_EQ(stack().backend().stop(SIGTERM, 20s), 0) << stack().logs();
  EXPECT_NE(stack().logs().find("listening"), std::string::npos);
}

}  // namespace
}  // namespace gen::itest
