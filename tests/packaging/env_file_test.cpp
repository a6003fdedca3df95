// packaging/generator.env, the settings file the packages install, against the settings
// catalog: every name it mentions is a real setting, each with its documented default, and
// the file loads both as shipped (all commented) and with every line uncommented.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>

#include "gen/core/base/settings.hpp"

namespace {

std::string source_file(const std::string& relative) {
  return std::string(GENERATOR_SOURCE_DIR) + "/" + relative;
}

// "#NAME=value" and "NAME=value" lines of the file.
std::map<std::string, std::string> mentioned_settings(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << path;
  std::map<std::string, std::string> found;
  const std::regex line_re(R"(^#?([A-Z][A-Z0-9]*__[A-Z0-9_]+)=(.*)$)");
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, line_re)) found[m[1]] = m[2];
  }
  return found;
}

TEST(PackagedEnvFile, MentionsOnlyRealSettingsWithTheirDefaults) {
  const auto mentioned = mentioned_settings(source_file("packaging/generator.env"));
  ASSERT_GE(mentioned.size(), 10u);
  std::map<std::string, gen::SettingInfo> catalog;
  for (const auto& info : gen::Settings::catalog()) catalog[info.name] = info;
  for (const auto& [name, value] : mentioned) {
    auto it = catalog.find(name);
    ASSERT_NE(it, catalog.end()) << name << " in packaging/generator.env is not a setting";
    const std::string& documented = it->second.default_value;
    // Computed defaults ("auto", "<STORAGE__DATA_DIR>/...") are shown resolved in the file.
    if (documented.find('<') == std::string::npos && documented != "auto") {
      EXPECT_EQ(value, documented) << name;
    }
  }
}

TEST(PackagedEnvFile, LoadsAsShippedAndUncommented) {
  const std::string path = source_file("packaging/generator.env");
  const gen::Settings shipped = gen::Settings::load({}, path, "/usr/lib/generator/plugins");
  EXPECT_EQ(shipped.data_dir, "/var/lib/generator");
  EXPECT_EQ(shipped.database_url, "sqlite:///var/lib/generator/generator.db");

  std::ostringstream uncommented;
  for (const auto& [name, value] : mentioned_settings(path))
    uncommented << name << "=" << value << "\n";
  const std::string copy = testing::TempDir() + "/generator-uncommented.env";
  std::ofstream(copy) << uncommented.str();
  gen::Settings all;
  ASSERT_NO_THROW(all = gen::Settings::load({}, copy, "/nowhere")) << uncommented.str();
  // Uncommenting the defaults changes nothing.
  EXPECT_EQ(all.port, shipped.port);
  EXPECT_EQ(all.host, shipped.host);
  EXPECT_EQ(all.database_url, shipped.database_url);
  EXPECT_EQ(all.plugins_path, "/usr/lib/generator/plugins");
  EXPECT_EQ(all.worker_processes, shipped.worker_processes);
  EXPECT_EQ(all.worker_threads, shipped.worker_threads);
  EXPECT_EQ(all.drain_timeout_s, shipped.drain_timeout_s);
  EXPECT_EQ(all.log_level, shipped.log_level);
}

// The worker unit's stop timeout must cover the packaged drain timeout plus a margin.
TEST(PackagedUnits, WorkerStopTimeoutExceedsTheDrain) {
  std::ifstream unit(source_file("packaging/systemd/generator-worker.service"));
  ASSERT_TRUE(unit);
  std::string line;
  int timeout_s = 0;
  while (std::getline(unit, line)) {
    if (line.rfind("TimeoutStopSec=", 0) == 0) timeout_s = std::stoi(line.substr(15));
  }
  const gen::Settings defaults = gen::Settings::load({}, "", "/x");
  EXPECT_GE(timeout_s, defaults.drain_timeout_s + 10);
}

}  // namespace
