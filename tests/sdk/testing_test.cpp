// gen::sdk::testing::FakeContext, the SDK's test harness for plugin authors.
#include <gen/sdk/testing.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

using gen::sdk::Context;
using gen::sdk::GeneratorInfo;
using gen::sdk::LogLevel;
using gen::sdk::ParamType;
using gen::sdk::Status;
using gen::sdk::testing::FakeContext;
using nlohmann::json;

// A generator whose run() is a lambda, with a fixed param list.
class Probe final : public gen::sdk::Generator {
 public:
  explicit Probe(std::function<Status(Context&)> body) : body_(std::move(body)) {}
  GeneratorInfo info() const override {
    GeneratorInfo info;
    info.id = "probe.run";
    info.version = "1.0.0";
    info.params = {
        {.name = "text", .type = ParamType::kString, .required = true},
        {.name = "count", .type = ParamType::kInteger, .default_value = 3},
        {.name = "ratio", .type = ParamType::kNumber},
        {.name = "mode",
         .type = ParamType::kString,
         .default_value = "a",
         .allowed_values = {"a", "b"}},
        {.name = "extra", .type = ParamType::kAny},
    };
    return info;
  }
  Status run(Context& ctx) override { return body_(ctx); }

 private:
  std::function<Status(Context&)> body_;
};

TEST(FakeContext, RunFillsDefaultsAndCapturesEverything) {
  Probe probe([](Context& ctx) {
    EXPECT_EQ(ctx.params()["count"], 3);
    EXPECT_EQ(ctx.params()["mode"], "a");
    EXPECT_FALSE(ctx.params().contains("ratio"));  // no default: stays absent
    EXPECT_EQ(ctx.job_id(), "job-7");
    EXPECT_EQ(ctx.task_id(), "task-9");
    EXPECT_EQ(ctx.attempt(), 2);
    EXPECT_EQ(ctx.setting("PDF__DEFAULT_PAGE_SIZE"), "A4");
    EXPECT_EQ(ctx.setting("UNSET"), std::nullopt);
    ctx.progress(-1);
    ctx.progress(0.5);
    ctx.progress(7);
    ctx.log(LogLevel::kWarning, "careful");
    ctx.write_output("a.txt", "text/plain", ctx.inputs().at(0).data);
    ctx.write_output("b.bin", "application/octet-stream", std::string("\0\1", 2));
    ctx.write_output("a.txt", "text/markdown", "replaced");
    return Status::ok();
  });
  FakeContext ctx({{"text", "x"}});
  ctx.add_input("in.txt", "text/plain", "input bytes")
      .set_job_id("job-7")
      .set_task_id("task-9")
      .set_attempt(2)
      .set_setting("PDF__DEFAULT_PAGE_SIZE", "A4");
  ASSERT_TRUE(ctx.run(probe).is_ok());

  EXPECT_THAT(ctx.progress_values(), testing::ElementsAre(0.0, 0.5, 1.0));
  ASSERT_EQ(ctx.log_lines().size(), 1u);
  EXPECT_EQ(ctx.log_lines()[0].level, LogLevel::kWarning);
  EXPECT_TRUE(ctx.logged("care"));
  EXPECT_FALSE(ctx.logged("nothing like this"));
  ASSERT_EQ(ctx.outputs().size(), 2u);
  EXPECT_EQ(ctx.outputs()[0].name, "a.txt");  // replaced in place, order kept
  EXPECT_EQ(ctx.outputs()[0].media_type, "text/markdown");
  EXPECT_EQ(ctx.outputs()[0].data, "replaced");
  EXPECT_EQ(ctx.output("b.bin")->data, std::string("\0\1", 2));
  EXPECT_EQ(ctx.output("missing"), nullptr);
  EXPECT_EQ(ctx.output_data("a.txt"), "replaced");
  EXPECT_THROW(ctx.output_data("missing"), std::out_of_range);

  ctx.clear_observations();
  EXPECT_TRUE(ctx.outputs().empty());
  EXPECT_TRUE(ctx.progress_values().empty());
  EXPECT_TRUE(ctx.log_lines().empty());
}

TEST(FakeContext, InputsStayValidAsMoreAreAdded) {
  FakeContext ctx;
  ctx.add_input("0", "text/plain", std::string(100, 'a'));
  const std::string_view first = ctx.inputs()[0].data;
  for (int i = 1; i < 200; ++i) ctx.add_input(std::to_string(i), "text/plain", std::to_string(i));
  EXPECT_EQ(ctx.inputs()[0].data, std::string(100, 'a'));
  EXPECT_EQ(ctx.inputs()[0].data.data(), first.data());
  EXPECT_EQ(ctx.inputs()[199].data, "199");
}

TEST(FakeContext, RefusedParamsAreNamedAndTheGeneratorIsNotCalled) {
  int calls = 0;
  Probe probe([&](Context&) {
    ++calls;
    return Status::ok();
  });
  struct Case {
    json params;
    std::string message;
  };
  const Case cases[] = {
      {json::object(), "params.text: required parameter missing"},
      {{{"text", "x"}, {"txet", "y"}},
       "params.txet: unknown parameter (known: count, extra, mode, ratio, text)"},
      {{{"text", 1}}, "params.text: expected string, got number"},
      {{{"text", "x"}, {"count", 1.5}},
       "params.count: expected integer, got non-integral number 1.5"},
      {{{"text", "x"}, {"ratio", "1"}}, "params.ratio: expected number, got string"},
      {{{"text", "x"}, {"mode", "c"}}, "params.mode: must be one of: a, b"},
      {json::array(), "params: expected object, got array"},
  };
  for (const Case& c : cases) {
    FakeContext ctx(c.params);
    const Status status = ctx.run(probe);
    EXPECT_EQ(status.kind(), Status::Kind::kPermanent) << c.params;
    EXPECT_EQ(status.message(), c.message) << c.params;
  }
  EXPECT_EQ(calls, 0);

  FakeContext fine({{"text", "x"}, {"ratio", 2}, {"extra", {1, 2}}});
  EXPECT_TRUE(fine.run(probe).is_ok());
  EXPECT_EQ(calls, 1);

  // As in a job: an integer param takes a number with zero fraction, stored as an integer.
  FakeContext whole({{"text", "x"}, {"count", 2.0}});
  EXPECT_TRUE(whole.run(probe).is_ok());
  EXPECT_TRUE(whole.params()["count"].is_number_integer());
  EXPECT_EQ(whole.params()["count"], 2);
}

TEST(FakeContext, EscapedExceptionsBecomeRetryableFailures) {
  Probe throws([](Context&) -> Status { throw std::runtime_error("boom"); });
  FakeContext ctx({{"text", "x"}});
  const Status status = ctx.run(throws);
  EXPECT_EQ(status.kind(), Status::Kind::kRetryable);
  EXPECT_EQ(status.message(), "generator threw: boom");
}

TEST(FakeContext, CancellationIsUnderTheTestsControl) {
  FakeContext ctx;
  EXPECT_FALSE(ctx.cancelled());
  ctx.cancel();
  EXPECT_TRUE(ctx.cancelled());
  ctx.cancel(false);
  EXPECT_FALSE(ctx.cancelled());
  EXPECT_EQ(ctx.cancellation_polls(), 3);

  FakeContext counted;
  counted.cancel_after_polls(3);
  EXPECT_FALSE(counted.cancelled());
  EXPECT_FALSE(counted.cancelled());
  EXPECT_TRUE(counted.cancelled());
  EXPECT_TRUE(counted.cancelled());

  FakeContext past;
  past.set_deadline(FakeContext::Clock::now() - std::chrono::seconds(1));
  EXPECT_TRUE(past.cancelled());
  FakeContext future;
  future.set_deadline(FakeContext::Clock::now() + std::chrono::hours(1));
  EXPECT_FALSE(future.cancelled());
}

TEST(FakeContext, CancelFromAnotherThreadIsSeenByTheRun) {
  FakeContext ctx({{"text", "x"}});
  Probe waits([](Context& c) {
    while (!c.cancelled()) std::this_thread::yield();
    return Status::retryable("stopped");
  });
  std::thread canceller([&] { ctx.cancel(); });
  const Status status = ctx.run(waits);
  canceller.join();
  EXPECT_EQ(status.message(), "stopped");
  EXPECT_GE(ctx.cancellation_polls(), 1);
}

TEST(FakeContext, LogSinkSeesLinesAsTheyHappen) {
  std::vector<std::string> seen;
  FakeContext ctx;
  ctx.on_log([&](LogLevel, std::string_view m) { seen.emplace_back(m); });
  ctx.log(LogLevel::kInfo, "one");
  ctx.log(LogLevel::kError, "two");
  EXPECT_THAT(seen, testing::ElementsAre("one", "two"));
}

}  // namespace
