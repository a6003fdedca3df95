// generator-backend: the REST API service. Wiring only; see gen/backend/service.hpp.
#include <filesystem>
#include <iostream>
#include <string>

#include <Poco/Exception.h>

#include "gen/backend/service.hpp"
#include "gen/core/base/errors.hpp"
#include "gen/core/base/log.hpp"
#include "gen/core/base/settings.hpp"

namespace {

constexpr const char* kUsage =
    "usage: generator-backend [--env-file PATH] [serve|migrate|version|--help]\n"
    "  serve    run migrations, load plugins and serve the REST API (default)\n"
    "  migrate  apply pending database migrations and exit\n"
    "  version  print the version\n"
    "Settings come from the environment (HOSTING__PORT, DATABASE__URL, ...) over the env file.\n";

// Plugins live in <prefix>/lib/generator/plugins, next to <prefix>/bin/generator-backend.
std::string default_plugins_path() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "/usr/lib/generator/plugins";
  return (exe.parent_path().parent_path() / "lib" / "generator" / "plugins").string();
}

}  // namespace

int main(int argc, char** argv) {
  gen::backend::block_termination_signals();
  std::string env_file, command = "serve";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--env-file" && i + 1 < argc) {
      env_file = argv[++i];
    } else if (arg.starts_with("--env-file=")) {
      env_file = arg.substr(11);
    } else if (arg == "--help" || arg == "-h" || arg == "help") {
      std::cout << kUsage;
      return 0;
    } else if (arg == "serve" || arg == "migrate" || arg == "version" || arg == "--version") {
      command = arg;
    } else {
      std::cerr << "generator-backend: unknown argument '" << arg << "'\n" << kUsage;
      return 2;
    }
  }
  if (command == "version" || command == "--version") {
    std::cout << "generator-backend " << GENERATOR_VERSION << "\n";
    return 0;
  }

  gen::Settings settings;
  try {
    settings = gen::Settings::from_process(env_file, default_plugins_path());
  } catch (const gen::Error& e) {
    std::cerr << "generator-backend: configuration error: " << e.what() << "\n";
    return 2;
  }
  gen::log::set_service("backend");
  gen::log::set_level(settings.log_level);

  try {
    if (command == "migrate") {
      int ran = gen::backend::migrate(settings);
      std::cout << "applied " << ran << " migration(s)\n";
      return 0;
    }
    return gen::backend::serve(settings);
  } catch (const gen::Error& e) {
    std::cerr << "generator-backend: " << e.what() << "\n";
    gen::log::error("fatal",
                    {{"code", std::string(gen::code_name(e.code()))}, {"error", e.what()}});
    return 1;
  } catch (const Poco::Exception& e) {
    // Poco's what() is only the class name ("PostgreSQL"); its displayText() says what failed.
    std::cerr << "generator-backend: fatal: " << e.displayText() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "generator-backend: fatal: " << e.what() << "\n";
    return 1;
  }
}
