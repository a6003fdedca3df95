// gen::metrics in-process: readiness checks under a timeout, forwarded headers, /proc stats.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include <nlohmann/json.hpp>

#include "gen/core/metrics/metrics.hpp"

namespace gen::metrics {
namespace {

using namespace std::chrono_literals;

// A check that blocks until released, counting how often it was started.
struct Gate {
  std::mutex mutex;
  std::condition_variable cv;
  bool open = false;
  std::atomic<int> started{0};
  CheckResult wait() {
    ++started;
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return open; });
    return {true, "released"};
  }
  void release() {
    std::lock_guard lock(mutex);
    open = true;
    cv.notify_all();
  }
};

TEST(Readiness, AllChecksPassingIsReadyWithPerCheckDetail) {
  Readiness readiness(5s);
  readiness.add("a", [] { return CheckResult{true, "fine"}; });
  readiness.add("b", [] { return CheckResult{true, "also fine"}; });
  Readiness::Report report = readiness.run();
  EXPECT_TRUE(report.ready);
  auto body = nlohmann::json::parse(report.json);
  EXPECT_EQ(body["status"], "ready");
  EXPECT_EQ(body["checks"]["a"]["detail"], "fine");
  EXPECT_EQ(body["checks"]["b"]["ok"], true);
}

TEST(Readiness, AFailingOrThrowingCheckMakesItNotReady) {
  Readiness readiness(5s);
  readiness.add("ok", [] { return CheckResult{true, "fine"}; });
  readiness.add("down", []() -> CheckResult { throw std::runtime_error("connection refused"); });
  Readiness::Report report = readiness.run();
  EXPECT_FALSE(report.ready);
  auto body = nlohmann::json::parse(report.json);
  EXPECT_EQ(body["status"], "not ready");
  EXPECT_EQ(body["checks"]["ok"]["ok"], true);
  EXPECT_EQ(body["checks"]["down"]["ok"], false);
  EXPECT_EQ(body["checks"]["down"]["detail"], "connection refused");
}

TEST(Readiness, AHungCheckIsNotReadyAndIsNotStartedAgainWhileItHangs) {
  auto gate = std::make_shared<Gate>();
  Readiness readiness(50ms);
  readiness.add("database", [gate] { return gate->wait(); });
  Readiness::Report first = readiness.run();
  EXPECT_FALSE(first.ready);
  EXPECT_NE(first.json.find("no answer within 50 ms"), std::string::npos) << first.json;
  Readiness::Report second = readiness.run();
  EXPECT_FALSE(second.ready);
  EXPECT_EQ(gate->started.load(), 1) << "a hung check must not pile up threads";

  gate->release();
  // The released check answers; once it is done, the next run starts a fresh one.
  bool ready = false;
  for (int i = 0; i < 200 && !ready; ++i) ready = readiness.run().ready;
  EXPECT_TRUE(ready);
  EXPECT_TRUE(readiness.run().ready);
  EXPECT_GE(gate->started.load(), 2);
}

// The one rule both services' /metrics apply (MonitoringTest sends the real requests).
TEST(ForwardedHeaders, XForwardedForwardedXRealIpAndViaInAnyCaseAreForwarded) {
  for (const char* name : {"X-Forwarded-For", "x-forwarded-proto", "X-FORWARDED-HOST", "Forwarded",
                           "forwarded", "X-Real-IP", "x-real-ip", "Via", "VIA"}) {
    EXPECT_TRUE(is_forwarded_header(name)) << name;
  }
  for (const char* name : {"X-Forwarded", "Forwarded-For", "X-Real-IPs", "Vias", "X-Request-Id",
                           "Host", "Authorization"}) {
    EXPECT_FALSE(is_forwarded_header(name)) << name;
  }
}

TEST(ProcessStats, ReadsThisProcessFromProc) {
  auto stats = read_process_stats();
  ASSERT_TRUE(stats);
  EXPECT_GT(stats->resident_memory_bytes, 0);
  EXPECT_GE(stats->virtual_memory_bytes, stats->resident_memory_bytes);
  EXPECT_GE(stats->threads, 1);
  EXPECT_GE(stats->open_fds, 3);  // stdin, stdout, stderr at least
  EXPECT_GT(stats->max_fds, 0);
  EXPECT_GT(stats->start_time_seconds, 1.6e9);
  auto by_pid = read_process_stats(::getpid());
  ASSERT_TRUE(by_pid);
  EXPECT_DOUBLE_EQ(by_pid->start_time_seconds, stats->start_time_seconds);
  EXPECT_FALSE(read_process_stats(0x7ffffff0)) << "no such process";
}

TEST(Serialize, PromtoolShapedHistogramAndCounter) {
  auto counter = family("demo_total", "A demo counter.", prometheus::MetricType::Counter);
  add_value(counter, {{"outcome", "COMPLETED"}}, 3);
  auto histogram = family("demo_seconds", "A demo histogram.", prometheus::MetricType::Histogram);
  add_histogram(histogram, {{"generator", "g"}}, {0.1, 1.0}, {1, 2}, 3, 4.5);
  std::string text = serialize({counter, histogram});
  EXPECT_NE(text.find("demo_total{outcome=\"COMPLETED\"} 3"), std::string::npos) << text;
  EXPECT_NE(text.find("demo_seconds_bucket{generator=\"g\",le=\"+Inf\"} 3"), std::string::npos)
      << text;
  EXPECT_NE(text.find("demo_seconds_sum{generator=\"g\"} 4.5"), std::string::npos) << text;
}

}  // namespace
}  // namespace gen::metrics
