// TaskListener and the notifications that wake it (core/src/storage/task_signal.cpp), on
// SQLite (datagrams to sockets beside the database file) and PostgreSQL (LISTEN/NOTIFY).
#include "gen/core/storage/task_signal.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "database_fixture.hpp"
#include "gen/core/storage/database.hpp"
#include "storage/task_notify.hpp"

namespace gen {
namespace {

using namespace std::chrono_literals;

// How long a wait may take for a notification that was sent: generous, since a wake-up that
// never comes is the failure, not a slow one.
constexpr auto kArrives = 30s;

class TaskListenerTest : public test::MigratedDatabaseTest {
 protected:
  /// What a writer does when tasks become runnable: NOTIFY inside its transaction
  /// (PostgreSQL), a datagram to each listener after the commit (SQLite).
  void notify() {
    db_->write_transaction([&](DbSession& s) { notify_tasks_in(*db_, s); });
    notify_tasks_after_commit(*db_);
  }
};

TEST_P(TaskListenerTest, ListensOnAFreshDatabase) {
  auto listener = TaskListener::create(*db_);
  ASSERT_NE(listener, nullptr);
  EXPECT_TRUE(listener->listening());
}

TEST_P(TaskListenerTest, WaitWithoutNotificationReturnsFalse) {
  auto listener = TaskListener::create(*db_);
  ASSERT_TRUE(listener->listening());
  EXPECT_FALSE(listener->wait(50ms));
}

TEST_P(TaskListenerTest, CommittedNotificationWakesIt) {
  auto listener = TaskListener::create(*db_);
  ASSERT_TRUE(listener->listening());
  notify();
  EXPECT_TRUE(listener->wait(kArrives));
}

TEST_P(TaskListenerTest, EveryListenerIsWoken) {
  auto first = TaskListener::create(*db_);
  auto second = TaskListener::create(*db_);
  ASSERT_TRUE(first->listening());
  ASSERT_TRUE(second->listening());
  notify();
  EXPECT_TRUE(first->wait(kArrives));
  EXPECT_TRUE(second->wait(kArrives));
}

TEST_P(TaskListenerTest, WakesAgainForTheNextNotification) {
  auto listener = TaskListener::create(*db_);
  ASSERT_TRUE(listener->listening());
  for (int round = 0; round < 3; ++round) {
    notify();
    EXPECT_TRUE(listener->wait(kArrives)) << "round " << round;
  }
}

TEST_P(TaskListenerTest, RolledBackTransactionDoesNotWakeIt) {
  auto listener = TaskListener::create(*db_);
  ASSERT_TRUE(listener->listening());
  EXPECT_THROW(db_->write_transaction([&](DbSession& s) {
    notify_tasks_in(*db_, s);
    throw std::runtime_error("roll back");
  }),
               std::runtime_error);
  // SQLite's writers notify after the commit only, so there is nothing to send either.
  EXPECT_FALSE(listener->wait(200ms));
}

INSTANTIATE_TEST_SUITE_P(Databases, TaskListenerTest, ::testing::ValuesIn(test::all_backends()));

// SQLite: the datagrams already sent are all taken by one wait.
TEST(SqliteTaskListener, OneWaitConsumesEveryPendingWakeUp) {
  test::TestDatabase test_db("sqlite");
  auto db = Database::open(test_db.url(), 2);
  auto listener = TaskListener::create(*db);
  ASSERT_TRUE(listener->listening());
  for (int i = 0; i < 5; ++i) notify_local_listeners(db->connect_string());
  EXPECT_TRUE(listener->wait(kArrives));
  EXPECT_FALSE(listener->wait(0ms));
}

// SQLite: a listener's socket goes with it, and a socket left by a process that is gone is
// skipped (and removed) by the next notification.
TEST(SqliteTaskListener, SocketsOfGoneListenersAreCleanedUp) {
  test::TestDatabase test_db("sqlite");
  auto db = Database::open(test_db.url(), 2);
  const std::filesystem::path wake_dir = db->connect_string() + ".wake";
  auto count_sockets = [&] {
    int n = 0;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(wake_dir, ec)) {
      if (entry.path().extension() == ".sock") ++n;
    }
    return n;
  };
  {
    auto listener = TaskListener::create(*db);
    ASSERT_TRUE(listener->listening());
    EXPECT_EQ(count_sockets(), 1);
  }
  EXPECT_EQ(count_sockets(), 0);

  // A socket file no process listens on any more (as when its process was killed).
  const std::filesystem::path stale = wake_dir / "1-1.sock";
  {
    auto listener = TaskListener::create(*db);
    ASSERT_TRUE(listener->listening());
    // A second name for its socket: bound by nobody once the listener is gone.
    const std::filesystem::path own = std::filesystem::directory_iterator(wake_dir)->path();
    std::filesystem::create_hard_link(own, stale);
  }
  ASSERT_TRUE(std::filesystem::exists(stale));
  notify_local_listeners(db->connect_string());
  EXPECT_FALSE(std::filesystem::exists(stale));
}

}  // namespace
}  // namespace gen
