// generator-backend: the REST API service. Wiring only; see gen/backend/service.hpp.
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <Poco/Exception.h>

#include "gen/backend/service.hpp"
#include "gen/core/base/cli.hpp"
#include "gen/core/base/errors.hpp"
#include "gen/core/base/log.hpp"
#include "gen/core/base/settings.hpp"

namespace {

const gen::cli::Program kProgram{
    .name = "generator-backend",
    .summary =
        "The Generator REST API. Settings come from the environment (HOSTING__PORT,\n"
        "DATABASE__URL, ...) over the env file; see docs/operations.md.",
    .options = {{"--env-file", "PATH", "settings file (KEY=VALUE lines)"}},
    .commands = {{.name = "serve",
                  .help = "run migrations, load plugins and serve the REST API",
                  .is_default = true},
                 {.name = "migrate", .help = "apply pending database migrations and exit"}}};

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
  gen::cli::Parsed args;
  try {
    args = gen::cli::parse(kProgram, std::vector<std::string>(argv + 1, argv + argc));
  } catch (const gen::cli::UsageError& e) {
    std::cerr << "generator-backend: " << e.what() << "\n" << gen::cli::help(kProgram);
    return 2;
  }
  if (args.help) {
    std::cout << gen::cli::help(kProgram, args.command);
    return 0;
  }
  if (args.version) {
    std::cout << "generator-backend " << GENERATOR_VERSION << "\n";
    return 0;
  }
  const std::string env_file = args.value_or("--env-file", "");

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
    if (args.command->name == "migrate") {
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
