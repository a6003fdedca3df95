#include "gen/backend/service.hpp"

#include <signal.h>
#include <systemd/sd-daemon.h>

#include <chrono>
#include <cstdint>

#include "gen/backend/api.hpp"
#include "gen/backend/metrics.hpp"
#include "gen/backend/server.hpp"
#include "gen/core/base/log.hpp"
#include "gen/core/metrics/metrics.hpp"
#include "gen/core/plugins/plugin_host.hpp"
#include "gen/core/queue/job_store.hpp"
#include "gen/core/storage/database.hpp"
#include "gen/core/tenancy/auth.hpp"

namespace gen::backend {
namespace {

sigset_t termination_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

constexpr std::chrono::milliseconds kShutdownGrace{10000};

}  // namespace

void block_termination_signals() {
  sigset_t set = termination_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int migrate(const Settings& settings) {
  auto db = Database::open(settings.database_url, 1);
  return db->migrate();
}

int serve(const Settings& settings) {
  // One session per request thread, plus the read caches' watcher, the readiness checks and
  // the queue metrics, which run beside the requests: a request never finds the pool empty.
  auto db = Database::open(settings.database_url, settings.http_threads + 4);
  int ran = db->migrate();
  log::info("database ready",
            {{"migrations_applied", ran},
             {"schema_version", db->schema_version()},
             {"dialect", db->dialect() == Dialect::kSqlite ? "sqlite" : "postgresql"}});

  PluginHost plugins(settings.plugins_path);
  plugins.load_all();  // logs each plugin it loads or refuses

  JobStore jobs(*db);
  HttpMetrics metrics(*db, plugins);  // monitoring (issue 6): request, process, queue metrics
  metrics::Readiness readiness;
  readiness.add_database(*db);
  readiness.add_plugins(plugins);
  ApiOptions options;
  options.readiness = [&readiness] {
    metrics::Readiness::Report report = readiness.run();
    return ready_response(report.ready, std::move(report.json));
  };
  options.max_request_bytes = settings.max_request_bytes;
  options.json_limits.max_depth = static_cast<std::size_t>(settings.max_json_depth);
  options.json_limits.max_values = static_cast<std::size_t>(settings.max_json_values);
  options.enable_metrics = settings.enable_metrics;
  options.metrics_text = [&metrics] { return metrics.render(); };
  options.observe_search = [&metrics](double seconds) { metrics.observe_search(seconds); };
  options.token_secret = settings.token_secret;
  options.token_ttl_s = settings.token_ttl_s;
  set_hash_limits({.max_concurrent = settings.max_concurrent_hashes, .max_wait_ms = 1000});
  options.webhook_allow_hosts = settings.webhook_allow_hosts;
  options.config_environment = settings.runtime_defaults;
  if (!settings.root_api_key.empty()) {
    CredentialStore(*db).install_root_api_key(settings.root_api_key);
    log::info("root API key installed from AUTH__ROOT_API_KEY");
  }
  Api api(*db, jobs, plugins, options);

  ServerOptions edge;
  edge.threads = settings.http_threads;
  edge.header_timeout_ms = settings.header_timeout_ms;
  edge.body_timeout_ms = settings.body_timeout_ms;
  edge.idle_timeout_ms = settings.idle_timeout_ms;
  edge.max_connections = settings.max_connections;
  edge.max_connections_per_client = settings.max_connections_per_client;
  edge.max_header_bytes = static_cast<std::size_t>(settings.max_header_bytes);
  HttpServer server(api, metrics, settings.host, settings.port, edge);
  server.start();
  log::info("listening", {{"host", settings.host},
                          {"port", server.port()},
                          {"threads", settings.http_threads},
                          {"generators", plugins.generators().size()}});

  // systemd (Type=notify): ready once the socket listens; the watchdog is pinged at half
  // its period from this thread, which only wakes for that and for the stop signals.
  sd_notify(0, "READY=1");
  std::uint64_t watchdog_usec = 0;
  const bool watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0 && watchdog_usec > 0;
  sigset_t set = termination_signals();
  int signal_number = 0;
  for (;;) {
    if (!watchdog) {
      sigwait(&set, &signal_number);
      break;
    }
    timespec wait{};
    const std::uint64_t half = watchdog_usec / 2;
    wait.tv_sec = static_cast<time_t>(half / 1000000);
    wait.tv_nsec = static_cast<long>((half % 1000000) * 1000);
    int got = sigtimedwait(&set, nullptr, &wait);
    if (got > 0) {
      signal_number = got;
      break;
    }
    sd_notify(0, "WATCHDOG=1");
  }
  sd_notify(0, "STOPPING=1");
  log::info("stopping", {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});
  server.stop(kShutdownGrace);
  log::info("stopped");
  return 0;
}

}  // namespace gen::backend
