// Database::read() and change_counters() on SQLite and PostgreSQL: reads report driver
// errors as gen::Error, like write_transaction().
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "gen/core/base/errors.hpp"
#include "gen/core/storage/database.hpp"
#include "storage/session.hpp"
#include "test_database.hpp"

namespace gen {
namespace {

using namespace Poco::Data::Keywords;

class DatabaseReadsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    test_db_ = std::make_unique<test::TestDatabase>(GetParam());
    db_ = Database::open(test_db_->url(), 4);
    db_->migrate();
  }
  void TearDown() override {
    db_.reset();
    test_db_.reset();
  }
  std::unique_ptr<test::TestDatabase> test_db_;
  std::unique_ptr<Database> db_;
};

TEST_P(DatabaseReadsTest, AFailedReadIsADatabaseUnavailableErrorWithTheServersWords) {
  try {
    db_->read([](DbSession& s) { s << "SELECT no_such_column FROM jobs", now; });
    FAIL() << "the read succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kDatabaseUnavailable);
    EXPECT_TRUE(std::string(e.what()).starts_with("database error: ")) << e.what();
    EXPECT_NE(std::string(e.what()).find("no_such_column"), std::string::npos) << e.what();
  }
}

TEST_P(DatabaseReadsTest, AFailedWriteReadsTheSame) {
  try {
    db_->write_transaction([](DbSession& s) { s << "UPDATE no_such_table SET x = 1", now; });
    FAIL() << "the write succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kDatabaseUnavailable);
    EXPECT_NE(std::string(e.what()).find("no_such_table"), std::string::npos) << e.what();
  }
}

TEST_P(DatabaseReadsTest, ChangeCountersCountWritesToTheCountedTables) {
  auto before = db_->change_counters();
  ASSERT_EQ(before.size(), 2u);
  ASSERT_TRUE(before.contains("auth"));
  ASSERT_TRUE(before.contains("jobs_deleted"));
  db_->write_transaction([](DbSession& s) {
    s << "INSERT INTO tenants (id, enabled, created_at_ms, updated_at_ms) VALUES ('t', 1, 0, 0)",
        now;
  });
  auto after = db_->change_counters();
  EXPECT_GT(after["auth"], before["auth"]);
  EXPECT_EQ(after["jobs_deleted"], before["jobs_deleted"]);
}

INSTANTIATE_TEST_SUITE_P(Backends, DatabaseReadsTest, ::testing::ValuesIn(test::all_backends()));

}  // namespace
}  // namespace gen
