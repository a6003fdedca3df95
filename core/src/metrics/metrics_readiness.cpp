// Readiness: the checks behind GET /ready, each on its own thread under a timeout.
#include <condition_variable>
#include <filesystem>
#include <thread>

#include <Poco/Data/Session.h>
#include <nlohmann/json.hpp>

#include "gen/core/metrics/metrics.hpp"
#include "gen/core/plugins/plugin_host.hpp"
#include "gen/core/storage/database.hpp"
#include "storage/session.hpp"

namespace gen::metrics {

struct Readiness::Entry {
  std::string name;
  Check check;
  std::mutex mutex;
  std::condition_variable done;
  bool running = false;
  std::uint64_t finished_runs = 0;
  CheckResult last;
  double last_seconds = 0;
};

Readiness::Readiness(std::chrono::milliseconds timeout) : timeout_(timeout) {}

// A check still running at destruction keeps its Entry alive through its shared_ptr; what
// it references (the database) must outlive it, which holds for the services: they exit.
Readiness::~Readiness() = default;

void Readiness::add(std::string name, Check check) {
  auto e = std::make_shared<Entry>();
  e->name = std::move(name);
  e->check = std::move(check);
  checks_.push_back(std::move(e));
}

void Readiness::add_database(Database& db) {
  add("database", [&db] { return check_database(db); });
}

void Readiness::add_plugins(const PluginHost& plugins) {
  add("plugins", [&plugins] {
    int loaded = 0, refused = 0;
    for (const PluginRecord& p : plugins.plugins()) {
      (p.state == PluginState::kLoaded ? loaded : refused) += 1;
    }
    const std::size_t generators = plugins.generators().size();
    CheckResult r;
    r.ok = generators > 0;
    r.detail = std::to_string(loaded) + " plugin(s) loaded, " + std::to_string(refused) +
               " refused, " + std::to_string(generators) + " generator(s) available";
    return r;
  });
}

Readiness::Report Readiness::run() {
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  // Start every check that is not already running (a timed-out one may still be).
  std::vector<std::uint64_t> wanted(checks_.size());
  for (std::size_t i = 0; i < checks_.size(); ++i) {
    const std::shared_ptr<Entry>& e = checks_[i];
    std::lock_guard lock(e->mutex);
    wanted[i] = e->finished_runs + 1;
    if (e->running) continue;
    e->running = true;
    std::thread([e] {
      const auto started = std::chrono::steady_clock::now();
      CheckResult r;
      try {
        r = e->check();
      } catch (const std::exception& ex) {
        r = {false, ex.what()};
      } catch (...) {
        r = {false, "the check failed"};
      }
      std::lock_guard done_lock(e->mutex);
      e->last = std::move(r);
      e->last_seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      e->running = false;
      ++e->finished_runs;
      e->done.notify_all();
    }).detach();
  }

  Report report;
  report.ready = true;
  nlohmann::json checks = nlohmann::json::object();
  for (std::size_t i = 0; i < checks_.size(); ++i) {
    const std::shared_ptr<Entry>& e = checks_[i];
    std::unique_lock lock(e->mutex);
    bool answered =
        e->done.wait_until(lock, deadline, [&] { return e->finished_runs >= wanted[i]; });
    nlohmann::json c;
    if (answered) {
      c = {{"ok", e->last.ok},
           {"detail", e->last.detail},
           {"duration_ms", static_cast<std::int64_t>(e->last_seconds * 1000)}};
    } else {
      c = {{"ok", false},
           {"detail", "no answer within " + std::to_string(timeout_.count()) + " ms"}};
    }
    report.ready = report.ready && c["ok"].get<bool>();
    checks[e->name] = std::move(c);
  }
  report.json =
      nlohmann::json{{"status", report.ready ? "ready" : "not ready"}, {"checks", checks}}.dump();
  return report;
}

CheckResult check_database(Database& db) {
  if (db.dialect() == Dialect::kSqlite) {
    // An open connection keeps working on a deleted file: look for the file itself.
    std::error_code ec;
    if (!std::filesystem::exists(db.connect_string(), ec)) {
      return {false, "the SQLite database file " + db.connect_string() + " is missing"};
    }
  }
  int version = 0;
  db.read([&](DbSession& s) {
    s << "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        Poco::Data::Keywords::into(version), Poco::Data::Keywords::now;
  });
  const int latest = Database::latest_schema_version();
  if (version != latest) {
    return {false, "schema version " + std::to_string(version) + ", this build needs " +
                       std::to_string(latest) + " (run the migrations)"};
  }
  return {true, std::string(db.dialect() == Dialect::kSqlite ? "sqlite" : "postgresql") +
                    " reachable, schema version " + std::to_string(version) + " (current)"};
}

}  // namespace gen::metrics
