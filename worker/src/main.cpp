// generator-worker [--env-file PATH] [run|migrate|version|--help]
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <string>
#include <string_view>

#include <gen/sdk/generator.hpp>

#include "gen/core/base/errors.hpp"
#include "gen/core/base/log.hpp"
#include "gen/core/base/settings.hpp"
#include "supervisor.hpp"

namespace {

constexpr std::string_view kUsage =
    "usage: generator-worker [--env-file PATH] [run|migrate|version|--help]\n"
    "\n"
    "  run       (default) supervise THREADS__DRAMATIQ_PROCESSES worker processes, each running\n"
    "            THREADS__DRAMATIQ_THREADS task threads; SIGTERM drains and exits 0\n"
    "  migrate   apply the database schema migrations and exit\n"
    "  version   print the version and exit\n"
    "\n"
    "Settings come from the environment over the env file (KEY=VALUE lines): DATABASE__URL,\n"
    "STORAGE__DATA_DIR, PLUGINS__PATH, THREADS__DRAMATIQ_PROCESSES, THREADS__DRAMATIQ_THREADS,\n"
    "WORKER__POLL_INTERVAL_MS, WORKER__HEARTBEAT_INTERVAL_MS, WORKER__MISSED_HEARTBEATS,\n"
    "WORKER__DRAIN_TIMEOUT_S, LOGGING__LEVEL. See docs/worker.md.\n";

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
  std::string env_file;
  std::string command = "run";
  bool have_command = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h" || arg == "help") {
      std::cout << kUsage;
      return 0;
    }
    if (arg == "--env-file" && i + 1 < argc) {
      env_file = argv[++i];
    } else if (arg.starts_with("--env-file=")) {
      env_file = std::string(arg.substr(std::string_view("--env-file=").size()));
    } else if (!have_command && (arg == "run" || arg == "migrate" || arg == "version")) {
      command = std::string(arg);
      have_command = true;
    } else {
      std::cerr << "generator-worker: unexpected argument '" << arg << "'\n" << kUsage;
      return 2;
    }
  }

  if (command == "version") {
    std::cout << "generator-worker " << GENERATOR_VERSION << " (plugin SDK ABI "
              << GEN_SDK_ABI_VERSION << ")\n";
    return 0;
  }

  gen::Settings settings;
  try {
    settings = gen::Settings::from_process(env_file, default_plugins_path());
  } catch (const gen::Error& e) {
    std::cerr << "generator-worker: configuration error: " << e.what() << "\n";
    return 2;
  }
  gen::log::set_service("worker");
  gen::log::set_level(settings.log_level);

  if (command == "migrate") return gen::worker::run_migrations(settings);
  return gen::worker::run_supervisor(settings);
}
