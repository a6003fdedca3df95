#include "gen/core/storage/database.hpp"

#include <chrono>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/SQLite/SQLiteException.h>
#include <Poco/Data/SQLite/Utility.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/SessionPool.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "gen/core/base/clock.hpp"
#include "gen/core/base/errors.hpp"
#include "storage/migrations.hpp"
#include "storage/session.hpp"

using namespace Poco::Data::Keywords;

namespace gen {
namespace {

void register_connectors() {
  static std::once_flag once;
  std::call_once(once, [] {
    Poco::Data::SQLite::Connector::registerConnector();
    Poco::Data::PostgreSQL::Connector::registerConnector();
  });
}

// SQLite's own busy handler sleeps 1, 2, 5, 10 ... 100 ms between tries, so a worker process
// that found the write lock taken by another process waits far longer than the few hundred
// microseconds the holder needs. This one retries every 50 us at first, then every 250 us,
// for up to ~10 s (the old busy_timeout) before SQLITE_BUSY.
int busy_handler(void*, int tries) {
  constexpr int kFastTries = 200;                           // 10 ms at 50 us
  constexpr int kMaxTries = kFastTries + 10'000'000 / 250;  // then ~10 s at 250 us
  if (tries >= kMaxTries) return 0;
  std::this_thread::sleep_for(std::chrono::microseconds(tries < kFastTries ? 50 : 250));
  return 1;
}

}  // namespace

// Per-connection set-up the pool applies to each new session.
class Database::Pool final : public Poco::Data::SessionPool {
 public:
  Pool(Dialect dialect, const std::string& connector, const std::string& connect, int max)
      : Poco::Data::SessionPool(connector, connect, 1, max, 60), dialect_(dialect) {}

 protected:
  void customizeSession(Poco::Data::Session& session) override {
    if (dialect_ == Dialect::kSqlite) {
      session << "PRAGMA busy_timeout = 10000", now;
      session << "PRAGMA synchronous = NORMAL", now;
      session << "PRAGMA foreign_keys = ON", now;
      sqlite3_busy_handler(Poco::Data::SQLite::Utility::dbHandle(session), busy_handler, nullptr);
    }
  }

 private:
  Dialect dialect_;
};

namespace {

// Converts postgresql://user:pass@host:port/db?k=v into libpq's key=value form.
std::string postgres_connect_string(const std::string& url) {
  std::string rest = url.substr(url.find("://") + 3);
  std::string params, userinfo, hostport, db;
  if (auto q = rest.find('?'); q != std::string::npos) {
    params = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  if (auto at = rest.rfind('@'); at != std::string::npos) {
    userinfo = rest.substr(0, at);
    hostport = rest.substr(at + 1);
  } else {
    hostport = rest;
  }
  std::string out;
  auto add = [&](const std::string& k, const std::string& v) {
    if (v.empty()) return;
    std::string escaped;
    for (char c : v) {
      if (c == '\'' || c == '\\') escaped += '\\';
      escaped += c;
    }
    out += k + "='" + escaped + "' ";
  };
  if (auto colon = userinfo.find(':'); colon != std::string::npos) {
    add("user", userinfo.substr(0, colon));
    add("password", userinfo.substr(colon + 1));
  } else {
    add("user", userinfo);
  }
  if (auto colon = hostport.rfind(':'); colon != std::string::npos) {
    add("host", hostport.substr(0, colon));
    add("port", hostport.substr(colon + 1));
  } else {
    add("host", hostport);
  }
  add("dbname", db);
  size_t pos = 0;
  while (pos < params.size()) {
    auto amp = params.find('&', pos);
    std::string kv = params.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    if (auto eq = kv.find('='); eq != std::string::npos) add(kv.substr(0, eq), kv.substr(eq + 1));
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  return out;
}

}  // namespace

Database::Database(Dialect dialect, std::string url, std::string connector,
                   std::string connect_string, int max_sessions)
    : dialect_(dialect),
      url_(std::move(url)),
      connect_string_(connect_string),
      pool_(std::make_unique<Pool>(dialect, connector, connect_string, max_sessions)),
      pg_pool_(std::make_unique<PgPool>()) {}

// pg_exec's libpq connections: idle ones wait in a stack; a broken one is closed, not kept.
// Each connection keeps its statements prepared (named after the text's hash): parsing and
// planning the queue's CTE statements costs more than running them.
struct Database::PgPool {
  struct Conn {
    PGconn* conn = nullptr;
    std::set<std::string> prepared;
  };
  std::mutex mutex;
  std::vector<Conn> idle;
  ~PgPool() {
    for (Conn& c : idle) PQfinish(c.conn);
  }
};

Database::~Database() = default;

std::vector<Database::TextRow> Database::pg_exec(const std::string& sql,
                                                 const std::vector<std::string>& params) {
  PgPool::Conn c;
  {
    std::lock_guard lock(pg_pool_->mutex);
    if (!pg_pool_->idle.empty()) {
      c = std::move(pg_pool_->idle.back());
      pg_pool_->idle.pop_back();
    }
  }
  if (c.conn == nullptr) {
    c.conn = PQconnectdb(connect_string_.c_str());
    bool ready = PQstatus(c.conn) == CONNECTION_OK;
    if (ready) {
      // These connections run only the queue's key-driven batch statements (a claim, a
      // batch of completions, a plain submission): pin their plans to index lookups and
      // nested loops. With statistics taken while the queue was empty or full, the planner
      // otherwise picks a bitmap scan of every queued task plus a sort, or hash joins over
      // whole tables: one claim then costs O(queue length) (16 ms at 20,000 queued tasks,
      // seconds at millions), not O(batch). No JIT: a plan with a disabled node (a seq scan
      // of a handful of webhooks) costs above jit_above_cost, and compiling it would take
      // half a second of every batch.
      PGresult* tune = PQexec(c.conn,
                              "SET enable_seqscan = off; SET enable_bitmapscan = off;"
                              " SET enable_hashjoin = off; SET enable_mergejoin = off;"
                              " SET enable_sort = off; SET plan_cache_mode = force_generic_plan;"
                              " SET jit = off");
      ready = PQresultStatus(tune) == PGRES_COMMAND_OK;
      PQclear(tune);
    }
    if (!ready) {
      std::string why = PQerrorMessage(c.conn);
      PQfinish(c.conn);
      throw Error(ErrorCode::kDatabaseUnavailable, "database error: " + why);
    }
  }
  PGconn* conn = c.conn;
  // A failed call: the connection goes back to the pool only when it is healthy and idle.
  auto fail = [&](PGresult* res) {
    std::string why = res ? PQresultErrorMessage(res) : "";
    if (why.empty()) why = PQerrorMessage(conn);
    PQclear(res);
    if (PQstatus(conn) != CONNECTION_OK || PQtransactionStatus(conn) != PQTRANS_IDLE) {
      PQfinish(conn);
    } else {
      std::lock_guard lock(pg_pool_->mutex);
      pg_pool_->idle.push_back(std::move(c));
    }
    throw Error(ErrorCode::kDatabaseUnavailable, "database error: " + why);
  };
  const std::string name = "gen_" + std::to_string(std::hash<std::string>{}(sql));
  if (!c.prepared.contains(name)) {
    PGresult* prep = PQprepare(conn, name.c_str(), sql.c_str(), 0, nullptr);
    if (PQresultStatus(prep) != PGRES_COMMAND_OK) fail(prep);
    PQclear(prep);
    c.prepared.insert(name);
  }
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const std::string& p : params) values.push_back(p.c_str());
  PGresult* res = PQexecPrepared(conn, name.c_str(), static_cast<int>(values.size()), values.data(),
                                 nullptr, nullptr, 0);
  const ExecStatusType status = PQresultStatus(res);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) fail(res);
  std::vector<TextRow> rows(static_cast<std::size_t>(PQntuples(res)));
  const int columns = PQnfields(res);
  for (int r = 0; r < static_cast<int>(rows.size()); ++r) {
    rows[r].reserve(columns);
    for (int col = 0; col < columns; ++col) {
      if (PQgetisnull(res, r, col)) {
        rows[r].emplace_back(std::nullopt);
      } else {
        rows[r].emplace_back(std::string(PQgetvalue(res, r, col), PQgetlength(res, r, col)));
      }
    }
  }
  PQclear(res);
  std::lock_guard lock(pg_pool_->mutex);
  pg_pool_->idle.push_back(std::move(c));
  return rows;
}

std::unique_ptr<Database> Database::open(const std::string& url, int max_sessions) {
  register_connectors();
  try {
    std::unique_ptr<Database> db;
    if (url.starts_with("sqlite://")) {
      std::string path = url.substr(std::string("sqlite://").size());
      if (path.empty() || path.front() != '/') {
        throw Error(ErrorCode::kInvalidConfiguration,
                    "DATABASE__URL: sqlite URLs need an absolute path (sqlite:///var/lib/x.db)",
                    "DATABASE__URL");
      }
      std::filesystem::path parent = std::filesystem::path(path).parent_path();
      std::error_code ec;
      std::filesystem::create_directories(parent, ec);
      if (ec) {
        throw Error(
            ErrorCode::kInvalidConfiguration,
            "DATABASE__URL: cannot create directory '" + parent.string() + "': " + ec.message(),
            "DATABASE__URL");
      }
      db.reset(new Database(Dialect::kSqlite, url, "SQLite", path, max_sessions));
      // While another process creates the file or switches it to WAL, these first
      // statements can fail with SQLITE_BUSY without going through the busy handler (the
      // backend and the worker starting together on a new file: 1 open in ~1,400 failed in
      // database_test.cpp). Retried like the busy handler would, for up to ~10 s.
      for (int tries = 0;; ++tries) {
        try {
          Poco::Data::Session s = db->session();
          s << "PRAGMA journal_mode = WAL", now;
          break;
        } catch (const Poco::Data::SQLite::DBLockedException&) {
          if (tries >= 2000) throw;
        } catch (const Poco::Data::SQLite::TableLockedException&) {
          if (tries >= 2000) throw;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    } else if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
      db.reset(new Database(Dialect::kPostgres, url, "PostgreSQL", postgres_connect_string(url),
                            max_sessions));
      Poco::Data::Session s = db->session();
      s << "SELECT 1", now;
    } else {
      throw Error(ErrorCode::kInvalidConfiguration,
                  "DATABASE__URL: unsupported scheme in '" + url + "'", "DATABASE__URL");
    }
    return db;
  } catch (const Error&) {
    throw;
  } catch (const Poco::Exception& e) {
    throw Error(ErrorCode::kDatabaseUnavailable, "cannot open database: " + e.displayText(),
                "DATABASE__URL");
  }
}

std::string Database::sql(std::string_view text) const {
  if (dialect_ == Dialect::kSqlite) return std::string(text);
  std::string out;
  out.reserve(text.size() + 16);
  int n = 0;
  bool quoted = false;
  for (char c : text) {
    if (c == '\'') quoted = !quoted;
    if (c == '?' && !quoted) {
      out += '$' + std::to_string(++n);
    } else {
      out += c;
    }
  }
  return out;
}

DbSession Database::session() {
  return DbSession(pool_->get());
}

void Database::read(const std::function<void(DbSession&)>& fn) {
  try {
    DbSession s = session();
    fn(s);
  } catch (const Poco::Exception& e) {
    throw database_error(e);
  }
}

std::map<std::string, std::int64_t> Database::change_counters() {
  std::map<std::string, std::int64_t> counters;
  read([&](DbSession& s) {
    std::vector<std::string> names;
    std::vector<Poco::Int64> values;
    s << "SELECT name, value FROM change_counters", into(names), into(values), now;
    for (std::size_t i = 0; i < names.size(); ++i) counters[names[i]] = values[i];
  });
  return counters;
}

void Database::write_transaction(const std::function<void(DbSession&)>& fn) {
  // SQLite has one writer at a time. Threads of this process queue here instead of in
  // SQLite's busy handler, which sleeps in steps of milliseconds while it waits.
  std::unique_lock<std::mutex> writer;
  if (dialect_ == Dialect::kSqlite) writer = std::unique_lock<std::mutex>(write_mutex_);
  try {
    DbSession s = session();
    if (dialect_ == Dialect::kSqlite) {
      s << "BEGIN IMMEDIATE", now;
    } else {
      s.begin();
    }
    try {
      fn(s);
    } catch (...) {
      try {
        if (dialect_ == Dialect::kSqlite) {
          s << "ROLLBACK", now;
        } else {
          s.rollback();
        }
      } catch (...) {
      }
      throw;
    }
    if (dialect_ == Dialect::kSqlite) {
      s << "COMMIT", now;
    } else {
      s.commit();
    }
  } catch (const Poco::Exception& e) {
    throw database_error(e);
  }
}

int Database::latest_schema_version() {
  return storage::migrations().back().version;
}

int Database::schema_version() {
  int version = 0;
  read([&](DbSession& s) {
    // Read only: never creates anything, so /ready probes of many hosts cannot race.
    Poco::Int64 tables = 0;
    if (dialect_ == Dialect::kSqlite) {
      s << "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND"
           " name = 'schema_migrations'",
          into(tables), now;
    } else {
      s << "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema ="
           " current_schema() AND table_name = 'schema_migrations'",
          into(tables), now;
    }
    if (tables == 0) return;
    s << "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", into(version), now;
  });
  return version;
}

int Database::migrate() {
  // The bookkeeping table is created under the same lock as the migrations: concurrent
  // "CREATE TABLE IF NOT EXISTS" on PostgreSQL can fail with a duplicate-key error.
  write_transaction([&](DbSession& s) {
    if (dialect_ == Dialect::kPostgres) s << "SELECT pg_advisory_xact_lock(727170)", now;
    s << "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
         " applied_at_ms BIGINT NOT NULL)",
        now;
  });
  int applied = 0;
  for (const storage::Migration& m : storage::migrations()) {
    bool ran = false;
    write_transaction([&](DbSession& s) {
      // Re-checked inside the write lock so concurrent starters apply each migration once.
      if (dialect_ == Dialect::kPostgres) s << "SELECT pg_advisory_xact_lock(727170)", now;
      int exists = 0;
      int version = m.version;
      s << sql("SELECT COUNT(*) FROM schema_migrations WHERE version = ?"), use(version),
          into(exists), now;
      if (exists) return;
      for (std::string sql : m.statements) {
        const bool is_sqlite = dialect_ == Dialect::kSqlite;
        if (sql.starts_with("sqlite:") || sql.starts_with("postgresql:")) {
          if (sql.starts_with("sqlite:") != is_sqlite) continue;
          sql.erase(0, sql.find(':') + 1);
        }
        if (auto p = sql.find("{BLOB}"); p != std::string::npos) sql.replace(p, 6, blob_type());
        s << sql, now;
      }
      Poco::Int64 at = now_ms();
      s << sql("INSERT INTO schema_migrations (version, applied_at_ms) VALUES (?, ?)"),
          use(version), use(at), now;
      ran = true;
    });
    if (ran) ++applied;
  }
  return applied;
}

}  // namespace gen
