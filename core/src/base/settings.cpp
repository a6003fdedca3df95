#include "gen/core/base/settings.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <functional>
#include <thread>

#include "gen/core/base/errors.hpp"
#include "gen/core/base/text.hpp"
#include "gen/core/tenancy/config_store.hpp"
#include "gen/core/webhooks/webhooks.hpp"

extern char** environ;

namespace gen {
namespace {

[[noreturn]] void bad(const std::string& name, const std::string& expected,
                      const std::string& got) {
  throw Error(ErrorCode::kInvalidConfiguration,
              name + ": expected " + expected + ", got '" + got + "'", name);
}

std::int64_t parse_int(const std::string& name, const std::string& value, std::int64_t min,
                       std::int64_t max) {
  std::int64_t out = 0;
  const char* end = value.data() + value.size();
  auto [ptr, ec] = std::from_chars(value.data(), end, out);
  std::string range = "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
  if (value.empty() || ec != std::errc() || ptr != end || out < min || out > max) {
    bad(name, range, value);
  }
  return out;
}

bool parse_bool(const std::string& name, const std::string& value) {
  const std::string v = ascii_lower(value);
  if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off") return false;
  bad(name, "true or false", value);
}

std::string parse_nonempty(const std::string& name, const std::string& value) {
  if (value.empty()) bad(name, "a non-empty value", value);
  return value;
}

std::string parse_absolute_path(const std::string& name, const std::string& value) {
  if (value.empty() || value.front() != '/') bad(name, "an absolute path", value);
  return value;
}

struct Definition {
  SettingInfo info;
  std::function<void(Settings&, const std::string&)> apply;
};

const std::vector<Definition>& definitions() {
  static const std::vector<Definition> defs = {
      {{"HOSTING__HOST", "string", "127.0.0.1",
        "Address the backend listens on (0.0.0.0 for all interfaces)."},
       [](Settings& s, const std::string& v) { s.host = parse_nonempty("HOSTING__HOST", v); }},
      {{"HOSTING__PORT", "integer", "8080", "Backend HTTP port (1-65535)."},
       [](Settings& s, const std::string& v) {
         s.port = static_cast<int>(parse_int("HOSTING__PORT", v, 1, 65535));
       }},
      {{"HOSTING__METRICS_PORT", "integer", "9091",
        "Worker port for /health and /metrics (0 disables the worker's HTTP listener)."},
       [](Settings& s, const std::string& v) {
         s.metrics_port = static_cast<int>(parse_int("HOSTING__METRICS_PORT", v, 0, 65535));
       }},
      {{"HOSTING__ENABLE_METRICS", "boolean", "true",
        "Serve /metrics; false removes the endpoint."},
       [](Settings& s, const std::string& v) {
         s.enable_metrics = parse_bool("HOSTING__ENABLE_METRICS", v);
       }},
      {{"HOSTING__THREADS", "integer", "auto",
        "Backend request threads; 0 or unset sizes them to the machine (4 per core, at least 8)."},
       [](Settings& s, const std::string& v) {
         s.http_threads = static_cast<int>(parse_int("HOSTING__THREADS", v, 0, 4096));
       }},
      {{"HOSTING__HEADER_TIMEOUT_MS", "integer", "10000",
        "Time a client has to send a request head (from the connection, or from the first"
        " byte of a next request on a kept-alive one); then the connection is closed."},
       [](Settings& s, const std::string& v) {
         s.header_timeout_ms =
             static_cast<int>(parse_int("HOSTING__HEADER_TIMEOUT_MS", v, 100, 3600000));
       }},
      {{"HOSTING__BODY_TIMEOUT_MS", "integer", "10000",
        "Longest wait for the next bytes of a request body, or for a client to take more of a"
        " response; then the connection is closed."},
       [](Settings& s, const std::string& v) {
         s.body_timeout_ms =
             static_cast<int>(parse_int("HOSTING__BODY_TIMEOUT_MS", v, 100, 3600000));
       }},
      {{"HOSTING__IDLE_TIMEOUT_MS", "integer", "60000",
        "A kept-alive connection with no request in progress is closed after this."},
       [](Settings& s, const std::string& v) {
         s.idle_timeout_ms =
             static_cast<int>(parse_int("HOSTING__IDLE_TIMEOUT_MS", v, 100, 3600000));
       }},
      {{"HOSTING__MAX_CONNECTIONS", "integer", "10000",
        "Backend connections open at once (more get 503); capped by the file descriptor limit."},
       [](Settings& s, const std::string& v) {
         s.max_connections =
             static_cast<int>(parse_int("HOSTING__MAX_CONNECTIONS", v, 16, 1000000));
       }},
      {{"HOSTING__MAX_CONNECTIONS_PER_CLIENT", "integer", "128",
        "Backend connections open at once from one client address (IPv6: one /64; more get"
        " 429); 0 = no cap (behind a proxy that is the only client)."},
       [](Settings& s, const std::string& v) {
         s.max_connections_per_client =
             static_cast<int>(parse_int("HOSTING__MAX_CONNECTIONS_PER_CLIENT", v, 0, 1000000));
       }},
      {{"HOSTING__MAX_HEADER_BYTES", "integer", "32768",
        "Largest request head (request line and header fields; 431 beyond)."},
       [](Settings& s, const std::string& v) {
         s.max_header_bytes =
             static_cast<int>(parse_int("HOSTING__MAX_HEADER_BYTES", v, 1024, 1048576));
       }},
      {{"STORAGE__DATA_DIR", "path", "/var/lib/generator",
        "Directory for the embedded SQLite database and other state."},
       [](Settings& s, const std::string& v) {
         s.data_dir = parse_absolute_path("STORAGE__DATA_DIR", v);
       }},
      {{"DATABASE__URL", "url", "sqlite://<STORAGE__DATA_DIR>/generator.db",
        "Task table and artifact store: sqlite:///absolute/path.db, or "
        "postgresql://user:pass@host:port/db."},
       [](Settings& s, const std::string& v) {
         if (!v.starts_with("sqlite:///") && !v.starts_with("postgresql://") &&
             !v.starts_with("postgres://")) {
           bad("DATABASE__URL", "sqlite:///absolute/path.db or postgresql://user:pass@host:port/db",
               v);
         }
         s.database_url = v;
       }},
      {{"PLUGINS__PATH", "path", "<libdir>/generator/plugins",
        "Folders scanned for generator plugins, separated by ':'."},
       [](Settings& s, const std::string& v) {
         s.plugins_path = parse_nonempty("PLUGINS__PATH", v);
       }},
      {{"THREADS__DRAMATIQ_PROCESSES", "integer", "1",
        "Worker processes per worker service (1-256); each runs THREADS__DRAMATIQ_THREADS."},
       [](Settings& s, const std::string& v) {
         s.worker_processes = static_cast<int>(parse_int("THREADS__DRAMATIQ_PROCESSES", v, 1, 256));
       }},
      {{"THREADS__DRAMATIQ_THREADS", "integer", "4",
        "Task threads per worker process (1-1024); start with ~1 per GB of memory."},
       [](Settings& s, const std::string& v) {
         s.worker_threads = static_cast<int>(parse_int("THREADS__DRAMATIQ_THREADS", v, 1, 1024));
       }},
      {{"WORKER__POLL_INTERVAL_MS", "integer", "250",
        "How often an idle worker process looks for new tasks (10-60000 ms)."},
       [](Settings& s, const std::string& v) {
         s.poll_interval_ms = static_cast<int>(parse_int("WORKER__POLL_INTERVAL_MS", v, 10, 60000));
       }},
      {{"WORKER__HEARTBEAT_INTERVAL_MS", "integer", "2000",
        "How often a worker process renews the leases of its running tasks (100-60000 ms)."},
       [](Settings& s, const std::string& v) {
         s.heartbeat_interval_ms =
             static_cast<int>(parse_int("WORKER__HEARTBEAT_INTERVAL_MS", v, 100, 60000));
       }},
      {{"WORKER__MISSED_HEARTBEATS", "integer", "3",
        "Missed heartbeats after which another worker rescues a task (2-100)."},
       [](Settings& s, const std::string& v) {
         s.missed_heartbeats = static_cast<int>(parse_int("WORKER__MISSED_HEARTBEATS", v, 2, 100));
       }},
      {{"WORKER__DRAIN_TIMEOUT_S", "integer", "30",
        "On SIGTERM, how long running tasks may finish before the worker exits (0-86400 s)."},
       [](Settings& s, const std::string& v) {
         s.drain_timeout_s = static_cast<int>(parse_int("WORKER__DRAIN_TIMEOUT_S", v, 0, 86400));
       }},
      {{"WORKER__TIMEOUT_GRACE_MS", "integer", "5000",
        "How long a task past its time limit may take to stop by itself before its worker "
        "process is killed and restarted (0-600000 ms)."},
       [](Settings& s, const std::string& v) {
         s.timeout_grace_ms = parse_int("WORKER__TIMEOUT_GRACE_MS", v, 0, 600000);
       }},
      {{"WORKER__MAX_TASK_MEMORY_MB", "integer", "2048",
        "Memory ceiling of one task (a plugin's manifest may set its own); a task past it ends "
        "OUT_OF_MEMORY and its worker process restarts. 0: no ceiling (0-1048576)."},
       [](Settings& s, const std::string& v) {
         s.max_task_memory_mb = parse_int("WORKER__MAX_TASK_MEMORY_MB", v, 0, 1048576);
       }},
      {{"WORKER__MAX_TASK_OUTPUT_MB", "integer", "1024",
        "Largest total size of one task's outputs (a plugin's manifest may set its own); more "
        "fails the task with PAYLOAD_TOO_LARGE. 0: no cap (0-1048576)."},
       [](Settings& s, const std::string& v) {
         s.max_task_output_mb = parse_int("WORKER__MAX_TASK_OUTPUT_MB", v, 0, 1048576);
       }},
      {{"RETENTION__MAX_AGE_S", "integer", "604800",
        "Finished jobs (with tasks and artifacts) older than this are deleted by the workers; "
        "0 keeps them forever."},
       [](Settings& s, const std::string& v) {
         s.retention_s = parse_int("RETENTION__MAX_AGE_S", v, 0, 100ll * 365 * 24 * 3600);
       }},
      {{"LIMITS__MAX_REQUEST_BYTES", "integer", "67108864",
        "Largest accepted request body in bytes (1 KiB - 16 GiB)."},
       [](Settings& s, const std::string& v) {
         s.max_request_bytes = parse_int("LIMITS__MAX_REQUEST_BYTES", v, 1024, 16ll << 30);
       }},
      {{"LIMITS__MAX_JSON_DEPTH", "integer", "128",
        "Deepest nesting of arrays/objects in a JSON request body or JSON input artifact "
        "(8-1000)."},
       [](Settings& s, const std::string& v) {
         s.max_json_depth = parse_int("LIMITS__MAX_JSON_DEPTH", v, 8, 1000);
       }},
      {{"LIMITS__MAX_JSON_VALUES", "integer", "1000000",
        "Most values (objects, arrays, strings, numbers...) in one JSON request body or JSON input"
        " artifact (1000-100000000); bounds the memory a body can make the parser allocate."},
       [](Settings& s, const std::string& v) {
         s.max_json_values = parse_int("LIMITS__MAX_JSON_VALUES", v, 1000, 100'000'000);
       }},
      {{"LOGGING__LEVEL", "enum", "info", "debug, info, warning or error."},
       [](Settings& s, const std::string& v) {
         if (v != "debug" && v != "info" && v != "warning" && v != "error") {
           bad("LOGGING__LEVEL", "one of debug, info, warning, error", v);
         }
         s.log_level = v;
       }},
      {{"AUTH__ROOT_API_KEY", "string", "",
        "An API key for the root credential (every scope), chosen by the operator; at least 32 "
        "characters. Installed at start-up; changing it replaces the previous one."},
       [](Settings& s, const std::string& v) {
         if (!v.empty() && v.size() < 32)
           bad("AUTH__ROOT_API_KEY", "at least 32 characters", "***");
         s.root_api_key = v;
       }},
      {{"AUTH__TOKEN_SECRET", "string", "auto",
        "HS256 key for access tokens (at least 32 characters); unset: generated once and stored "
        "in the database so every backend shares it."},
       [](Settings& s, const std::string& v) {
         if (!v.empty() && v.size() < 32)
           bad("AUTH__TOKEN_SECRET", "at least 32 characters", "***");
         s.token_secret = v;
       }},
      {{"AUTH__TOKEN_TTL_S", "integer", "3600", "Lifetime of access tokens (60-86400 s)."},
       [](Settings& s, const std::string& v) {
         s.token_ttl_s = parse_int("AUTH__TOKEN_TTL_S", v, 60, 86400);
       }},
      {{"AUTH__MAX_CONCURRENT_HASHES", "integer", "auto",
        "Password checks (one PBKDF2 each) a backend runs at once; as many more wait up to"
        " 1 s, the others get 429 with Retry-After at once. auto: half the cores, at least 1"
        " (1-1024)."},
       [](Settings& s, const std::string& v) {
         s.max_concurrent_hashes =
             v == "auto" ? 0
                         : static_cast<int>(parse_int("AUTH__MAX_CONCURRENT_HASHES", v, 1, 1024));
       }},
      {{"WEBHOOKS__ALLOW_HOSTS", "string", "",
        "Comma-separated host names, IP addresses and CIDR blocks (127.0.0.1/32) that webhooks"
        " may reach although they are loopback, private or link-local; empty: none."},
       [](Settings& s, const std::string& v) {
         AddressPolicy check(v);  // throws, naming the variable, on a malformed entry
         s.webhook_allow_hosts = v;
       }},
      {{"WEBHOOKS__RETRY_BASE_MS", "integer", "5000",
        "Delay before a failed webhook delivery's first retry; doubles per try (x 0.75-1.25),"
        " up to 1 hour, 8 tries in all."},
       [](Settings& s, const std::string& v) {
         s.webhook_retry_base_ms = parse_int("WEBHOOKS__RETRY_BASE_MS", v, 1, 3600000);
       }},
      {{"WEBHOOKS__TIMEOUT_MS", "integer", "10000",
        "Time limit for connecting to a webhook receiver, sending and reading its answer, each."},
       [](Settings& s, const std::string& v) {
         s.webhook_timeout_ms = parse_int("WEBHOOKS__TIMEOUT_MS", v, 100, 120000);
       }},
      {{"WEBHOOKS__CONCURRENCY", "integer", "8",
        "Webhook deliveries a worker process sends at once (1-256)."},
       [](Settings& s, const std::string& v) {
         s.webhook_concurrency = static_cast<int>(parse_int("WEBHOOKS__CONCURRENCY", v, 1, 256));
       }},
      {{"WEBHOOKS__MAX_PER_RECEIVER", "integer", "2",
        "Of those, at most this many to one receiver (host and port) at once (1-256)."},
       [](Settings& s, const std::string& v) {
         s.webhook_max_per_receiver =
             static_cast<int>(parse_int("WEBHOOKS__MAX_PER_RECEIVER", v, 1, 256));
       }},
      {{"WEBHOOKS__MAX_PER_TENANT", "integer", "4",
        "Of those, at most this many for one tenant at once (1-256), so a receiver that never"
        " answers slows only its own tenant."},
       [](Settings& s, const std::string& v) {
         s.webhook_max_per_tenant =
             static_cast<int>(parse_int("WEBHOOKS__MAX_PER_TENANT", v, 1, 256));
       }},
  };
  return defs;
}

// Sections that belong to Generator: an unknown variable in them is a typo.
const std::vector<std::string>& sections() {
  static const std::vector<std::string> s = {
      "HOSTING__",  "DATABASE__", "STORAGE__", "PLUGINS__",   "THREADS__",
      "WORKER__",   "LIMITS__",   "LOGGING__", "RETENTION__", "AUTH__",
      "WEBHOOKS__", "JOBS__",     "PDF__",     "GENERATION__"};
  return s;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

}  // namespace

std::map<std::string, std::string> read_env_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    throw Error(ErrorCode::kInvalidConfiguration, "cannot read env file '" + path + "'");
  }
  std::map<std::string, std::string> out;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    std::string t = trim(line);
    if (t.empty() || t.front() == '#') continue;
    if (t.starts_with("export ")) t = trim(t.substr(7));
    auto eq = t.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw Error(ErrorCode::kInvalidConfiguration,
                  path + ":" + std::to_string(line_no) + ": expected KEY=VALUE, got '" + t + "'");
    }
    std::string key = trim(t.substr(0, eq));
    std::string value = trim(t.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    out[key] = value;
  }
  return out;
}

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos) out[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return out;
}

Settings Settings::load(const std::map<std::string, std::string>& env, const std::string& env_file,
                        const std::string& default_plugins_path) {
  std::map<std::string, std::string> merged;
  if (!env_file.empty()) merged = read_env_file(env_file);
  for (const auto& [k, v] : env) merged[k] = v;  // the process environment wins

  Settings s;
  for (const auto& [key, value] : merged) {
    bool ours = std::any_of(sections().begin(), sections().end(),
                            [&](const std::string& p) { return key.starts_with(p); });
    if (!ours) continue;
    auto it = std::find_if(definitions().begin(), definitions().end(),
                           [&](const Definition& d) { return d.info.name == key; });
    if (it == definitions().end()) {
      if (const ConfigDefinition* def = ConfigStore::find(key)) {
        // A runtime setting's default: checked here so a bad value stops the service at
        // start-up instead of being ignored later.
        nlohmann::json parsed = def->type == "integer"
                                    ? nlohmann::json::parse(value, nullptr, false)
                                    : nlohmann::json(value);
        try {
          ConfigStore::validate(*def, parsed);
        } catch (const Error& e) {
          throw Error(ErrorCode::kInvalidConfiguration, e.what(), key);
        }
        s.runtime_defaults[key] = value;
        continue;
      }
      throw Error(ErrorCode::kInvalidConfiguration,
                  key + ": unknown setting (see the configuration table in README.md)", key);
    }
    it->apply(s, value);
  }
  // Runtime settings that are also start-up settings take the parsed value (or its default).
  s.runtime_defaults["LIMITS__MAX_REQUEST_BYTES"] = std::to_string(s.max_request_bytes);
  s.runtime_defaults["RETENTION__MAX_AGE_S"] = std::to_string(s.retention_s);
  if (s.database_url.empty()) s.database_url = "sqlite://" + s.data_dir + "/generator.db";
  if (s.plugins_path.empty()) s.plugins_path = default_plugins_path;
  if (s.http_threads == 0) {
    int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    s.http_threads = std::max(8, cores * 4);
  }
  return s;
}

Settings Settings::from_process(const std::string& env_file,
                                const std::string& default_plugins_path) {
  return load(process_environment(), env_file, default_plugins_path);
}

const std::vector<SettingInfo>& Settings::catalog() {
  static const std::vector<SettingInfo> infos = [] {
    std::vector<SettingInfo> v;
    for (const auto& d : definitions()) v.push_back(d.info);
    return v;
  }();
  return infos;
}

}  // namespace gen
