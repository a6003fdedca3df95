// One worker process (a child of the supervisor): T executor threads fed by one claimer
// thread, plus a heartbeat thread that keeps the leases alive and signals cancellations.
#pragma once

#include <string>

#include "gen/core/base/settings.hpp"

namespace gen::worker {

/// A worker process's exit status when it ended itself because one of its tasks exceeded a
/// hard limit (time + grace, or memory): that task is recorded; the supervisor re-queues the
/// process's other tasks with their attempts given back and restarts it at once.
inline constexpr int kExitTaskLimit = 3;

/// Runs the worker process with id `worker_id` until SIGTERM/SIGINT (which it drains) and
/// ends the process with `_exit()`: it never returns into the caller's (the parent's) code.
/// Expects SIGTERM and SIGINT to be blocked in the calling thread (they are awaited with
/// sigtimedwait, so every thread started here inherits the block).
[[noreturn]] void run_worker_process(const Settings& settings, const std::string& worker_id);

}  // namespace gen::worker
