#include "supervisor.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gen/core/base/errors.hpp"
#include "gen/core/base/log.hpp"
#include "gen/core/queue/job_store.hpp"
#include "gen/core/storage/database.hpp"
#include "http_endpoint.hpp"
#include "worker_metrics.hpp"
#include "worker_process.hpp"

// The supervisor stays single-threaded and never holds a database connection: every
// database chore (migrations, releasing a dead child's tasks) runs in a short-lived child
// process, and the HTTP endpoint (/health, /ready, /metrics) is a child process too. So
// nothing but this one thread exists at any fork(), and no pool, timer thread or
// connection is ever inherited by a worker process. The metrics every process keeps live
// in a shared memory region mapped before the first fork (worker_metrics.hpp).

namespace gen::worker {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kMinRestartDelay{100};
constexpr milliseconds kMaxRestartDelay{10000};
// A child that lived at least this long before dying restarts after kMinRestartDelay again.
constexpr milliseconds kStableRun{10000};
// Pause before restarting the HTTP endpoint process, or retrying to bind its port.
constexpr milliseconds kEndpointRetry{2000};

// Exit codes of the helper processes.
constexpr int kHelperOk = 0;
constexpr int kHelperRetry = 1;
constexpr int kHelperConfigError = 2;

std::string hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

std::string worker_id_of(pid_t pid) {
  return hostname() + ":" + std::to_string(pid);
}

std::string describe_status(int status) {
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  return "status " + std::to_string(status);
}

sigset_t supervisor_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGCHLD);
  return set;
}

// Forks a process running `body`, which must end with _exit. Returns the pid, or -1.
pid_t spawn(const std::function<void()>& body) {
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = ::fork();
  if (pid == 0) {
    body();
    ::_exit(1);
  }
  return pid;
}

// A helper process: a database chore with SIGTERM at its default action and tied to the
// supervisor's life.
[[noreturn]] void helper_main(const std::function<int()>& chore) {
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  sigset_t set = supervisor_signals();
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  int code = kHelperRetry;
  try {
    code = chore();
  } catch (const Error& e) {
    log::error(e.what(), {{"error_code", std::string(code_name(e.code()))}});
    code = is_retryable(e.code()) ? kHelperRetry : kHelperConfigError;
  } catch (const std::exception& e) {
    log::error(e.what());
    code = kHelperRetry;
  }
  std::fflush(stderr);
  ::_exit(code);
}

int migrate_chore(const Settings& settings) {
  auto db = Database::open(settings.database_url, 1);
  int applied = db->migrate();
  log::info("database schema ready",
            {{"migrations_applied", applied}, {"schema_version", db->schema_version()}});
  return kHelperOk;
}

int release_chore(const Settings& settings, const std::string& dead_worker,
                  const std::string& message, MetricsRegion& metrics) {
  milliseconds pause(200);
  for (int attempt = 1;; ++attempt) {
    try {
      auto db = Database::open(settings.database_url, 1);
      JobStore store(*db);
      int released = store.release_worker(dead_worker, ErrorCode::kWorkerDied, message);
      metrics.tasks_released(released);
      log::info("released the dead worker process's tasks for retry",
                {{"worker", dead_worker}, {"tasks", released}});
      return kHelperOk;
    } catch (const std::exception& e) {
      if (attempt >= 8) {
        log::error(
            "cannot release the dead worker process's tasks; they are rescued when "
            "their lease expires",
            {{"worker", dead_worker}, {"error", e.what()}});
        return kHelperRetry;
      }
      log::warning("cannot release the dead worker process's tasks, retrying",
                   {{"worker", dead_worker}, {"error", e.what()}});
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, milliseconds(5000));
  }
}

// A worker process that ended itself for a task's limit (kExitTaskLimit) recorded that task;
// whatever else it held goes back to the queue with its attempt given back. It is dead
// (reaped), so none of its runs can write again: reusing their attempt numbers is safe.
int requeue_chore(const Settings& settings, const std::string& dead_worker,
                  MetricsRegion& metrics) {
  milliseconds pause(200);
  for (int attempt = 1;; ++attempt) {
    try {
      auto db = Database::open(settings.database_url, 1);
      JobStore store(*db);
      int requeued = store.requeue_worker(dead_worker);
      metrics.tasks_requeued(requeued);
      log::info("re-queued the restarted worker process's other tasks (attempts given back)",
                {{"worker", dead_worker}, {"tasks", requeued}});
      return kHelperOk;
    } catch (const std::exception& e) {
      if (attempt >= 8) {
        log::error(
            "cannot re-queue the restarted worker process's tasks; they are rescued when "
            "their lease expires",
            {{"worker", dead_worker}, {"error", e.what()}});
        return kHelperRetry;
      }
      log::warning("cannot re-queue the restarted worker process's tasks, retrying",
                   {{"worker", dead_worker}, {"error", e.what()}});
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, milliseconds(5000));
  }
}

class Supervisor {
 public:
  explicit Supervisor(const Settings& settings) : settings_(settings) {}

  int run() {
    sigset_t set = supervisor_signals();
    sigprocmask(SIG_BLOCK, &set, nullptr);
    ::signal(SIGPIPE, SIG_IGN);

    metrics_ =
        std::make_unique<MetricsRegion>(settings_.worker_processes, settings_.worker_threads);
    if (std::optional<int> code = prepare_database()) return *code;

    if (settings_.metrics_port > 0) start_endpoint();
    slots_.resize(static_cast<std::size_t>(settings_.worker_processes));
    for (std::size_t i = 0; i < slots_.size(); ++i) start_child(i);
    log::info("supervisor started", {{"processes", settings_.worker_processes},
                                     {"threads_per_process", settings_.worker_threads}});
    sd_notifyf(0, "READY=1\nSTATUS=%d worker processes x %d threads", settings_.worker_processes,
               settings_.worker_threads);

    std::uint64_t watchdog_usec = 0;
    const bool watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0;
    for (;;) {
      milliseconds wait(1000);
      if (watchdog) {
        wait = std::min(wait, milliseconds(std::max<std::uint64_t>(watchdog_usec / 2000, 10)));
        sd_notify(0, "WATCHDOG=1");
      }
      for (const Slot& s : slots_) {
        if (s.pid <= 0 && s.restart_at && !draining_) {
          auto until = std::chrono::duration_cast<milliseconds>(*s.restart_at - Clock::now());
          wait = std::clamp(until, milliseconds(0), wait);
        }
      }
      if (endpoint_restart_at_ && !draining_) {
        auto until = std::chrono::duration_cast<milliseconds>(*endpoint_restart_at_ - Clock::now());
        wait = std::clamp(until, milliseconds(0), wait);
      }
      int sig = wait_signal(wait);
      if ((sig == SIGTERM || sig == SIGINT) && !draining_) begin_drain(sig);
      reap();
      if (draining_) {
        if (live_children() == 0 && helpers_.empty() && endpoint_pid_ <= 0) break;
        continue;
      }
      if (endpoint_restart_at_ && Clock::now() >= *endpoint_restart_at_) start_endpoint();
      for (std::size_t i = 0; i < slots_.size(); ++i) {
        if (slots_[i].pid <= 0 && slots_[i].restart_at && Clock::now() >= *slots_[i].restart_at) {
          start_child(i);
        }
      }
    }
    log::info("supervisor stopped");
    return 0;
  }

 private:
  struct Slot {
    pid_t pid = 0;
    std::string id;
    Clock::time_point started{};
    milliseconds restart_delay = kMinRestartDelay;
    std::optional<Clock::time_point> restart_at;
  };

  static int wait_signal(milliseconds timeout) {
    sigset_t set = supervisor_signals();
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    ts.tv_nsec = static_cast<long>((timeout.count() % 1000) * 1000000);
    int sig = sigtimedwait(&set, nullptr, &ts);
    return sig < 0 ? 0 : sig;
  }

  // Runs the migrations in a helper process, retrying while the database is unavailable.
  // Returns an exit code when the supervisor should stop instead of starting workers.
  std::optional<int> prepare_database() {
    milliseconds pause(200);
    for (;;) {
      const Settings& settings = settings_;
      pid_t pid = spawn([&settings] { helper_main([&] { return migrate_chore(settings); }); });
      if (pid < 0) {
        log::error("cannot fork", {{"error", std::strerror(errno)}});
        return 1;
      }
      int status = 0;
      bool stop = false;
      for (;;) {
        int sig = wait_signal(milliseconds(1000));
        if (sig == SIGTERM || sig == SIGINT) {
          stop = true;
          ::kill(pid, SIGTERM);
        }
        rusage usage{};
        pid_t r = ::wait4(pid, &status, WNOHANG, &usage);
        if (r == pid) {
          metrics_->helper_exited(usage);
          break;
        }
      }
      if (stop) return 0;
      if (WIFEXITED(status) && WEXITSTATUS(status) == kHelperOk) return std::nullopt;
      if (WIFEXITED(status) && WEXITSTATUS(status) == kHelperConfigError) {
        std::cerr << "generator-worker: configuration error: cannot use the database at "
                  << settings_.database_url << " (see the log above)\n";
        return 2;
      }
      log::warning("database not ready, retrying the migrations",
                   {{"retry_in_ms", pause.count()}, {"helper", describe_status(status)}});
      if (int sig = wait_signal(pause); sig == SIGTERM || sig == SIGINT) return 0;
      pause = std::min(pause * 2, kMaxRestartDelay);
    }
  }

  void start_child(std::size_t index) {
    Slot& slot = slots_[index];
    slot.restart_at.reset();
    const Settings& settings = settings_;
    pid_t pid = spawn([&settings, this, index] {
      close_endpoint_socket();
      metrics_->attach_child(static_cast<int>(index));
      run_worker_process(settings, worker_id_of(::getpid()));
    });
    if (pid < 0) {
      log::error("cannot fork a worker process", {{"error", std::strerror(errno)}});
      slot.restart_at = Clock::now() + slot.restart_delay;
      slot.restart_delay = std::min(slot.restart_delay * 2, kMaxRestartDelay);
      return;
    }
    slot.pid = pid;
    slot.id = worker_id_of(pid);
    slot.started = Clock::now();
    metrics_->child_started(static_cast<int>(index), pid);
    log::info("worker process forked", {{"worker", slot.id}, {"slot", index}});
  }

  void begin_drain(int sig) {
    draining_ = true;
    sd_notify(0, "STOPPING=1");
    log::info("supervisor stopping; draining worker processes",
              {{"signal", sig}, {"processes", live_children()}});
    for (const Slot& s : slots_) {
      if (s.pid > 0) ::kill(s.pid, SIGTERM);
    }
    if (endpoint_pid_ > 0) ::kill(endpoint_pid_, SIGTERM);
    endpoint_restart_at_.reset();
  }

  int live_children() const {
    return static_cast<int>(
        std::count_if(slots_.begin(), slots_.end(), [](const Slot& s) { return s.pid > 0; }));
  }

  void reap() {
    for (;;) {
      int status = 0;
      rusage usage{};
      pid_t pid = ::wait4(-1, &status, WNOHANG, &usage);
      if (pid <= 0) return;
      if (pid == endpoint_pid_) {
        metrics_->helper_exited(usage);
        on_endpoint_exit(status);
        continue;
      }
      if (auto h = helpers_.find(pid); h != helpers_.end()) {
        metrics_->helper_exited(usage);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != kHelperOk) {
          log::warning("database helper process failed",
                       {{"task", h->second}, {"status", describe_status(status)}});
        }
        helpers_.erase(h);
        continue;
      }
      auto slot =
          std::find_if(slots_.begin(), slots_.end(), [&](const Slot& s) { return s.pid == pid; });
      if (slot != slots_.end()) {
        metrics_->child_exited(static_cast<int>(slot - slots_.begin()), status, usage, !draining_);
        on_child_exit(*slot, status);
      }
    }
  }

  void on_child_exit(Slot& slot, int status) {
    const std::string id = slot.id;
    const auto lived = std::chrono::duration_cast<milliseconds>(Clock::now() - slot.started);
    slot.pid = 0;
    const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    const bool task_limit = WIFEXITED(status) && WEXITSTATUS(status) == kExitTaskLimit;
    if (task_limit) {
      // Not a crash: one task exceeded a hard limit and was recorded (worker_process.cpp).
      log::warning("worker process ended for a task's limit; re-queueing its other tasks",
                   {{"worker", id}, {"uptime_ms", lived.count()}});
      const Settings& settings = settings_;
      MetricsRegion& metrics = *metrics_;
      pid_t helper = spawn([&settings, &metrics, this, id] {
        close_endpoint_socket();
        helper_main([&] { return requeue_chore(settings, id, metrics); });
      });
      if (helper > 0) helpers_[helper] = "re-queue tasks of " + id;
    } else if (clean) {
      log::info("worker process exited", {{"worker", id}, {"uptime_ms", lived.count()}});
    } else {
      const std::string message = "worker process died (" + describe_status(status) + ")";
      nlohmann::json fields = {
          {"worker", id}, {"status", describe_status(status)}, {"uptime_ms", lived.count()}};
      if (WIFSIGNALED(status)) fields["signal_name"] = ::strsignal(WTERMSIG(status));
      log::error(message, fields);
      // Its tasks are retried now rather than when their leases expire.
      const Settings& settings = settings_;
      MetricsRegion& metrics = *metrics_;
      pid_t helper = spawn([&settings, &metrics, this, id, message] {
        close_endpoint_socket();
        helper_main([&] { return release_chore(settings, id, message, metrics); });
      });
      if (helper > 0) helpers_[helper] = "release tasks of " + id;
    }
    if (draining_) return;
    // Exiting cleanly without being asked (someone sent it SIGTERM) also gets a restart.
    slot.restart_delay = lived >= kStableRun ? kMinRestartDelay : slot.restart_delay;
    // SIGKILL comes from outside (the OOM killer, an operator, a chaos test), not from a
    // crash loop of our own: restart at once instead of backing off.
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) slot.restart_delay = kMinRestartDelay;
    // A task's limit is the task's fault, not the process's: restart at once, every time.
    if (task_limit) slot.restart_delay = kMinRestartDelay;
    slot.restart_at = Clock::now() + slot.restart_delay;
    log::info("restarting worker process",
              {{"previous", id}, {"restart_in_ms", slot.restart_delay.count()}});
    if (!task_limit) slot.restart_delay = std::min(slot.restart_delay * 2, kMaxRestartDelay);
  }

  // The HTTP endpoint process (http_endpoint.hpp). The supervisor binds the port itself,
  // once, and keeps the socket for the endpoint's restarts; a port that cannot be bound is
  // logged and retried, never fatal: the worker's tasks do not depend on it.
  void start_endpoint() {
    endpoint_restart_at_.reset();
    if (endpoint_fd_ < 0) {
      endpoint_fd_ = bind_endpoint(settings_.host, settings_.metrics_port);
      if (endpoint_fd_ < 0) {
        log::error("cannot listen for /health, /ready and /metrics; retrying",
                   {{"host", settings_.host},
                    {"port", settings_.metrics_port},
                    {"field", "HOSTING__METRICS_PORT"},
                    {"error", std::strerror(errno)},
                    {"retry_in_ms", kEndpointRetry.count()}});
        endpoint_restart_at_ = Clock::now() + kEndpointRetry;
        return;
      }
    }
    const Settings& settings = settings_;
    const MetricsRegion& metrics = *metrics_;
    const int fd = endpoint_fd_;
    pid_t pid = spawn([&settings, &metrics, fd] { run_endpoint_process(settings, fd, metrics); });
    if (pid < 0) {
      log::error("cannot fork the metrics endpoint process", {{"error", std::strerror(errno)}});
      endpoint_restart_at_ = Clock::now() + kEndpointRetry;
      return;
    }
    endpoint_pid_ = pid;
    metrics_->set_endpoint_pid(pid);
    log::info("metrics endpoint listening",
              {{"host", settings_.host}, {"port", settings_.metrics_port}, {"pid", pid}});
  }

  void on_endpoint_exit(int status) {
    endpoint_pid_ = 0;
    metrics_->set_endpoint_pid(0);
    if (draining_) return;
    log::error("metrics endpoint process ended; restarting it",
               {{"status", describe_status(status)}, {"restart_in_ms", kEndpointRetry.count()}});
    endpoint_restart_at_ = Clock::now() + kEndpointRetry;
  }

  // In a forked worker or helper process: only the endpoint process keeps the socket.
  void close_endpoint_socket() const {
    if (endpoint_fd_ >= 0) ::close(endpoint_fd_);
  }

  const Settings& settings_;
  std::vector<Slot> slots_;
  std::map<pid_t, std::string> helpers_;
  bool draining_ = false;
  std::unique_ptr<MetricsRegion> metrics_;
  int endpoint_fd_ = -1;
  pid_t endpoint_pid_ = 0;
  std::optional<Clock::time_point> endpoint_restart_at_;
};

}  // namespace

int run_supervisor(const Settings& settings) {
  return Supervisor(settings).run();
}

int run_migrations(const Settings& settings) {
  try {
    auto db = Database::open(settings.database_url, 1);
    int before = db->schema_version();
    int applied = db->migrate();
    std::cout << "generator-worker: applied " << applied << " migration(s); schema version "
              << before << " -> " << db->schema_version() << "\n";
    return 0;
  } catch (const Error& e) {
    std::cerr << "generator-worker: " << (is_retryable(e.code()) ? "" : "configuration error: ")
              << e.what() << "\n";
    return is_retryable(e.code()) ? 1 : 2;
  } catch (const std::exception& e) {
    std::cerr << "generator-worker: migration failed: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace gen::worker
