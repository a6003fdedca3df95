// Monitoring with the real services: /metrics values after real requests and jobs (backend
// and worker), counters across a killed worker process, forwarded and disabled /metrics,
// /health and /ready, and `promtool check metrics` on real scrapes.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "fixture.hpp"

namespace gen::itest {
namespace {

using namespace std::chrono_literals;

// One sample of the Prometheus text format.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

std::vector<Sample> parse_exposition(const std::string& text) {
  std::vector<Sample> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty() || line[0] == '#') continue;
    Sample s;
    std::size_t i = line.find_first_of("{ ");
    s.name = line.substr(0, i);
    if (i != std::string::npos && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        std::size_t eq = line.find('=', i);
        std::string key = line.substr(i, eq - i);
        std::string value;
        std::size_t j = eq + 2;  // after ="
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\' && j + 1 < line.size()) ++j;
          value += line[j];
        }
        s.labels[key] = value;
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      ++i;
    }
    s.value = std::stod(line.substr(line.find_first_not_of(' ', i)));
    out.push_back(std::move(s));
  }
  return out;
}

// Sum of the samples named `name` whose labels include `labels`; -1 when there is none.
double value_of(const std::string& text, const std::string& name,
                const std::map<std::string, std::string>& labels = {}) {
  double sum = 0;
  bool found = false;
  for (const Sample& s : parse_exposition(text)) {
    if (s.name != name) continue;
    bool match = true;
    for (const auto& [k, v] : labels) {
      auto it = s.labels.find(k);
      match = match && it != s.labels.end() && it->second == v;
    }
    if (!match) continue;
    sum += s.value;
    found = true;
  }
  return found ? sum : -1;
}

// Runs `promtool check metrics` on `text`; returns {exit status, output}.
std::pair<int, std::string> promtool_check_metrics(const std::string& text) {
  TempDir dir;
  const auto input = dir.path() / "scrape.txt";
  {
    std::FILE* f = std::fopen(input.c_str(), "w");
    if (!f) return {-1, "cannot write " + input.string()};
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  }
  const std::string command = "promtool check metrics < '" + input.string() + "' 2>&1";
  std::FILE* p = ::popen(command.c_str(), "r");
  if (!p) return {-1, "cannot run promtool"};
  std::string output;
  char buffer[4096];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, p)) output.append(buffer, n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

json echo_job(const std::string& message) {
  return {{"steps",
           json::array({{{"generator", "fixture.echo"}, {"params", {{"message", message}}}}})}};
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 20s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(25ms);
  }
  return condition();
}

// Pids of the worker processes, from the supervisor's "worker process forked" log lines
// ("worker": "<host>:<pid>"), newest last.
std::vector<pid_t> forked_workers(const std::string& log) {
  std::vector<pid_t> pids;
  std::size_t pos = 0;
  while ((pos = log.find('\n', pos)) != std::string::npos) {
    ++pos;
    std::size_t end = log.find('\n', pos);
    json line = json::parse(
        log.substr(pos, end == std::string::npos ? std::string::npos : end - pos), nullptr, false);
    if (!line.is_object() || line.value("msg", "") != "worker process forked") continue;
    const std::string id = line.value("worker", "");
    pids.push_back(static_cast<pid_t>(std::stol(id.substr(id.rfind(':') + 1))));
  }
  return pids;
}

class MonitoringTest : public StackTest {
 protected:
  StackOptions options() override {
    StackOptions o;
    o.worker_processes = 3;
    o.worker_threads = 2;
    return o;
  }
  HttpClient worker_http() const {
    return HttpClient(std::stoi(stack_->environment().at("HOSTING__METRICS_PORT")));
  }
  std::string backend_metrics() {
    HttpResponse r = api().get("/metrics");
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    return r.body;
  }
  std::string worker_metrics() {
    HttpResponse r = worker_http().get("/metrics");
    EXPECT_EQ(r.status, 200) << r.body;
    return r.body;
  }
  // Submits `n` echo jobs and waits until every one completed.
  void run_jobs(int n) {
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i)
      ids.push_back(stack().submit(echo_job("m" + std::to_string(i)))["id"]);
    for (const auto& id : ids) {
      EXPECT_EQ(stack().wait_for_job(id, 30s)["status"], "COMPLETED") << id;
    }
  }
};

TEST_F(MonitoringTest, BackendCountsEachRequestOnceUnderItsRouteTemplateAndStatusClass) {
  const std::string route = "/api/v1/jobs/{id}";
  const std::string id = stack().submit(echo_job("hello"))["id"];
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(api().get("/api/v1/jobs/" + id).status, 200);
  EXPECT_EQ(api().get("/api/v1/jobs/no-such-job").status, 404);

  const std::string text = backend_metrics();
  EXPECT_EQ(value_of(text, "generator_http_requests_total",
                     {{"method", "GET"}, {"route", route}, {"status", "2xx"}}),
            1);
  EXPECT_EQ(value_of(text, "generator_http_requests_total",
                     {{"method", "GET"}, {"route", route}, {"status", "4xx"}}),
            1);
  EXPECT_EQ(value_of(text, "generator_http_requests_total",
                     {{"method", "POST"}, {"route", "/api/v1/jobs"}, {"status", "2xx"}}),
            1);
  EXPECT_EQ(value_of(text, "generator_http_request_duration_seconds_count",
                     {{"method", "GET"}, {"route", route}, {"status", "2xx"}}),
            1);
  // Raw paths never become labels.
  EXPECT_EQ(text.find(id), std::string::npos);
  EXPECT_GT(value_of(text, "generator_http_response_size_bytes_sum",
                     {{"method", "GET"}, {"route", route}, {"status", "2xx"}}),
            0);
  // Only the scrape itself is in flight.
  EXPECT_EQ(value_of(text, "generator_http_requests_in_flight"), 1);
  EXPECT_GT(value_of(text, "process_resident_memory_bytes"), 0);
  EXPECT_GT(value_of(text, "process_start_time_seconds"), 1.6e9);
  EXPECT_GT(value_of(text, "process_open_fds"), 0);
  EXPECT_EQ(value_of(text, "generator_build_info", {{"service", "backend"}}), 1);
  EXPECT_GE(value_of(text, "generator_plugins", {{"state", "LOADED"}}), 2);
  EXPECT_GE(value_of(text, "generator_plugins", {{"state", "INVALID"}}), 1);
  EXPECT_EQ(value_of(text, "generator_queue_up"), 1);

  // The next scrape counts the previous one, once.
  const std::string again = backend_metrics();
  EXPECT_EQ(value_of(again, "generator_http_requests_total",
                     {{"method", "GET"}, {"route", "/metrics"}, {"status", "2xx"}}),
            1);
}

TEST_F(MonitoringTest, QueueMetricsShowWaitingTasksByGenerator) {
  stack_.reset();  // a backend alone: nothing takes the tasks
  stack_ = std::make_unique<Stack>(StackOptions{.worker = false});
  for (int i = 0; i < 3; ++i) stack().submit(echo_job("queued"));
  std::this_thread::sleep_for(1100ms);  // past the 1 s cache and with a measurable age
  const std::string text = backend_metrics();
  EXPECT_EQ(
      value_of(text, "generator_queue_tasks", {{"state", "QUEUED"}, {"generator", "fixture.echo"}}),
      3);
  EXPECT_GE(value_of(text, "generator_queue_oldest_task_age_seconds"), 1.0);
}

TEST_F(MonitoringTest, WorkerCountsACompletedTaskOnceAcrossProcesses) {
  run_jobs(9);
  const std::map<std::string, std::string> completed = {{"generator", "fixture.echo"},
                                                        {"outcome", "COMPLETED"}};
  // The job is COMPLETED in the database a moment before the thread counts it.
  ASSERT_TRUE(eventually([&] {
    return value_of(worker_metrics(), "generator_worker_tasks_total", completed) == 9;
  })) << worker_metrics();
  std::this_thread::sleep_for(300ms);
  const std::string text = worker_metrics();
  EXPECT_EQ(value_of(text, "generator_worker_tasks_total", completed), 9);
  EXPECT_EQ(value_of(text, "generator_worker_tasks_claimed_total", {{"generator", "fixture.echo"}}),
            9);
  EXPECT_EQ(value_of(text, "generator_worker_task_duration_seconds_count",
                     {{"generator", "fixture.echo"}}),
            9);
  EXPECT_EQ(value_of(text, "generator_worker_processes"), 3);
  EXPECT_EQ(value_of(text, "generator_worker_threads", {{"state", "idle"}}), 6);
  EXPECT_EQ(value_of(text, "generator_worker_threads", {{"state", "busy"}}), 0);
  EXPECT_EQ(value_of(text, "generator_build_info", {{"service", "worker"}}), 1);
  EXPECT_GT(value_of(text, "process_resident_memory_bytes"), 0);
  EXPECT_GE(value_of(text, "process_threads"), 4) << "supervisor + endpoint + 3 processes";
}

TEST_F(MonitoringTest, CountersStayMonotonicWhenAWorkerProcessIsKilled) {
  run_jobs(6);
  const std::map<std::string, std::string> completed = {{"generator", "fixture.echo"},
                                                        {"outcome", "COMPLETED"}};
  ASSERT_TRUE(eventually(
      [&] { return value_of(worker_metrics(), "generator_worker_tasks_total", completed) == 6; }));
  std::vector<pid_t> workers = forked_workers(stack().worker()->log());
  ASSERT_EQ(workers.size(), 3u) << stack().worker()->log();
  double cpu = value_of(worker_metrics(), "process_cpu_seconds_total");
  ASSERT_EQ(::kill(workers[0], SIGKILL), 0);

  // Scrape through the death and the restart: never below what was seen before.
  bool restarted = eventually([&] {
    const std::string text = worker_metrics();
    EXPECT_EQ(value_of(text, "generator_worker_tasks_total", completed), 6);
    const double now_cpu = value_of(text, "process_cpu_seconds_total");
    EXPECT_GE(now_cpu, cpu);
    cpu = std::max(cpu, now_cpu);
    return value_of(text, "generator_worker_process_exits_total", {{"cause", "SIGKILL"}}) == 1 &&
           value_of(text, "generator_worker_processes") == 3 &&
           value_of(text, "generator_worker_threads", {{"state", "idle"}}) == 6;
  });
  ASSERT_TRUE(restarted) << worker_metrics();
  EXPECT_EQ(value_of(worker_metrics(), "generator_worker_process_restarts_total"), 1);

  run_jobs(3);
  ASSERT_TRUE(eventually([&] {
    return value_of(worker_metrics(), "generator_worker_tasks_total", completed) == 9;
  })) << worker_metrics();
}

// One rule (metrics::is_forwarded_header), one refusal: the same 404 problem from both.
TEST_F(MonitoringTest, MetricsRefuseForwardedRequestsOnBothServices) {
  for (const HttpClient& client : {api(), worker_http()}) {
    for (const char* header : {"X-Forwarded-For", "x-forwarded-proto", "X-FORWARDED-HOST",
                               "Forwarded", "X-Real-IP", "Via", "via"}) {
      HttpResponse r = client.request("GET", "/metrics", {}, {}, {{header, "203.0.113.7"}});
      EXPECT_EQ(r.status, 404) << "port " << client.port() << " " << header;
      EXPECT_EQ(r.body.find("generator_"), std::string::npos);
      EXPECT_NE(r.body.find("/metrics is not served to forwarded requests (" + std::string(header) +
                            " is set)"),
                std::string::npos)
          << "port " << client.port() << " " << r.body;
    }
    EXPECT_EQ(client.request("GET", "/metrics", {}, {}, {{"X-Request-Id", "1"}}).status, 200);
  }
}

class MetricsDisabledTest : public StackTest {
 protected:
  StackOptions options() override { return {.env = {{"HOSTING__ENABLE_METRICS", "false"}}}; }
};

TEST_F(MetricsDisabledTest, NoMetricsEndpointButHealthStays) {
  HttpClient worker(std::stoi(stack().environment().at("HOSTING__METRICS_PORT")));
  for (const HttpClient& client : {api(), worker}) {
    EXPECT_EQ(client.get("/metrics").status, 404) << client.port();
    EXPECT_EQ(client.get("/health").status, 200) << client.port();
    EXPECT_TRUE(eventually([&] { return client.get("/ready").status == 200; })) << client.port();
  }
}

TEST_F(MonitoringTest, ReadyReportsEachCheckAndTurns503WhenTheDatabaseIsGone) {
  HttpClient worker = worker_http();
  for (const HttpClient& client : {api(), worker}) {
    ASSERT_TRUE(eventually([&] { return client.get("/ready").status == 200; }))
        << client.get("/ready").body;
    json body = client.get("/ready").json_body();
    EXPECT_EQ(body["status"], "ready");
    EXPECT_EQ(body["checks"]["database"]["ok"], true);
    EXPECT_EQ(body["checks"]["plugins"]["ok"], true);
  }

  // Take the SQLite database away (its whole folder), then give it back.
  const std::filesystem::path dir = stack().dir();
  const std::filesystem::path moved = dir.string() + ".gone";
  std::filesystem::rename(dir, moved);
  struct Restore {
    std::filesystem::path from, to;
    ~Restore() {
      std::error_code ec;
      if (std::filesystem::exists(from, ec)) std::filesystem::rename(from, to, ec);
    }
  } restore{moved, dir};
  for (const HttpClient& client : {api(), worker}) {
    HttpResponse r = client.get("/ready");
    EXPECT_EQ(r.status, 503) << client.port() << " " << r.body;
    json body = r.json_body();
    EXPECT_EQ(body["status"], "not ready");
    EXPECT_EQ(body["checks"]["database"]["ok"], false);
    EXPECT_NE(body["checks"]["database"]["detail"].get<std::string>().find("missing"),
              std::string::npos)
        << r.body;
    EXPECT_EQ(client.get("/health").status, 200) << "not ready is never unhealthy";
  }
  std::filesystem::rename(moved, dir);
  for (const HttpClient& client : {api(), worker}) {
    EXPECT_TRUE(eventually([&] { return client.get("/ready").status == 200; })) << client.port();
  }
}

TEST_F(MonitoringTest, PromtoolAcceptsBothScrapesAfterRealJobs) {
  run_jobs(3);
  stack().submit({{"steps", json::array({{{"generator", "fixture.fail_permanent"},
                                          {"params", json::object()}}})}});
  api().get("/api/v1/nowhere");
  ASSERT_TRUE(eventually([&] {
    return value_of(worker_metrics(), "generator_worker_tasks_total", {{"outcome", "FAILED"}}) == 1;
  })) << worker_metrics();
  for (const std::string& text : {backend_metrics(), worker_metrics()}) {
    auto [status, output] = promtool_check_metrics(text);
    EXPECT_EQ(status, 0) << output << "\n" << text;
    EXPECT_EQ(output, "") << "lint findings:\n" << output;
  }
}

}  // namespace
}  // namespace gen::itest
