// The worker's HTTP endpoint on HOSTING__METRICS_PORT: GET /health, /ready and /metrics.
//
// It runs in its own child process of the supervisor, not in the supervisor: the supervisor
// forks worker processes again whenever one dies, and a multithreaded parent that forks is
// the classic hazard (a lock held by another thread stays locked in the child forever). So
// the supervisor only binds the listening socket (it keeps it across endpoint restarts) and
// forks this process, which may use threads and a database connection freely: Poco's
// HTTPServer on that socket, errors as problem+json (gen::problem_for(), as in the backend).
// It reads the counters every worker process keeps in the shared metrics region
// (worker_metrics.hpp).
#pragma once

#include "gen/core/base/settings.hpp"
#include "worker_metrics.hpp"

namespace gen::worker {

/// Binds and listens on host:port (SO_REUSEADDR). Returns the socket, or -1 (errno set).
int bind_endpoint(const std::string& host, int port);

/// The endpoint process's body: serves until SIGTERM (blocked, as in every supervisor
/// child) or until the supervisor dies, then _exit(0). `listen_fd` from bind_endpoint().
[[noreturn]] void run_endpoint_process(const Settings& settings, int listen_fd,
                                       const MetricsRegion& metrics);

}  // namespace gen::worker
