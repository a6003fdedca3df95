// generator-plugin-check's run of one generator in a child process, as the worker runs it in
// a worker process: a crash (signal, exit()) ends the child, not the check, and a run still
// going at `kill_at` is killed.
#pragma once

#include <string_view>

#include <gen/sdk/generator.hpp>
#include <gen/sdk/testing.hpp>
#include <nlohmann/json.hpp>

namespace gen::plugin_check {

/// How the run's child process ended.
struct ChildRun {
  bool killed = false;  ///< still running at `kill_at`: killed with SIGKILL
  int signal = 0;       ///< died of this signal (not ours)
  int exit_code = 0;    ///< exited with this code (0 when it sent its result)
  /// What the run did, unless the child died first (then `is_discarded()`):
  /// {"kind": Status::Kind as int, "message", "timed_out": returned at or after `deadline`,
  ///  "progress": [...], "log": [{"level", "message"}], "outputs": [{"name", "media_type",
  ///  "data": binary}]}. Sent CBOR-encoded on a pipe.
  nlohmann::json result = nlohmann::json(nlohmann::json::value_t::discarded);
};

/// Runs `generator` once on `ctx` in a forked child. The parent's copy of `ctx` sees nothing
/// of the run; everything comes back in ChildRun::result.
ChildRun run_in_child(gen::sdk::Generator& generator, gen::sdk::testing::FakeContext& ctx,
                      gen::sdk::testing::FakeContext::Clock::time_point deadline,
                      gen::sdk::testing::FakeContext::Clock::time_point kill_at);

/// "debug", "info", "warning", "error".
std::string_view level_name(gen::sdk::LogLevel level);

}  // namespace gen::plugin_check
