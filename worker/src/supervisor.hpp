// The supervisor: the parent process of generator-worker. Runs the migrations, forks the
// worker processes, restarts crashed ones (after releasing their tasks so they retry at
// once), and on SIGTERM/SIGINT forwards the signal and waits for the children to drain.
#pragma once

#include "gen/core/base/settings.hpp"

namespace gen::worker {

/// Returns the process exit code: 0 after a clean shutdown, 2 on a configuration error.
int run_supervisor(const Settings& settings);

/// Applies the schema migrations in this process and reports them on stdout (`migrate`).
int run_migrations(const Settings& settings);

}  // namespace gen::worker
