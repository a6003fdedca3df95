// Service settings, read once at start-up from environment variables named SECTION__KEY
// (and an optional env file), typed and validated. A bad value throws gen::Error with code
// kInvalidConfiguration whose field names the variable; the services print it and exit.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace gen {

/// One documented setting; `catalog()` lists them all (README's table mirrors it).
struct SettingInfo {
  std::string name;           ///< e.g. "HOSTING__PORT"
  std::string type;           ///< "string", "integer", "boolean", "enum", "url", "path"
  std::string default_value;  ///< as documented; "auto" where computed
  std::string description;
};

struct Settings {
  // HOSTING
  std::string host = "127.0.0.1";
  int port = 8080;
  int metrics_port = 9091;  ///< the worker's /metrics and /health port
  bool enable_metrics = true;
  int http_threads = 0;  ///< 0: sized to the machine's cores
  // The HTTP edge's limits (backend/include/gen/backend/server.hpp, docs/security.md).
  int header_timeout_ms = 10000;
  int body_timeout_ms = 10000;
  int idle_timeout_ms = 60000;
  int max_connections = 10000;
  int max_connections_per_client = 128;  ///< 0: no cap
  int max_header_bytes = 32 * 1024;
  // DATABASE / STORAGE
  std::string data_dir = "/var/lib/generator";
  std::string database_url;  ///< resolved: never empty after load()
  // PLUGINS
  std::string plugins_path;  ///< resolved: never empty after load()
  // THREADS (worker)
  int worker_processes = 1;
  int worker_threads = 4;
  // WORKER
  int poll_interval_ms = 250;
  int heartbeat_interval_ms = 2000;
  int missed_heartbeats = 3;
  int drain_timeout_s = 30;
  std::int64_t timeout_grace_ms = 5000;    ///< past timeout + this, the process is restarted
  std::int64_t max_task_memory_mb = 2048;  ///< per task; 0: no ceiling
  std::int64_t max_task_output_mb = 1024;  ///< per task, all outputs together; 0: no cap
  // RETENTION
  std::int64_t retention_s = 7 * 24 * 3600;  ///< finished jobs older than this are pruned
  // LIMITS
  std::int64_t max_request_bytes = 64ll * 1024 * 1024;
  /// JSON bodies (and JSON input artifacts): most nesting and most values (gen::sdk::JsonLimits).
  std::int64_t max_json_depth = 128;
  std::int64_t max_json_values = 1'000'000;
  // LOGGING
  std::string log_level = "info";
  // AUTH
  std::string root_api_key;  ///< empty: no root key from the environment
  std::string token_secret;  ///< empty: generated once and stored in the database
  std::int64_t token_ttl_s = 3600;
  int max_concurrent_hashes = 0;  ///< 0: max(1, cores / 2)
  // WEBHOOKS
  std::string webhook_allow_hosts;  ///< hosts and CIDR blocks webhooks may reach though internal
  std::int64_t webhook_retry_base_ms = 5000;
  std::int64_t webhook_timeout_ms = 10000;
  int webhook_concurrency = 8;       ///< deliveries in flight per worker process
  int webhook_max_per_receiver = 2;  ///< ... to one host:port
  int webhook_max_per_tenant = 4;    ///< ... for one tenant
  // Runtime settings (ConfigStore's catalog: LIMITS__REQUESTS_PER_S, JOBS__*, PDF__* ...): the
  // environment's defaults, validated, by name. Tenant and system values override them.
  std::map<std::string, std::string> runtime_defaults;

  /// Lease length implied by the heartbeat settings.
  int lease_ms() const { return heartbeat_interval_ms * missed_heartbeats; }

  /// Loads from `env` (the process environment as a map) over the contents of `env_file`
  /// (KEY=VALUE lines, '#' comments; empty path: none). `default_plugins_path` is used when
  /// PLUGINS__PATH is unset. Throws gen::Error naming the variable on any bad value, and on
  /// unknown variables in Generator's sections (a typo must not pass silently).
  static Settings load(const std::map<std::string, std::string>& env, const std::string& env_file,
                       const std::string& default_plugins_path);

  /// Convenience: the real process environment.
  static Settings from_process(const std::string& env_file,
                               const std::string& default_plugins_path);

  /// Every setting with its type, default and meaning.
  static const std::vector<SettingInfo>& catalog();
};

/// Reads an env file into a map. Throws gen::Error (kInvalidConfiguration) on a bad line.
std::map<std::string, std::string> read_env_file(const std::string& path);

/// The process environment as a map.
std::map<std::string, std::string> process_environment();

}  // namespace gen
