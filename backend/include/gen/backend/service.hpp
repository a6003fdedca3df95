// The backend service's life cycle, shared by main.cpp and tests: open the database, run
// migrations, load plugins, serve HTTP until SIGTERM/SIGINT.
#pragma once

#include "gen/core/base/settings.hpp"

namespace gen::backend {

/// Blocks SIGTERM and SIGINT in the calling thread (and so in every thread it starts later)
/// so that serve() can wait for them synchronously. Call first thing in main().
void block_termination_signals();

/// Applies pending migrations and returns how many ran. Throws gen::Error.
int migrate(const Settings& settings);

/// Runs the HTTP service until SIGTERM or SIGINT; returns the process exit code (0 after a
/// clean stop). Throws gen::Error on start-up failure (database, port taken).
int serve(const Settings& settings);

}  // namespace gen::backend
