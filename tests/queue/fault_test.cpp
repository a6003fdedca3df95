// Fault tests of the task table with the real generator-worker: thousands of tasks while
// worker processes are killed with SIGKILL at random, on SQLite and on PostgreSQL (and with
// the PostgreSQL server restarted mid-run). At the end every task is COMPLETED, exactly one
// attempt of each completed, and the side effects the fixture generator recorded agree.
//
// Executions are at-least-once by nature (a process killed after its side effect but before
// its commit ran the task without completing it); completions are exactly-once: the table
// accepts one completion per task, fenced on the attempt, and the stored artifact names it.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>
#include <gtest/gtest.h>

#include "gen/core/queue/job_store.hpp"
#include "gen/core/storage/database.hpp"
#include "storage/session.hpp"
#include "test_database.hpp"

namespace gen {
namespace {

using namespace Poco::Data::Keywords;
using Clock = std::chrono::steady_clock;

constexpr int kTasks = 2000;
// A hang guard, not a timed assertion: far above what a healthy run needs.
constexpr auto kDeadline = std::chrono::minutes(6);

std::string build_dir() {
  const char* dir = std::getenv("GENERATOR_BUILD_DIR");
  return dir ? dir : "";
}

std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent && state != 'Z') out.push_back(static_cast<pid_t>(std::stoi(name)));
  }
  return out;
}

class FaultTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_FALSE(build_dir().empty()) << "GENERATOR_BUILD_DIR is not set";
    tdb_ = std::make_unique<test::TestDatabase>(GetParam() == "sqlite" ? "sqlite" : "postgres");
    db_ = Database::open(tdb_->url(), 4);
    db_->migrate();
    store_ = std::make_unique<JobStore>(*db_);
    std::string tmpl = (std::filesystem::temp_directory_path() / "fault-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    record_path_ = dir_ + "/executions.log";
  }

  void TearDown() override {
    if (worker_ > 0) {
      ::kill(-worker_, SIGKILL);
      ::waitpid(worker_, nullptr, 0);
    }
    if (HasFailure()) {
      std::ifstream in(dir_ + "/worker.log");
      std::stringstream ss;
      ss << in.rdbuf();
      std::string log = ss.str();
      if (log.size() > 20000) log = log.substr(log.size() - 20000);
      std::cerr << "---- worker log (tail) ----\n" << log << "--------\n";
    }
    store_.reset();
    db_.reset();
    tdb_.reset();
    std::filesystem::remove_all(dir_);
  }

  void submit_tasks() {
    std::vector<JobSpec> specs;
    for (int i = 0; i < kTasks; ++i) {
      JobSpec spec;
      nlohmann::json params = {{"path", record_path_}, {"sleep_ms", i % 7}};
      spec.steps.push_back({"fixture.record", params, 25, 60000});
      specs.push_back(std::move(spec));
      if (specs.size() == 500) {
        store_->submit_many(specs);
        specs.clear();
      }
    }
    if (!specs.empty()) store_->submit_many(specs);
  }

  void start_worker() {
    std::map<std::string, std::string> env = {
        {"PATH", "/usr/bin:/bin"},
        {"DATABASE__URL", tdb_->url()},
        {"PLUGINS__PATH", build_dir() + "/tests/fixture-plugins"},
        {"STORAGE__DATA_DIR", dir_},
        {"HOSTING__METRICS_PORT", "0"},
        {"THREADS__DRAMATIQ_PROCESSES", "3"},
        {"THREADS__DRAMATIQ_THREADS", "4"},
        {"WORKER__POLL_INTERVAL_MS", "50"},
        {"WORKER__HEARTBEAT_INTERVAL_MS", "300"},
        {"WORKER__MISSED_HEARTBEATS", "3"},
        {"LOGGING__LEVEL", "warning"},
    };
    std::vector<std::string> env_strings;
    for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
    std::string binary = build_dir() + "/bin/generator-worker";
    std::string log = dir_ + "/worker.log";
    worker_ = ::fork();
    if (worker_ == 0) {
      ::setpgid(0, 0);
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      std::vector<char*> envp;
      for (auto& s : env_strings) envp.push_back(s.data());
      envp.push_back(nullptr);
      char* argv[] = {binary.data(), const_cast<char*>("run"), nullptr};
      ::execve(argv[0], argv, envp.data());
      ::_exit(127);
    }
    ::setpgid(worker_, worker_);
  }

  Poco::Int64 unfinished() {
    Poco::Data::Session s = db_->session();
    Poco::Int64 n = -1;
    s << "SELECT COUNT(*) FROM tasks WHERE state NOT IN ('COMPLETED', 'FAILED', 'CANCELLED')",
        into(n), now;
    return n;
  }

  // Kills a random worker process every 150-450 ms until 1% of the work is left. `mid_run`
  // is called once, when about a third of the tasks are done.
  int run_with_kills(const std::function<void()>& mid_run = {}) {
    std::mt19937 rng(12345);
    int kills = 0;
    bool mid_run_done = !mid_run;
    const auto deadline = Clock::now() + kDeadline;
    for (;;) {
      Poco::Int64 left = -1;
      try {
        left = unfinished();
      } catch (const std::exception&) {
        // The database may be restarting; ask again.
      }
      if (left == 0) break;
      if (Clock::now() > deadline) {
        ADD_FAILURE() << "tasks still unfinished after the deadline: " << left;
        break;
      }
      if (!mid_run_done && left >= 0 && left < kTasks * 2 / 3) {
        mid_run();
        mid_run_done = true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(150 + rng() % 300));
      // The last few tasks run without kills: with nothing else left, every kill lands on
      // them, and their backoff (doubling per attempt) could outlast the deadline (seen: one
      // task killed 9 times in a row, next try 5 minutes away).
      if (left >= 0 && left <= kTasks / 100) continue;
      auto kids = children_of(worker_);
      if (kids.empty()) continue;
      pid_t victim = kids[rng() % kids.size()];
      if (::kill(victim, SIGKILL) == 0) ++kills;
    }
    return kills;
  }

  void check_exactly_once() {
    // The table: every task COMPLETED by its last attempt (the task row's), and every
    // earlier attempt ended otherwise, each with its row: attempts 1 .. n-1, none completed.
    Poco::Data::Session s = db_->session();
    Poco::Int64 completed = 0, tasks = 0;
    s << "SELECT COUNT(*) FROM tasks", into(tasks), now;
    s << "SELECT COUNT(*) FROM tasks WHERE state = 'COMPLETED'", into(completed), now;
    EXPECT_EQ(tasks, kTasks);
    EXPECT_EQ(completed, kTasks);
    std::vector<std::string> bad_history;
    s << "SELECT t.id FROM tasks t WHERE (SELECT COUNT(*) FROM task_attempts a WHERE"
         " a.task_id = t.id AND a.attempt < t.attempt AND a.outcome IN ('RETRY', 'FAILED'))"
         " <> t.attempt - 1 OR EXISTS (SELECT 1 FROM task_attempts a WHERE a.task_id = t.id"
         " AND (a.attempt >= t.attempt OR a.outcome = 'COMPLETED'))",
        into(bad_history), now;
    EXPECT_TRUE(bad_history.empty())
        << bad_history.size() << " tasks whose attempts are not n-1 interrupted + 1 completed";

    // The side effects: every execution appended "<task> <attempt>".
    std::map<std::string, std::set<int>> executed;
    std::size_t lines = 0;
    {
      std::ifstream in(record_path_);
      std::string task;
      int attempt = 0;
      while (in >> task >> attempt) {
        executed[task].insert(attempt);
        ++lines;
      }
    }
    EXPECT_EQ(executed.size(), static_cast<std::size_t>(kTasks)) << "a task never executed";

    // Each stored artifact names the attempt whose completion was accepted: exactly one per
    // task, it executed, and it is the attempt the table says completed.
    std::vector<std::string> task_ids, job_ids;
    std::vector<int> attempts;
    s << "SELECT t.id, t.job_id, t.attempt FROM tasks t", into(task_ids), into(job_ids),
        into(attempts), now;
    int mismatches = 0, missing = 0, reexecuted = 0;
    for (std::size_t i = 0; i < task_ids.size(); ++i) {
      auto artifact = store_->read_artifact(job_ids[i], "record.txt");
      if (!artifact) {
        ++missing;
        continue;
      }
      std::string expected = task_ids[i] + " " + std::to_string(attempts[i]) + "\n";
      if (artifact->data != expected) ++mismatches;
      if (!executed[task_ids[i]].count(attempts[i])) ++mismatches;
      if (executed[task_ids[i]].size() > 1) ++reexecuted;
    }
    EXPECT_EQ(missing, 0);
    EXPECT_EQ(mismatches, 0);
    // Every re-execution is explained by an attempt that did not complete.
    Poco::Int64 interrupted = 0;
    s << "SELECT COUNT(*) FROM task_attempts WHERE outcome <> 'COMPLETED' OR outcome IS NULL",
        into(interrupted), now;
    EXPECT_LE(static_cast<Poco::Int64>(lines) - kTasks, interrupted);
    std::cout << "[ figures  ] " << GetParam() << ": " << kTasks << " tasks, " << lines
              << " executions, " << reexecuted << " tasks re-executed after a kill, " << interrupted
              << " interrupted attempts\n";
  }

  std::unique_ptr<test::TestDatabase> tdb_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<JobStore> store_;
  std::string dir_;
  std::string record_path_;
  pid_t worker_ = -1;
};

// "postgres_restart": the PostgreSQL server also restarts under the running workers, once,
// when a third of the tasks are done; workers reconnect by themselves.
TEST_P(FaultTest, RandomSigkillsLoseNothingAndCompleteEachTaskOnce) {
  std::function<void()> mid_run;
  if (GetParam() == "postgres_restart") {
    ASSERT_EQ(::geteuid(), 0u) << "restarting the test PostgreSQL needs root (CI runs as root)";
    mid_run = [] {
      std::cout << "[ figures  ] restarting PostgreSQL mid-run\n";
      int rc = std::system(
          "ver=$(ls /usr/lib/postgresql | sort -V | tail -1); pg_ctlcluster \"$ver\" main restart");
      EXPECT_EQ(rc, 0) << "pg_ctlcluster restart failed";
    };
  }
  submit_tasks();
  start_worker();
  int kills = run_with_kills(mid_run);
  std::cout << "[ figures  ] " << GetParam() << ": " << kills << " worker processes killed\n";
  EXPECT_GT(kills, 0);
  check_exactly_once();
}

INSTANTIATE_TEST_SUITE_P(Backends, FaultTest,
                         ::testing::Values("sqlite", "postgres", "postgres_restart"),
                         [](const auto& p) { return p.param; });

}  // namespace
}  // namespace gen
