#include "gen/core/base/settings.hpp"

#include <filesystem>
#include <fstream>
#include <regex>

#include <gtest/gtest.h>

#include "gen/core/base/errors.hpp"

namespace gen {
namespace {

using Env = std::map<std::string, std::string>;

std::string error_field(const Env& env, const std::string& file = {}) {
  try {
    Settings::load(env, file, "/plugins");
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidConfiguration);
    return e.field();
  }
  return "<no error>";
}

TEST(Settings, DefaultsAreResolved) {
  Settings s = Settings::load({}, "", "/opt/plugins");
  EXPECT_EQ(s.port, 8080);
  EXPECT_EQ(s.host, "127.0.0.1");
  EXPECT_TRUE(s.enable_metrics);
  EXPECT_EQ(s.database_url, "sqlite:///var/lib/generator/generator.db");
  EXPECT_EQ(s.plugins_path, "/opt/plugins");
  EXPECT_EQ(s.worker_processes, 1);
  EXPECT_GE(s.http_threads, 8);
  EXPECT_EQ(s.lease_ms(), s.heartbeat_interval_ms * s.missed_heartbeats);
}

TEST(Settings, TypedValuesAreRead) {
  Settings s = Settings::load({{"HOSTING__PORT", "9000"},
                               {"HOSTING__ENABLE_METRICS", "false"},
                               {"STORAGE__DATA_DIR", "/srv/gen"},
                               {"THREADS__DRAMATIQ_PROCESSES", "2"},
                               {"THREADS__DRAMATIQ_THREADS", "8"},
                               {"UNRELATED_VARIABLE", "whatever"}},
                              "", "/p");
  EXPECT_EQ(s.port, 9000);
  EXPECT_FALSE(s.enable_metrics);
  EXPECT_EQ(s.database_url, "sqlite:///srv/gen/generator.db");
  EXPECT_EQ(s.worker_processes, 2);
  EXPECT_EQ(s.worker_threads, 8);
}

TEST(Settings, BadValuesNameTheVariable) {
  EXPECT_EQ(error_field({{"HOSTING__PORT", "eighty"}}), "HOSTING__PORT");
  EXPECT_EQ(error_field({{"HOSTING__PORT", "70000"}}), "HOSTING__PORT");
  EXPECT_EQ(error_field({{"HOSTING__PORT", "80x"}}), "HOSTING__PORT");
  EXPECT_EQ(error_field({{"HOSTING__ENABLE_METRICS", "maybe"}}), "HOSTING__ENABLE_METRICS");
  EXPECT_EQ(error_field({{"THREADS__DRAMATIQ_THREADS", "0"}}), "THREADS__DRAMATIQ_THREADS");
  EXPECT_EQ(error_field({{"DATABASE__URL", "mysql://x"}}), "DATABASE__URL");
  EXPECT_EQ(error_field({{"STORAGE__DATA_DIR", "relative/dir"}}), "STORAGE__DATA_DIR");
  EXPECT_EQ(error_field({{"LOGGING__LEVEL", "loud"}}), "LOGGING__LEVEL");
}

TEST(Settings, UnknownVariableInOurSectionIsATypo) {
  EXPECT_EQ(error_field({{"HOSTING__PROT", "80"}}), "HOSTING__PROT");
}

TEST(Settings, MessageSaysWhatWasExpected) {
  try {
    Settings::load({{"HOSTING__PORT", "abc"}}, "", "/p");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("HOSTING__PORT"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("'abc'"), std::string::npos);
  }
}

TEST(Settings, EnvFileIsReadAndEnvironmentWins) {
  auto path = std::filesystem::temp_directory_path() / "gen-settings-test.env";
  {
    std::ofstream f(path);
    f << "# comment\n\nHOSTING__PORT=7000\nexport THREADS__DRAMATIQ_THREADS=\"6\"\n"
         "HOSTING__HOST = 0.0.0.0\n";
  }
  Settings s = Settings::load({{"HOSTING__PORT", "7001"}}, path.string(), "/p");
  EXPECT_EQ(s.port, 7001);
  EXPECT_EQ(s.worker_threads, 6);
  EXPECT_EQ(s.host, "0.0.0.0");
  {
    std::ofstream f(path);
    f << "HOSTING__PORT\n";
  }
  EXPECT_THROW(Settings::load({}, path.string(), "/p"), Error);
  std::filesystem::remove(path);
  EXPECT_THROW(Settings::load({}, path.string(), "/p"), Error);
}

// README.md carries a table of every variable with its default: keep them in step.
TEST(Settings, ReadmeDocumentsEverySetting) {
  const char* src = GEN_TEST_SOURCE_DIR;
  std::ifstream f(std::filesystem::path(src) / "README.md");
  ASSERT_TRUE(f.good());
  std::string readme((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  for (const SettingInfo& info : Settings::catalog()) {
    std::regex row(
        "\\| *`" + info.name + "` *\\|[^\\n]*" +
        std::regex_replace(info.default_value, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)"));
    EXPECT_TRUE(std::regex_search(readme, row))
        << info.name << " (default " << info.default_value << ") is missing from README's table";
  }
}

}  // namespace
}  // namespace gen
