// Database::read() and change_counters() on SQLite and PostgreSQL: reads report driver
// errors as gen::Error, like write_transaction(); so do the stores' reads that go through it
// (tenancy, webhooks, metrics) and the job store's autocommit progress write.
#include <functional>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "gen/core/base/errors.hpp"
#include "gen/core/metrics/metrics.hpp"
#include "gen/core/queue/job_store.hpp"
#include "gen/core/storage/database.hpp"
#include "gen/core/tenancy/auth.hpp"
#include "gen/core/tenancy/config_store.hpp"
#include "gen/core/tenancy/tenants.hpp"
#include "gen/core/webhooks/webhooks.hpp"
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

// `call` fails in the driver (its table is gone): core reports it as kDatabaseUnavailable,
// never as a bare Poco exception.
void expect_translated(const std::string& what, const std::function<void()>& call) {
  SCOPED_TRACE(what);
  try {
    call();
    ADD_FAILURE() << what << " succeeded without its table";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kDatabaseUnavailable) << e.what();
    EXPECT_TRUE(std::string(e.what()).starts_with("database error: ")) << e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << " threw an untranslated " << e.what();
  }
}

TEST_P(DatabaseReadsTest, TheStoresReadsAndTheProgressWriteTranslateDriverErrors) {
  db_->write_transaction([](DbSession& s) {
    for (const char* table : {"tenants", "credentials", "api_keys", "config_values", "webhooks",
                              "webhook_deliveries", "tasks", "schema_migrations"}) {
      s << "ALTER TABLE " + std::string(table) + " RENAME TO gone_" + table, now;
    }
  });
  TenantStore tenants(*db_);
  expect_translated("TenantStore::list", [&] { tenants.list(); });
  expect_translated("TenantStore::get", [&] { tenants.get("t"); });
  CredentialStore credentials(*db_);
  expect_translated("CredentialStore::list", [&] { credentials.list(); });
  expect_translated("CredentialStore::get", [&] { credentials.get("root"); });
  expect_translated("CredentialStore::check_password",
                    [&] { credentials.check_password("root", "pw"); });
  expect_translated("CredentialStore::find_by_api_key",
                    [&] { credentials.find_by_api_key("key"); });
  ConfigStore config(*db_, {});
  expect_translated("ConfigStore::resolve_all", [&] { config.resolve_all(""); });
  WebhookStore webhooks(*db_);
  expect_translated("WebhookStore::list", [&] { webhooks.list(""); });
  expect_translated("WebhookStore::get", [&] { webhooks.get("", "w"); });
  expect_translated("WebhookStore::deliveries", [&] { webhooks.deliveries("w", 10); });
  expect_translated("metrics::check_database", [&] { metrics::check_database(*db_); });
  JobStore jobs(*db_);
  ClaimedTask task;
  task.task_id = "t";
  task.job_id = "j";
  expect_translated("JobStore::progress", [&] { jobs.progress(task, 0.5); });
}

INSTANTIATE_TEST_SUITE_P(Backends, DatabaseReadsTest, ::testing::ValuesIn(test::all_backends()));

}  // namespace
}  // namespace gen
