// A throw-away database for tests: a fresh SQLite file, or a fresh PostgreSQL database on
// the server named by GENERATOR_TEST_POSTGRES_URL (scripts/test.sh starts one). A missing
// server is a test failure, never a silent skip.
#pragma once

#include <string>
#include <vector>

namespace gen::test {

class TestDatabase {
 public:
  /// `backend`: "sqlite" or "postgres".
  explicit TestDatabase(const std::string& backend);
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  /// A DATABASE__URL for the fresh database.
  const std::string& url() const { return url_; }
  const std::string& backend() const { return backend_; }

 private:
  std::string backend_;
  std::string url_;
  std::string dir_;      // sqlite
  std::string db_name_;  // postgres
};

/// The backends every storage test runs on.
inline std::vector<std::string> all_backends() { return {"sqlite", "postgres"}; }

}  // namespace gen::test
