// generator-worker [--env-file PATH] [run|migrate|version|--help]: the command line is kProgram.
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <gen/sdk/generator.hpp>

#include "gen/core/base/cli.hpp"
#include "gen/core/base/errors.hpp"
#include "gen/core/base/log.hpp"
#include "gen/core/base/settings.hpp"
#include "supervisor.hpp"

namespace {

const gen::cli::Program kProgram{
    .name = "generator-worker",
    .summary =
        "Settings come from the environment over the env file (KEY=VALUE lines): DATABASE__URL,\n"
        "STORAGE__DATA_DIR, PLUGINS__PATH, THREADS__DRAMATIQ_PROCESSES, "
        "THREADS__DRAMATIQ_THREADS,\n"
        "WORKER__POLL_INTERVAL_MS, WORKER__HEARTBEAT_INTERVAL_MS, WORKER__MISSED_HEARTBEATS,\n"
        "WORKER__DRAIN_TIMEOUT_S, LOGGING__LEVEL. See docs/worker.md.",
    .options = {{"--env-file", "PATH", "settings file (KEY=VALUE lines)"}},
    .commands = {{.name = "run",
                  .help = "supervise THREADS__DRAMATIQ_PROCESSES worker processes; "
                          "SIGTERM drains and exits 0",
                  .is_default = true},
                 {.name = "migrate", .help = "apply the database schema migrations and exit"}}};

// Plugins installed next to the binary: <prefix>/bin/generator-worker ->
// <prefix>/lib/generator/plugins (the build tree uses the same layout).
std::string default_plugins_path() {
  std::error_code ec;
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "/usr/lib/generator/plugins";
  return (exe.parent_path() / ".." / "lib" / "generator" / "plugins").lexically_normal().string();
}

}  // namespace

int main(int argc, char** argv) {
  gen::cli::Parsed args;
  try {
    args = gen::cli::parse(kProgram, std::vector<std::string>(argv + 1, argv + argc));
  } catch (const gen::cli::UsageError& e) {
    std::cerr << "generator-worker: " << e.what() << "\n" << gen::cli::help(kProgram);
    return 2;
  }
  if (args.help) {
    std::cout << gen::cli::help(kProgram, args.command);
    return 0;
  }
  if (args.version) {
    std::cout << "generator-worker " << GENERATOR_VERSION << " (plugin SDK ABI "
              << GEN_SDK_ABI_VERSION << ")\n";
    return 0;
  }

  gen::Settings settings;
  try {
    settings = gen::Settings::from_process(args.value_or("--env-file", ""), default_plugins_path());
  } catch (const gen::Error& e) {
    std::cerr << "generator-worker: configuration error: " << e.what() << "\n";
    return 2;
  }
  gen::log::set_service("worker");
  gen::log::set_level(settings.log_level);

  if (args.command->name == "migrate") return gen::worker::run_migrations(settings);
  return gen::worker::run_supervisor(settings);
}
