// A test the suite runs once per database, on a fresh and migrated one of its own:
//
//   class MyStoreTest : public gen::test::MigratedDatabaseTest {};
//   TEST_P(MyStoreTest, ...) { ... db() ... }
//   INSTANTIATE_TEST_SUITE_P(Databases, MyStoreTest, ::testing::ValuesIn(test::all_backends()));
//
// Header-only: for tests that link gen::core. A fixture that adds stores over db() declares
// them as its own members, so they go before the database does.
#pragma once

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "gen/core/storage/database.hpp"
#include "test_database.hpp"

namespace gen::test {

class MigratedDatabaseTest : public ::testing::TestWithParam<std::string> {
 protected:
  /// How many pooled sessions the database has.
  explicit MigratedDatabaseTest(int sessions = 4) : sessions_(sessions) {}

  void SetUp() override {
    test_db_ = std::make_unique<TestDatabase>(GetParam());
    db_ = Database::open(test_db_->url(), sessions_);
    db_->migrate();
  }

  Database& db() { return *db_; }
  /// The DATABASE__URL of the test's database (to open it again, as another process would).
  const std::string& url() const { return test_db_->url(); }

 private:
  int sessions_;
  std::unique_ptr<TestDatabase> test_db_;  // declared first: dropped after the database closes

 protected:
  std::unique_ptr<Database> db_;
};

}  // namespace gen::test
