#include "child_run.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace gen::plugin_check {

using nlohmann::json;

std::string_view level_name(gen::sdk::LogLevel level) {
  switch (level) {
    case gen::sdk::LogLevel::kDebug:
      return "debug";
    case gen::sdk::LogLevel::kInfo:
      return "info";
    case gen::sdk::LogLevel::kWarning:
      return "warning";
    case gen::sdk::LogLevel::kError:
      return "error";
  }
  return "info";
}

namespace {

void write_all(int fd, const std::vector<std::uint8_t>& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

// The child: run the generator once, send what it did to the parent, exit without running
// the parent's destructors (Qt, the plugin host).
[[noreturn]] void child_main(gen::sdk::Generator& generator, gen::sdk::testing::FakeContext& ctx,
                             gen::sdk::testing::FakeContext::Clock::time_point deadline, int fd) {
  gen::sdk::Status status = gen::sdk::Status::ok();
  try {
    status = generator.run(ctx);
  } catch (const std::exception& e) {
    status = gen::sdk::Status::retryable(std::string("generator threw: ") + e.what());
  } catch (...) {
    status = gen::sdk::Status::retryable("generator threw a non-standard exception");
  }
  json result = {{"kind", static_cast<int>(status.kind())},
                 {"message", status.message()},
                 {"timed_out", gen::sdk::testing::FakeContext::Clock::now() >= deadline},
                 {"progress", ctx.progress_values()},
                 {"log", json::array()},
                 {"outputs", json::array()}};
  for (const auto& line : ctx.log_lines()) {
    result["log"].push_back({{"level", level_name(line.level)}, {"message", line.message}});
  }
  for (const auto& out : ctx.outputs()) {
    result["outputs"].push_back(
        {{"name", out.name},
         {"media_type", out.media_type},
         {"data", json::binary(std::vector<std::uint8_t>(out.data.begin(), out.data.end()))}});
  }
  write_all(fd, json::to_cbor(result));
  std::cerr.flush();
  ::_exit(0);
}

}  // namespace

ChildRun run_in_child(gen::sdk::Generator& generator, gen::sdk::testing::FakeContext& ctx,
                      gen::sdk::testing::FakeContext::Clock::time_point deadline,
                      gen::sdk::testing::FakeContext::Clock::time_point kill_at) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe: " + std::string(std::strerror(errno)));
  std::cout.flush();
  std::cerr.flush();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork: " + std::string(std::strerror(errno)));
  if (pid == 0) {
    ::close(fds[0]);
    child_main(generator, ctx, deadline, fds[1]);
  }
  ::close(fds[1]);
  ChildRun child;
  std::string bytes;
  for (;;) {
    int wait_ms = -1;
    if (!child.killed) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(
          kill_at - gen::sdk::testing::FakeContext::Clock::now());
      wait_ms = static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, 60000));
    }
    pollfd ready{fds[0], POLLIN, 0};
    const int r = ::poll(&ready, 1, wait_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) {
      if (gen::sdk::testing::FakeContext::Clock::now() >= kill_at) {
        ::kill(pid, SIGKILL);
        child.killed = true;
      }
      continue;
    }
    char buffer[64 * 1024];
    const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    bytes.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (child.killed) return child;
  if (WIFSIGNALED(status)) {
    child.signal = WTERMSIG(status);
    return child;
  }
  child.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (child.exit_code == 0) child.result = json::from_cbor(bytes, true, false);
  return child;
}

}  // namespace gen::plugin_check
