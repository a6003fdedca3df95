// The writers' side of the task signal (task_signal.hpp): telling idle workers that tasks
// became runnable (kTaskChannel). Private to core/src; the job store calls it.
#pragma once

#include "gen/core/storage/database.hpp"
#include "gen/core/storage/task_signal.hpp"
#include "storage/session.hpp"

namespace gen {

/// PostgreSQL: NOTIFY inside the write transaction `s` (delivered on commit). SQLite: nothing.
void notify_tasks_in(const Database& db, DbSession& s);
/// SQLite: a datagram to every listening worker process on this host, after the commit.
/// PostgreSQL: nothing (the NOTIFY did it).
void notify_tasks_after_commit(const Database& db);

}  // namespace gen
