#include "gen/core/storage/database.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
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
#include <Poco/UUIDGenerator.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "gen/core/base/errors.hpp"
#include "gen/core/storage/task_signal.hpp"

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

// Per-connection set-up the pool applies to each new session.
class Pool final : public Poco::Data::SessionPool {
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

struct Migration {
  int version;
  // "{BLOB}" is replaced by the dialect's binary type; a statement prefixed "sqlite:" or
  // "postgresql:" runs on that dialect only.
  std::vector<std::string> statements;
};

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> list = {
      {1,
       {
           "CREATE TABLE jobs ("
           " id TEXT PRIMARY KEY,"
           " tenant TEXT NOT NULL DEFAULT '',"
           " status TEXT NOT NULL,"
           " priority INTEGER NOT NULL DEFAULT 0,"
           " step_count INTEGER NOT NULL,"
           " error TEXT,"
           " error_code TEXT,"
           " created_at_ms BIGINT NOT NULL,"
           " updated_at_ms BIGINT NOT NULL,"
           " started_at_ms BIGINT,"
           " finished_at_ms BIGINT)",
           "CREATE INDEX jobs_by_created ON jobs (created_at_ms, id)",
           "CREATE INDEX jobs_by_status ON jobs (status, created_at_ms)",
           "CREATE TABLE tasks ("
           " id TEXT PRIMARY KEY,"
           " job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,"
           " step INTEGER NOT NULL,"
           " generator TEXT NOT NULL,"
           " params TEXT NOT NULL,"
           " state TEXT NOT NULL,"
           " priority INTEGER NOT NULL DEFAULT 0,"
           " attempt INTEGER NOT NULL DEFAULT 0,"
           " max_attempts INTEGER NOT NULL,"
           " timeout_ms BIGINT NOT NULL,"
           " run_after_ms BIGINT NOT NULL,"
           " lease_owner TEXT,"
           " lease_expires_at_ms BIGINT,"
           " cancel_requested INTEGER NOT NULL DEFAULT 0,"
           " progress DOUBLE PRECISION NOT NULL DEFAULT 0,"
           " error TEXT,"
           " error_code TEXT,"
           " created_at_ms BIGINT NOT NULL,"
           " queued_at_ms BIGINT,"
           " started_at_ms BIGINT,"
           " finished_at_ms BIGINT,"
           " UNIQUE (job_id, step))",
           "CREATE INDEX tasks_claimable ON tasks (priority DESC, run_after_ms, id)"
           " WHERE state = 'QUEUED'",
           "CREATE INDEX tasks_leased ON tasks (lease_owner) WHERE state = 'RUNNING'",
           "CREATE INDEX tasks_lease_expiry ON tasks (lease_expires_at_ms) WHERE state = 'RUNNING'",
           "CREATE TABLE task_attempts ("
           " task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,"
           " attempt INTEGER NOT NULL,"
           " worker TEXT NOT NULL,"
           " started_at_ms BIGINT NOT NULL,"
           " finished_at_ms BIGINT,"
           " outcome TEXT,"
           " error TEXT,"
           " error_code TEXT,"
           " PRIMARY KEY (task_id, attempt))",
           "CREATE TABLE artifacts ("
           " id TEXT PRIMARY KEY,"
           " job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,"
           " step INTEGER NOT NULL,"  // -1: the job's inputs
           " seq INTEGER NOT NULL,"
           " name TEXT NOT NULL,"
           " media_type TEXT NOT NULL,"
           " size_bytes BIGINT NOT NULL,"
           " sha256 TEXT NOT NULL,"
           " data {BLOB} NOT NULL,"
           " created_at_ms BIGINT NOT NULL,"
           " UNIQUE (job_id, step, name))",
       }},
      {2,
       {
           "ALTER TABLE jobs ADD COLUMN idempotency_key TEXT",
           "CREATE UNIQUE INDEX jobs_idempotency ON jobs (tenant, idempotency_key)"
           " WHERE idempotency_key IS NOT NULL",
           "CREATE INDEX jobs_finished ON jobs (finished_at_ms) WHERE finished_at_ms IS NOT NULL",
       }},
      {3,
       {
           // The API's tenants, credentials, settings and server-wide secrets.
           "CREATE TABLE tenants ("
           " id TEXT PRIMARY KEY,"
           " enabled INTEGER NOT NULL DEFAULT 1,"
           " created_at_ms BIGINT NOT NULL,"
           " updated_at_ms BIGINT NOT NULL)",
           "CREATE TABLE credentials ("
           " id TEXT PRIMARY KEY,"
           " password_hash TEXT NOT NULL,"
           " is_active INTEGER NOT NULL DEFAULT 1,"
           " is_root INTEGER NOT NULL DEFAULT 0,"
           " scopes TEXT NOT NULL,"
           " tenants TEXT NOT NULL,"
           " created_at_ms BIGINT NOT NULL,"
           " updated_at_ms BIGINT NOT NULL)",
           "CREATE TABLE api_keys ("
           " key_hash TEXT PRIMARY KEY,"
           " credential_id TEXT NOT NULL REFERENCES credentials (id) ON DELETE CASCADE,"
           " source TEXT NOT NULL,"
           " created_at_ms BIGINT NOT NULL)",
           "CREATE INDEX api_keys_by_credential ON api_keys (credential_id)",
           "CREATE TABLE config_values ("
           " tenant TEXT NOT NULL,"
           " name TEXT NOT NULL,"
           " value TEXT NOT NULL,"
           " updated_at_ms BIGINT NOT NULL,"
           " PRIMARY KEY (tenant, name))",
           "CREATE TABLE server_secrets ("
           " name TEXT PRIMARY KEY,"
           " value TEXT NOT NULL,"
           " created_at_ms BIGINT NOT NULL)",
           "CREATE INDEX jobs_by_tenant ON jobs (tenant, created_at_ms, id)",
       }},
      {4,
       {
           // Heartbeats look up the cancelled runs of one worker without a table scan.
           "CREATE INDEX tasks_cancel_requested ON tasks (lease_owner) WHERE cancel_requested = 1",
       }},
      {5,
       {
           // Webhooks: subscriptions per tenant and an outbox of deliveries, written in the
           // transaction that ends a job and delivered by the workers (see webhooks.hpp).
           "CREATE TABLE webhooks ("
           " id TEXT PRIMARY KEY,"
           " tenant TEXT NOT NULL,"
           " url TEXT NOT NULL,"
           " events TEXT NOT NULL,"     // JSON array of event names
           " auth_kind TEXT NOT NULL,"  // none | basic | hmac
           " basic_user TEXT,"
           " secret TEXT,"  // the basic password or the HMAC key; never returned by GET
           " enabled INTEGER NOT NULL DEFAULT 1,"
           " created_at_ms BIGINT NOT NULL,"
           " updated_at_ms BIGINT NOT NULL)",
           "CREATE INDEX webhooks_by_tenant ON webhooks (tenant, created_at_ms, id)",
           "CREATE TABLE webhook_deliveries ("
           " id TEXT PRIMARY KEY,"  // <webhook id>.<event>.<job id>: one per event and job
           " webhook_id TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,"
           " tenant TEXT NOT NULL,"
           " event TEXT NOT NULL,"
           " job_id TEXT NOT NULL,"
           " job_status TEXT NOT NULL,"
           " job_error TEXT,"
           " job_error_code TEXT,"
           " job_created_at_ms BIGINT,"
           " job_started_at_ms BIGINT,"
           " job_finished_at_ms BIGINT,"
           " state TEXT NOT NULL,"  // PENDING | RUNNING | DELIVERED | FAILED
           " attempt INTEGER NOT NULL DEFAULT 0,"
           " max_attempts INTEGER NOT NULL,"
           " next_attempt_at_ms BIGINT NOT NULL,"
           " lease_owner TEXT,"
           " lease_expires_at_ms BIGINT,"
           " last_error TEXT,"
           " created_at_ms BIGINT NOT NULL,"
           " finished_at_ms BIGINT)",
           "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at_ms, id)"
           " WHERE state = 'PENDING'",
           "CREATE INDEX webhook_deliveries_leased ON webhook_deliveries (lease_expires_at_ms)"
           " WHERE state = 'RUNNING'",
           "CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id,"
           " created_at_ms)",
           "CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at_ms)"
           " WHERE finished_at_ms IS NOT NULL",
           "CREATE TABLE webhook_delivery_attempts ("
           " delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,"
           " attempt INTEGER NOT NULL,"
           " worker TEXT NOT NULL,"
           " started_at_ms BIGINT NOT NULL,"
           " finished_at_ms BIGINT,"
           " http_status INTEGER,"
           " error TEXT,"
           " PRIMARY KEY (delivery_id, attempt))",
       }},
      {6,
       {
           // Large artifacts live in ~1 MiB chunks (streamed uploads and downloads); an
           // artifact with a blob_id keeps an empty inline `data`. A blob being uploaded has
           // an `uploads` row until the submission that links it commits; rows left behind
           // by a crashed upload are pruned with their chunks (JobStore::prune_finished).
           "ALTER TABLE artifacts ADD COLUMN blob_id TEXT",
           "CREATE TABLE artifact_chunks ("
           " blob_id TEXT NOT NULL,"
           " seq INTEGER NOT NULL,"
           " offset_bytes BIGINT NOT NULL,"
           " data {BLOB} NOT NULL,"
           " PRIMARY KEY (blob_id, seq))",
           "CREATE TABLE uploads ("
           " id TEXT PRIMARY KEY,"
           " tenant TEXT NOT NULL DEFAULT '',"
           " created_at_ms BIGINT NOT NULL,"
           " updated_at_ms BIGINT NOT NULL)",
           "CREATE INDEX uploads_by_updated ON uploads (updated_at_ms)",
       }},
      {7,
       {
           // Change counters the backends poll to keep read caches honest (credentials, API
           // keys and tenants: "auth"; deleted jobs: "jobs_deleted"). Triggers bump them, so
           // every writer counts, generatorctl's direct writes included.
           "CREATE TABLE change_counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
           "INSERT INTO change_counters (name, value) VALUES ('auth', 0), ('jobs_deleted', 0)",
           "sqlite:CREATE TRIGGER credentials_insert_counted AFTER INSERT ON credentials BEGIN"
           " UPDATE change_counters SET value = value + 1 WHERE name = 'auth'; END",
           "sqlite:CREATE TRIGGER credentials_update_counted AFTER UPDATE ON credentials BEGIN"
           " UPDATE change_counters SET value = value + 1 WHERE name = 'auth'; END",
           "sqlite:CREATE TRIGGER credentials_delete_counted AFTER DELETE ON credentials BEGIN"
           " UPDATE change_counters SET value = value + 1 WHERE name = 'auth'; END",
           "sqlite:CREATE TRIGGER api_keys_insert_counted AFTER INSERT ON api_keys BEGIN"
           " UPDATE change_counters SET value = value + 1 WHERE name = 'auth'; END",
           "sqlite:CREATE TRIGGER api_keys_update_counted AFTER UPDATE ON api_keys BEGIN"
           " UPDATE change_counters SET value = value + 1 WHERE name = 'auth'; END",
           "sqlite:CREATE TRIGGER api_keys_delete_counted AFTER DELETE ON api_keys BEGIN"
           " UPDATE change_counters SET value = value + 1 WHERE name = 'auth'; END",
           "sqlite:CREATE TRIGGER tenants_insert_counted AFTER INSERT ON tenants BEGIN"
           " UPDATE change_counters SET value = value + 1 WHERE name = 'auth'; END",
           "sqlite:CREATE TRIGGER tenants_update_counted AFTER UPDATE ON tenants BEGIN"
           " UPDATE change_counters SET value = value + 1 WHERE name = 'auth'; END",
           "sqlite:CREATE TRIGGER tenants_delete_counted AFTER DELETE ON tenants BEGIN"
           " UPDATE change_counters SET value = value + 1 WHERE name = 'auth'; END",
           "sqlite:CREATE TRIGGER jobs_delete_counted AFTER DELETE ON jobs BEGIN"
           " UPDATE change_counters SET value = value + 1 WHERE name = 'jobs_deleted'; END",
           "postgresql:CREATE FUNCTION generator_count_change() RETURNS trigger LANGUAGE plpgsql"
           " AS $$ BEGIN UPDATE change_counters SET value = value + 1 WHERE name = TG_ARGV[0];"
           " RETURN NULL; END $$",
           "postgresql:CREATE TRIGGER credentials_counted AFTER INSERT OR UPDATE OR DELETE ON"
           " credentials FOR EACH STATEMENT EXECUTE FUNCTION generator_count_change('auth')",
           "postgresql:CREATE TRIGGER api_keys_counted AFTER INSERT OR UPDATE OR DELETE ON"
           " api_keys FOR EACH STATEMENT EXECUTE FUNCTION generator_count_change('auth')",
           "postgresql:CREATE TRIGGER tenants_counted AFTER INSERT OR UPDATE OR DELETE ON"
           " tenants FOR EACH STATEMENT EXECUTE FUNCTION generator_count_change('auth')",
           // Pruning runs often and mostly deletes nothing: count only real deletions.
           "postgresql:CREATE FUNCTION generator_count_jobs_deleted() RETURNS trigger"
           " LANGUAGE plpgsql AS $$ BEGIN IF EXISTS (SELECT 1 FROM gone) THEN"
           " UPDATE change_counters SET value = value + 1 WHERE name = 'jobs_deleted';"
           " END IF; RETURN NULL; END $$",
           "postgresql:CREATE TRIGGER jobs_delete_counted AFTER DELETE ON jobs"
           " REFERENCING OLD TABLE AS gone FOR EACH STATEMENT"
           " EXECUTE FUNCTION generator_count_jobs_deleted()",
       }},
      {8,
       {
           // The queue's hot path writes a job row once per run that ends (job_store.cpp).
           // Without indexes on the columns it changes (status, finished_at_ms) and with room
           // on each page for a second version of its rows, PostgreSQL makes that a HOT
           // update: no index is written. Listing by status walks jobs_by_created or
           // jobs_by_tenant instead; retention walks jobs_by_created.
           "DROP INDEX jobs_by_status",
           "DROP INDEX jobs_finished",
           "postgresql:ALTER TABLE jobs SET (fillfactor = 50)",
       }},
      {9,
       {
           // Every claim wrote an entry here. Expired leases are found by walking the running
           // tasks (tasks_leased, a partial index of RUNNING tasks: as many as the workers
           // hold) instead.
           "DROP INDEX tasks_lease_expiry",
       }},
      {10,
       {
           // PostgreSQL: a task's claim and completion are non-HOT updates (its state is in
           // the partial indexes' predicates), so each writes an entry in every index of
           // tasks. Tasks are found by (job_id, step), their UNIQUE key, never by id alone,
           // so the id's index goes: one index entry less per write. (Ids stay unique: they
           // are UUIDv7.) The attempts' foreign key needed that index; attempts are deleted
           // with their tasks explicitly. SQLite keeps both: it writes only the indexes whose
           // columns change.
           "postgresql:ALTER TABLE task_attempts DROP CONSTRAINT task_attempts_task_id_fkey",
           "postgresql:ALTER TABLE tasks DROP CONSTRAINT tasks_pkey",
       }},
      {11,
       {
           // PostgreSQL compares text with the database's collation: strcoll() through
           // varstr_cmp at every B-tree step, 7-8% of the server's time on the queue's hot
           // path (the claim index, (job_id, step), the jobs' key). Every text column of ours
           // is an id, a key, a name or a value nobody sorts by language, so it compares
           // bytes ("C"), as SQLite does (BINARY): memcmp, and the same order on both. All of
           // them at once, so that a comparison between two columns (jobs.tenant and
           // webhooks.tenant) never mixes collations and can still use an index. The type
           // stays text and the rows stay where they are; only the indexes are rebuilt.
           "postgresql:DO $$ DECLARE r record; BEGIN"
           " FOR r IN SELECT c.oid::regclass AS tab, string_agg(format("
           "'ALTER COLUMN %I TYPE text COLLATE \"C\"', a.attname), ', ') AS alters"
           " FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid"
           " WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'"
           " AND c.relname IN ('jobs', 'tasks', 'task_attempts', 'artifacts', 'artifact_chunks',"
           " 'uploads', 'tenants', 'credentials', 'api_keys', 'config_values', 'server_secrets',"
           " 'change_counters', 'webhooks', 'webhook_deliveries', 'webhook_delivery_attempts')"
           " AND a.attnum > 0 AND NOT a.attisdropped AND a.atttypid = 'text'::regtype"
           " AND a.attcollation <> (SELECT oid FROM pg_collation WHERE collname = 'C'"
           " AND collnamespace = 'pg_catalog'::regnamespace)"
           " GROUP BY c.oid"
           " LOOP EXECUTE format('ALTER TABLE %s %s', r.tab, r.alters); END LOOP; END $$",
       }},
      {12,
       {
           // PostgreSQL: the tasks' foreign key to their job cost a lookup and a row lock on
           // the job (FOR KEY SHARE) per submitted task, and a key comparison in a trigger
           // per claim and per completion. A job's tasks are inserted with it in one
           // statement and deleted before it, explicitly (JobStore::delete_job, prune_finished),
           // as the attempts are since migration 10.
           "postgresql:ALTER TABLE tasks DROP CONSTRAINT tasks_job_id_fkey",
       }},
      {13,
       {
           // A credential's incarnation, carried in its access tokens: deleting a credential
           // and creating another with the same id (or deactivating it) revokes the old
           // tokens for good. Rows and tokens from before have "" and keep matching.
           "ALTER TABLE credentials ADD COLUMN generation TEXT NOT NULL DEFAULT ''",
           "postgresql:ALTER TABLE credentials ALTER COLUMN generation TYPE text COLLATE \"C\"",
       }},
  };
  return list;
}

}  // namespace

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string format_iso_time(std::int64_t ms) {
  std::int64_t seconds = ms / 1000;
  int millis = static_cast<int>(ms % 1000);
  if (millis < 0) {
    millis += 1000;
    seconds -= 1;
  }
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

std::string new_id() {
  // UUIDv7 (RFC 9562): the first 48 bits are the time in ms, the rest random (Poco's random
  // UUID with the version nibble set to 7; the variant bits are the same). Ids made close in
  // time sit close in the primary-key indexes, so a batch of tasks claimed or completed
  // together touches a few index pages, not one random page each.
  std::string id = Poco::UUIDGenerator::defaultGenerator().createRandom().toString();
  static constexpr char kHex[] = "0123456789abcdef";
  auto ms = static_cast<std::uint64_t>(now_ms());
  // "tttttttt-tttt-7rrr-...": 12 hex digits of time around the first dash.
  static constexpr int kTimeDigit[12] = {0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12};
  for (int i = 11; i >= 0; --i, ms >>= 4)
    id[static_cast<std::size_t>(kTimeDigit[i])] = kHex[ms & 15];
  id[14] = '7';
  return id;
}

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

void Database::notify_tasks_in(Poco::Data::Session& session) const {
  if (dialect_ == Dialect::kPostgres) session << "NOTIFY " << kTaskChannel, now;
}

void Database::notify_tasks_after_commit() const {
  if (dialect_ == Dialect::kSqlite) notify_local_listeners(connect_string_);
}

Poco::Data::Session Database::session() {
  return pool_->get();
}

void Database::write_transaction(const std::function<void(Poco::Data::Session&)>& fn) {
  // SQLite has one writer at a time. Threads of this process queue here instead of in
  // SQLite's busy handler, which sleeps in steps of milliseconds while it waits.
  std::unique_lock<std::mutex> writer;
  if (dialect_ == Dialect::kSqlite) writer = std::unique_lock<std::mutex>(write_mutex_);
  try {
    Poco::Data::Session s = session();
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
    // Poco's what() is only the class name; keep the server's words.
    throw Error(ErrorCode::kDatabaseUnavailable, "database error: " + e.displayText());
  }
}

int Database::latest_schema_version() {
  return migrations().back().version;
}

int Database::schema_version() {
  try {
    Poco::Data::Session s = session();
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
    if (tables == 0) return 0;
    int version = 0;
    s << "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", into(version), now;
    return version;
  } catch (const Poco::Exception& e) {
    throw Error(ErrorCode::kDatabaseUnavailable, "database error: " + e.displayText());
  }
}

int Database::migrate() {
  // The bookkeeping table is created under the same lock as the migrations: concurrent
  // "CREATE TABLE IF NOT EXISTS" on PostgreSQL can fail with a duplicate-key error.
  write_transaction([&](Poco::Data::Session& s) {
    if (dialect_ == Dialect::kPostgres) s << "SELECT pg_advisory_xact_lock(727170)", now;
    s << "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
         " applied_at_ms BIGINT NOT NULL)",
        now;
  });
  int applied = 0;
  for (const Migration& m : migrations()) {
    bool ran = false;
    write_transaction([&](Poco::Data::Session& s) {
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
