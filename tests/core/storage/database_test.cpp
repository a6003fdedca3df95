#include "gen/core/storage/database.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "gen/core/base/errors.hpp"

namespace gen {
namespace {

// The backend and the worker start together on a fresh SQLite file (the demo, a first
// install): each opens it (WAL mode) and migrates it. Neither may fail with "database is
// locked". Separate processes, as in production, several rounds on new files.
TEST(SqliteOpen, ProcessesOpeningAFreshFileTogetherNeverFailLocked) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("gen_open_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  constexpr int kRounds = 40;
  constexpr int kProcesses = 12;
  int failures = 0;
  for (int round = 0; round < kRounds; ++round) {
    const std::string url = "sqlite://" + (dir / ("r" + std::to_string(round) + ".db")).string();
    std::vector<pid_t> children;
    for (int p = 0; p < kProcesses; ++p) {
      pid_t pid = fork();
      ASSERT_GE(pid, 0);
      if (pid == 0) {
        int code = 0;
        try {
          auto db = Database::open(url, 2);
          db->migrate();
          if (db->schema_version() != Database::latest_schema_version()) code = 3;
        } catch (const std::exception& e) {
          std::fprintf(stderr, "round %d process %d: %s\n", round, p, e.what());
          code = 2;
        }
        _exit(code);
      }
      children.push_back(pid);
    }
    for (pid_t pid : children) {
      int status = 0;
      ASSERT_EQ(waitpid(pid, &status, 0), pid);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failures;
    }
  }
  std::filesystem::remove_all(dir);
  EXPECT_EQ(failures, 0) << "of " << kRounds * kProcesses << " opens";
}

}  // namespace
}  // namespace gen
