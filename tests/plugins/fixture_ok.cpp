// fixture_ok: well-behaved and deliberately misbehaving generators for the plugin host's and
// the worker's tests. Every generator here is deterministic unless its params say otherwise.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gen/sdk/generator.hpp>

namespace {

using gen::sdk::Context;
using gen::sdk::GeneratorInfo;
using gen::sdk::ParamSpec;
using gen::sdk::ParamType;
using gen::sdk::Status;
using nlohmann::json;

GeneratorInfo base_info(std::string id, std::string description) {
  GeneratorInfo info;
  info.id = std::move(id);
  info.version = "1.0.0";
  info.description = std::move(description);
  info.output_media_types = {"*/*"};
  return info;
}

/// Sleeps `ms` in 10 ms steps, reporting progress; false when cancelled first (unless
/// `ignore_cancel`).
bool sleep_polling(Context& ctx, std::int64_t ms, bool ignore_cancel) {
  using namespace std::chrono;
  const auto start = steady_clock::now();
  const auto total = milliseconds(ms);
  for (;;) {
    const auto elapsed = steady_clock::now() - start;
    if (elapsed >= total) break;
    if (!ignore_cancel && ctx.cancelled()) return false;
    ctx.progress(duration<double>(elapsed) / duration<double>(total));
    std::this_thread::sleep_for(std::min<nanoseconds>(milliseconds(10), total - elapsed));
  }
  ctx.progress(1.0);
  return true;
}

/// fixture.echo: each input copied to an output of the same name and media type, plus
/// `params.json` holding the params it saw (defaults filled in).
class Echo final : public gen::sdk::Generator {
 public:
  GeneratorInfo info() const override {
    auto info = base_info("fixture.echo", "Copies inputs to outputs and writes params.json");
    info.params = {
        {.name = "message",
         .type = ParamType::kString,
         .default_value = "hello",
         .description = "Any text"},
        {.name = "count", .type = ParamType::kInteger, .description = "Any integer"},
        {.name = "ratio", .type = ParamType::kNumber, .description = "Any number"},
        {.name = "flag", .type = ParamType::kBoolean, .description = "Any boolean"},
        {.name = "payload", .type = ParamType::kAny, .description = "Any JSON value"},
        {.name = "size",
         .type = ParamType::kString,
         .description = "A4 or Letter",
         .allowed_values = {"A4", "Letter"}},
    };
    return info;
  }
  Status run(Context& ctx) override {
    for (const auto& input : ctx.inputs())
      ctx.write_output(input.name, input.media_type, input.data);
    ctx.write_output("params.json", "application/json", ctx.params().dump());
    ctx.progress(1.0);
    return Status::ok();
  }
};

/// fixture.fail_permanent: always fails without retry.
class FailPermanent final : public gen::sdk::Generator {
 public:
  GeneratorInfo info() const override {
    auto info = base_info("fixture.fail_permanent", "Always fails permanently");
    info.params = {{.name = "message",
                    .type = ParamType::kString,
                    .default_value = "fixture: permanent failure"}};
    return info;
  }
  Status run(Context& ctx) override {
    return Status::permanent(ctx.params().value("message", std::string()));
  }
};

/// fixture.fail_retryable: fails retryably while attempt < succeed_on_attempt (absent: on
/// every attempt), then writes `attempt.txt` with the attempt number.
class FailRetryable final : public gen::sdk::Generator {
 public:
  GeneratorInfo info() const override {
    auto info = base_info("fixture.fail_retryable",
                          "Fails retryably until attempt succeed_on_attempt (default: always)");
    info.params = {
        {.name = "succeed_on_attempt",
         .type = ParamType::kInteger,
         .description = "First attempt that succeeds; absent: never"},
        {.name = "message",
         .type = ParamType::kString,
         .default_value = "fixture: retryable failure"},
    };
    info.max_attempts = 3;
    return info;
  }
  Status run(Context& ctx) override {
    const json& params = ctx.params();
    const auto it = params.find("succeed_on_attempt");
    if (it == params.end() || ctx.attempt() < it->get<int>()) {
      return Status::retryable(params.value("message", std::string()) + " (attempt " +
                               std::to_string(ctx.attempt()) + ")");
    }
    ctx.write_output("attempt.txt", "text/plain", std::to_string(ctx.attempt()));
    return Status::ok();
  }
};

/// fixture.throws: lets an exception escape run(), which plugins must never do.
class Throws final : public gen::sdk::Generator {
 public:
  GeneratorInfo info() const override {
    auto info = base_info("fixture.throws", "Throws std::runtime_error from run()");
    info.params = {
        {.name = "message", .type = ParamType::kString, .default_value = "fixture.throws: boom"}};
    return info;
  }
  Status run(Context& ctx) override {
    throw std::runtime_error(ctx.params().value("message", std::string("fixture.throws: boom")));
  }
};

/// fixture.sleep: sleeps params.ms in 10 ms steps, reporting progress and stopping early
/// when cancelled unless params.ignore_cancel; writes `slept.txt`.
class Sleep final : public gen::sdk::Generator {
 public:
  GeneratorInfo info() const override {
    auto info = base_info("fixture.sleep", "Sleeps ms milliseconds, polling cancellation");
    info.params = {
        {.name = "ms", .type = ParamType::kInteger, .default_value = 1000},
        {.name = "ignore_cancel", .type = ParamType::kBoolean, .default_value = false},
    };
    return info;
  }
  Status run(Context& ctx) override {
    const auto ms = ctx.params().value("ms", std::int64_t{1000});
    if (!sleep_polling(ctx, ms, ctx.params().value("ignore_cancel", false))) {
      return Status::retryable("fixture.sleep: cancelled");
    }
    ctx.write_output("slept.txt", "text/plain", std::to_string(ms));
    return Status::ok();
  }
};

/// fixture.crash: kills its process with SIGSEGV (default) or abort().
class Crash final : public gen::sdk::Generator {
 public:
  GeneratorInfo info() const override {
    auto info = base_info("fixture.crash", "Crashes the process: SIGSEGV or SIGABRT");
    info.params = {{.name = "signal",
                    .type = ParamType::kString,
                    .default_value = "SIGSEGV",
                    .allowed_values = {"SIGSEGV", "SIGABRT"}}};
    info.max_attempts = 2;
    return info;
  }
  Status run(Context& ctx) override {
    if (ctx.params().value("signal", std::string("SIGSEGV")) == "SIGABRT") std::abort();
    std::signal(SIGSEGV, SIG_DFL);
    std::raise(SIGSEGV);
    return Status::permanent("fixture.crash: still alive after SIGSEGV");
  }
};

/// fixture.record: appends "<task_id> <attempt>\n" to params.path (O_APPEND: one write per
/// execution, safe across processes), optionally sleeps, then writes `record.txt`.
class Record final : public gen::sdk::Generator {
 public:
  GeneratorInfo info() const override {
    auto info = base_info("fixture.record", "Appends '<task_id> <attempt>' to a file");
    info.params = {
        {.name = "path",
         .type = ParamType::kString,
         .required = true,
         .description = "File to append to"},
        {.name = "sleep_ms",
         .type = ParamType::kInteger,
         .default_value = 0,
         .description = "Sleep after recording, polling cancellation"},
    };
    return info;
  }
  Status run(Context& ctx) override {
    const std::string line =
        std::string(ctx.task_id()) + " " + std::to_string(ctx.attempt()) + "\n";
    const std::string path = ctx.params().at("path").get<std::string>();
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
      return Status::retryable("fixture.record: cannot open " + path + ": " + std::strerror(errno));
    }
    const ssize_t written = ::write(fd, line.data(), line.size());
    ::close(fd);
    if (written != static_cast<ssize_t>(line.size())) {
      return Status::retryable("fixture.record: short write to " + path);
    }
    if (!sleep_polling(ctx, ctx.params().value("sleep_ms", std::int64_t{0}), false)) {
      return Status::retryable("fixture.record: cancelled");
    }
    ctx.write_output("record.txt", "text/plain", line);
    return Status::ok();
  }
};

/// fixture.spin (and fixture.spin_retry, whose manifest limits say retry_on_timeout): a busy
/// loop for params.ms (default: an hour) that ignores cancellation and its time limit, as a
/// generator stuck in a tight loop would. Only the worker's hard time limit stops it.
class Spin final : public gen::sdk::Generator {
 public:
  explicit Spin(std::string id) : id_(std::move(id)) {}
  GeneratorInfo info() const override {
    auto info = base_info(id_, "Busy loop that ignores cancellation and the time limit");
    info.params = {{.name = "ms", .type = ParamType::kInteger, .default_value = 3600000}};
    return info;
  }
  Status run(Context& ctx) override {
    const auto until = std::chrono::steady_clock::now() +
                       std::chrono::milliseconds(ctx.params().value("ms", std::int64_t{3600000}));
    volatile std::uint64_t spins = 0;
    while (std::chrono::steady_clock::now() < until) spins = spins + 1;
    ctx.write_output("spun.txt", "text/plain", std::to_string(spins));
    return Status::ok();
  }

 private:
  std::string id_;
};

/// fixture.hog: allocates params.mb MB in blocks of params.block_mb, touching every page and
/// keeping all of it, with params.pause_ms between blocks; ignores cancellation. Its manifest
/// sets a memory ceiling of 64 MB. std::bad_alloc is left to escape, as careless code does.
class Hog final : public gen::sdk::Generator {
 public:
  GeneratorInfo info() const override {
    auto info = base_info("fixture.hog", "Allocates and touches memory, ignoring cancellation");
    info.params = {
        {.name = "mb", .type = ParamType::kInteger, .default_value = 1024},
        {.name = "block_mb", .type = ParamType::kInteger, .default_value = 8},
        {.name = "pause_ms", .type = ParamType::kInteger, .default_value = 10},
    };
    return info;
  }
  Status run(Context& ctx) override {
    const std::int64_t mb = ctx.params().value("mb", std::int64_t{1024});
    const std::int64_t block_mb = std::max<std::int64_t>(1, ctx.params().value("block_mb", 8));
    const auto pause = std::chrono::milliseconds(ctx.params().value("pause_ms", std::int64_t{10}));
    std::vector<std::unique_ptr<char[]>> held;
    for (std::int64_t done = 0; done < mb; done += block_mb) {
      const auto bytes = static_cast<std::size_t>(block_mb) * 1024 * 1024;
      auto block = std::make_unique<char[]>(bytes);  // value-initialised: every page touched
      block[bytes - 1] = 1;
      held.push_back(std::move(block));
      if (pause.count() > 0) std::this_thread::sleep_for(pause);
    }
    ctx.write_output("held.txt", "text/plain", std::to_string(mb));
    return Status::ok();
  }
};

/// fixture.write: writes params.count outputs of params.bytes bytes each ("out-<i>.bin").
class Write final : public gen::sdk::Generator {
 public:
  GeneratorInfo info() const override {
    auto info = base_info("fixture.write", "Writes count outputs of bytes bytes each");
    info.params = {
        {.name = "bytes", .type = ParamType::kInteger, .default_value = 1024},
        {.name = "count", .type = ParamType::kInteger, .default_value = 1},
    };
    return info;
  }
  Status run(Context& ctx) override {
    const std::string data(
        static_cast<std::size_t>(ctx.params().value("bytes", std::int64_t{1024})), 'x');
    const std::int64_t count = ctx.params().value("count", std::int64_t{1});
    for (std::int64_t i = 0; i < count; ++i) {
      if (ctx.cancelled()) return Status::retryable("fixture.write: cancelled");
      ctx.write_output("out-" + std::to_string(i) + ".bin", "application/octet-stream", data);
    }
    return Status::ok();
  }
};

}  // namespace

GENERATOR_PLUGIN_REGISTER(registry) {
  registry.add(std::make_unique<Spin>("fixture.spin"));
  registry.add(std::make_unique<Spin>("fixture.spin_retry"));
  registry.add(std::make_unique<Hog>());
  registry.add(std::make_unique<Write>());
  registry.add(std::make_unique<Echo>());
  registry.add(std::make_unique<FailPermanent>());
  registry.add(std::make_unique<FailRetryable>());
  registry.add(std::make_unique<Throws>());
  registry.add(std::make_unique<Sleep>());
  registry.add(std::make_unique<Crash>());
  registry.add(std::make_unique<Record>());
}
