#include "gen/core/storage/task_signal.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <thread>

#include <libpq-fe.h>

#include "gen/core/base/log.hpp"
#include "gen/core/storage/database.hpp"
#include "storage/task_notify.hpp"

namespace gen {
namespace {

std::string wake_dir(const std::string& database_path) {
  return database_path + ".wake";
}

bool fill_address(sockaddr_un& addr, const std::string& path) {
  std::memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return false;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return true;
}

class SqliteListener final : public TaskListener {
 public:
  explicit SqliteListener(const std::string& database_path) {
    std::string dir = wake_dir(database_path);
    ::mkdir(dir.c_str(), 0770);
    std::random_device rd;
    path_ = dir + "/" + std::to_string(::getpid()) + "-" + std::to_string(rd() % 100000) + ".sock";
    sockaddr_un addr;
    if (!fill_address(addr, path_)) {
      log::warning("task wake-ups disabled: socket path too long; polling only", {{"path", path_}});
      return;
    }
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    ::unlink(path_.c_str());
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      log::warning("task wake-ups disabled; polling only",
                   {{"path", path_}, {"error", std::strerror(errno)}});
      if (fd_ >= 0) ::close(fd_);
      fd_ = -1;
    }
  }
  ~SqliteListener() override {
    if (fd_ >= 0) {
      ::close(fd_);
      ::unlink(path_.c_str());
    }
  }
  bool wait(std::chrono::milliseconds timeout) override {
    if (fd_ < 0) {
      std::this_thread::sleep_for(timeout);
      return false;
    }
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (r <= 0) return false;
    char buf[64];
    bool got = false;
    while (::recv(fd_, buf, sizeof buf, 0) > 0) got = true;
    return got;
  }
  bool listening() const override { return fd_ >= 0; }

 private:
  std::string path_;
  int fd_ = -1;
};

class PostgresListener final : public TaskListener {
 public:
  explicit PostgresListener(std::string connect_string) : conninfo_(std::move(connect_string)) {
    connect();
  }
  ~PostgresListener() override {
    if (conn_) PQfinish(conn_);
  }
  bool wait(std::chrono::milliseconds timeout) override {
    if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
      auto now = std::chrono::steady_clock::now();
      if (now >= next_attempt_) connect();
      if (!conn_) {
        std::this_thread::sleep_for(timeout);
        return false;
      }
    }
    pollfd p{PQsocket(conn_), POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (r < 0) return false;
    if (r > 0 && !PQconsumeInput(conn_)) {
      log::warning("task notifications lost their connection; polling until it is back",
                   {{"error", PQerrorMessage(conn_)}});
      PQfinish(conn_);
      conn_ = nullptr;
      next_attempt_ = std::chrono::steady_clock::now() + std::chrono::seconds(1);
      return false;
    }
    bool got = false;
    while (PGnotify* n = PQnotifies(conn_)) {
      got = true;
      PQfreemem(n);
    }
    return got;
  }
  bool listening() const override { return conn_ && PQstatus(conn_) == CONNECTION_OK; }

 private:
  void connect() {
    if (conn_) PQfinish(conn_);
    conn_ = PQconnectdb(conninfo_.c_str());
    if (PQstatus(conn_) == CONNECTION_OK) {
      PGresult* res = PQexec(conn_, (std::string("LISTEN ") + kTaskChannel).c_str());
      bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
      PQclear(res);
      if (ok) {
        PQsetnonblocking(conn_, 1);
        return;
      }
    }
    log::warning("cannot LISTEN for task notifications; polling until it can",
                 {{"error", PQerrorMessage(conn_)}});
    PQfinish(conn_);
    conn_ = nullptr;
    next_attempt_ = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  }

  std::string conninfo_;
  PGconn* conn_ = nullptr;
  std::chrono::steady_clock::time_point next_attempt_{};
};

}  // namespace

std::unique_ptr<TaskListener> TaskListener::create(const Database& db) {
  if (db.dialect() == Dialect::kPostgres) {
    return std::make_unique<PostgresListener>(db.connect_string());
  }
  return std::make_unique<SqliteListener>(db.connect_string());
}

void notify_local_listeners(const std::string& database_path) {
  std::string dir = wake_dir(database_path);
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    ::closedir(d);
    return;
  }
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.size() < 6 || name.compare(name.size() - 5, 5, ".sock") != 0) continue;
    std::string path = dir + "/" + name;
    sockaddr_un addr;
    if (!fill_address(addr, path)) continue;
    char byte = 1;
    if (::sendto(fd, &byte, 1, 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 &&
        errno == ECONNREFUSED) {
      ::unlink(path.c_str());  // its process is gone
    }
  }
  ::close(fd);
  ::closedir(d);
}

void notify_tasks_in(const Database& db, DbSession& s) {
  if (db.dialect() == Dialect::kPostgres) s << "NOTIFY " << kTaskChannel, Poco::Data::Keywords::now;
}

void notify_tasks_after_commit(const Database& db) {
  if (db.dialect() == Dialect::kSqlite) notify_local_listeners(db.connect_string());
}

}  // namespace gen
