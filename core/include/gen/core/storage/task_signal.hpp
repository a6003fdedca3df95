// Wakes idle worker processes when tasks become runnable, so a submitted task starts in
// milliseconds instead of a poll interval later.
//
// PostgreSQL: LISTEN/NOTIFY on channel `generator_tasks` over a dedicated libpq connection.
// SQLite (one host by nature): each listening worker process binds a Unix datagram socket
// in `<database file>.wake/`; writers send a byte to each after committing.
//
// Workers keep polling as well (WORKER__POLL_INTERVAL_MS), so a lost notification — PgBouncer
// in transaction mode drops them, a listener is reconnecting — costs at most one poll
// interval, never a stuck task.
//
// The writers' side (notify_tasks_in / notify_tasks_after_commit) is private to core:
// core/src/storage/task_notify.hpp. This file depends on database.hpp, never the reverse.
#pragma once

#include <chrono>
#include <memory>
#include <string>

namespace gen {

class Database;

inline constexpr const char* kTaskChannel = "generator_tasks";

class TaskListener {
 public:
  /// Never throws: when it cannot listen it says so in the log and `wait()` just sleeps.
  static std::unique_ptr<TaskListener> create(const Database& db);
  virtual ~TaskListener() = default;
  /// Blocks up to `timeout`; true when at least one notification arrived (all pending ones
  /// are consumed). Reconnects by itself after a connection loss.
  virtual bool wait(std::chrono::milliseconds timeout) = 0;
  /// False while the listener has no working channel (the worker then relies on polling).
  virtual bool listening() const = 0;
};

/// Sends a wake-up to every SQLite listener of `database_path` on this host. Best effort.
void notify_local_listeners(const std::string& database_path);

}  // namespace gen
