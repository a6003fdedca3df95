// The database behind the task table and artifact store: SQLite (embedded, default) or
// PostgreSQL, chosen by DATABASE__URL. Owns a session pool and the schema migrations
// (core/src/storage/migrations/, one SQL file each).
//
// SQL is core's business: sessions are of type DbSession, which only core's private
// storage/session.hpp defines, so only core's sources (and its white-box tests) run SQL.
// Everyone else goes through the stores (JobStore, AuthStore, ...) and the functions here.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gen {

enum class Dialect : int { kSqlite = 1, kPostgres = 2 };

/// A pooled connection of this database (a Poco::Data::Session); defined in core's private
/// storage/session.hpp.
class DbSession;

class Database {
 public:
  /// Opens (creating the SQLite file and its folder if needed) with up to `max_sessions`
  /// pooled connections. Throws gen::Error (kDatabaseUnavailable / kInvalidConfiguration).
  static std::unique_ptr<Database> open(const std::string& url, int max_sessions);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  Dialect dialect() const { return dialect_; }
  const std::string& url() const { return url_; }

  /// A pooled session; returned to the pool when the session object is destroyed. Core only.
  DbSession session();

  /// Runs `fn` inside one write transaction (SQLite: BEGIN IMMEDIATE, so the write lock is
  /// taken up front and waits under the busy timeout instead of failing with "database is
  /// locked"; PostgreSQL: BEGIN). Commits when `fn` returns, rolls back when it throws.
  /// A driver error becomes gen::Error kDatabaseUnavailable ("database error: ..."). Core only.
  void write_transaction(const std::function<void(DbSession&)>& fn);
  /// Runs the reads in `fn` on a pooled session; a driver error becomes gen::Error
  /// kDatabaseUnavailable ("database error: ..."), as in write_transaction(). Core only.
  void read(const std::function<void(DbSession&)>& fn);

  /// The change counters the backends poll to keep their read caches honest ("auth",
  /// "jobs_deleted"; migration 7): name -> value. Throws gen::Error kDatabaseUnavailable.
  std::map<std::string, std::int64_t> change_counters();

  /// Applies pending migrations; returns how many ran. Safe to call from several processes.
  int migrate();
  /// Schema version in the database (0 when empty) and the one this build expects.
  int schema_version();
  static int latest_schema_version();

  /// Rewrites '?' placeholders (outside quotes) to PostgreSQL's $1, $2 ... for that dialect;
  /// SQLite takes the text as is. Every statement with parameters goes through it.
  std::string sql(std::string_view text) const;

  /// The driver's connection string: the SQLite file path, or libpq's key=value form.
  const std::string& connect_string() const { return connect_string_; }

  /// PostgreSQL only: runs one statement (autocommit, so atomic by itself; data-modifying CTEs
  /// make several writes one statement) in ONE round trip (libpq PQexecPrepared; each pooled
  /// libpq connection prepares a statement text once), on connections of its own. Poco's
  /// connector prepares, describes, executes and deallocates every statement: four round
  /// trips, and a fresh plan each time. For the queue's hot paths.
  /// Parameters are text ($1, $2 ...; types inferred by the server); so are the values
  /// (NULL: nullopt). Throws gen::Error: kDatabaseUnavailable (retryable) on any failure.
  using TextRow = std::vector<std::optional<std::string>>;
  std::vector<TextRow> pg_exec(const std::string& sql, const std::vector<std::string>& params);

  /// The SQL type for binary columns in this dialect ("BLOB" / "BYTEA").
  const char* blob_type() const { return dialect_ == Dialect::kSqlite ? "BLOB" : "BYTEA"; }

 private:
  Database(Dialect dialect, std::string url, std::string connector, std::string connect_string,
           int max_sessions);
  Dialect dialect_;
  std::string url_;
  std::string connect_string_;
  class Pool;
  std::unique_ptr<Pool> pool_;
  struct PgPool;
  std::unique_ptr<PgPool> pg_pool_;  // pg_exec's connections
  std::mutex write_mutex_;           // SQLite: one write transaction at a time per process
};

}  // namespace gen
