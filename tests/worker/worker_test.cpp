// Process-level tests of generator-worker: the real binary against a real SQLite file, with
// jobs submitted through the JobStore and the fixture plugins (fixture.echo, .sleep, .crash,
// .record). Waits are bounded by a generous deadline; no test asserts on durations.
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "gen/core/queue/job_store.hpp"
#include "gen/core/storage/database.hpp"

namespace gen {
namespace {

constexpr auto kDeadline = std::chrono::seconds(60);

std::string build_dir() {
  const char* dir = std::getenv("GENERATOR_BUILD_DIR");
  return dir ? dir : "";
}

class WorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(build_dir().empty()) << "GENERATOR_BUILD_DIR is not set";
    binary_ = build_dir() + "/bin/generator-worker";
    ASSERT_TRUE(std::filesystem::exists(binary_)) << binary_;
    ASSERT_TRUE(std::filesystem::exists(build_dir() + "/tests/fixture-plugins/fixture_ok.so"));
    std::string tmpl = (std::filesystem::temp_directory_path() / "worker-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    url_ = "sqlite://" + dir_ + "/store.db";
    db_ = Database::open(url_, 4);
    store_ = std::make_unique<JobStore>(*db_);
  }

  void TearDown() override {
    if (pid_ > 0) {
      ::kill(-pid_, SIGKILL);  // the worker's whole process group
      ::waitpid(pid_, nullptr, 0);
    }
    if (HasFailure()) std::cerr << "---- worker log ----\n" << worker_log() << "--------\n";
    store_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Starts `generator-worker run` in its own process group with a clean Generator
  // environment: these settings over fast test defaults.
  void start_worker(std::map<std::string, std::string> settings = {}) {
    std::map<std::string, std::string> env = {
        {"DATABASE__URL", url_},
        {"PLUGINS__PATH", build_dir() + "/tests/fixture-plugins"},
        {"STORAGE__DATA_DIR", dir_},
        {"THREADS__DRAMATIQ_PROCESSES", "1"},
        {"THREADS__DRAMATIQ_THREADS", "1"},
        {"WORKER__POLL_INTERVAL_MS", "20"},
        {"WORKER__HEARTBEAT_INTERVAL_MS", "200"},
        {"WORKER__DRAIN_TIMEOUT_S", "30"},
        {"LOGGING__LEVEL", "debug"},
    };
    for (auto& [k, v] : settings) env[k] = v;
    pid_ = launch({"run"}, env);
    ASSERT_TRUE(eventually([&] {
      return db_->schema_version() == Database::latest_schema_version();
    })) << "the supervisor migrates the database before anything else";
  }

  pid_t launch(const std::vector<std::string>& args,
               const std::map<std::string, std::string>& env) {
    std::vector<std::string> env_strings = {"PATH=/usr/bin:/bin"};
    for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
    std::vector<std::string> argv_strings = {binary_};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv, envp;
    for (auto& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    const std::string log = dir_ + "/worker.log";
    pid_t pid = ::fork();
    if (pid == 0) {
      ::setpgid(0, 0);
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    if (pid > 0) ::setpgid(pid, pid);
    return pid;
  }

  // Sends `sig` to the supervisor and returns its wait status.
  int stop_worker(int sig = SIGTERM) {
    ::kill(pid_, sig);
    int status = wait_exit(pid_);
    pid_ = 0;
    return status;
  }

  int wait_exit(pid_t pid) {
    const auto deadline = std::chrono::steady_clock::now() + kDeadline;
    int status = 0;
    while (::waitpid(pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "process " << pid << " did not exit";
        ::kill(-pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        return -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return status;
  }

  bool eventually(const std::function<bool()>& condition) {
    const auto deadline = std::chrono::steady_clock::now() + kDeadline;
    while (std::chrono::steady_clock::now() < deadline) {
      if (condition()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  bool job_reaches(const std::string& id, const std::string& status) {
    return eventually([&] { return store_->get_job(id)->status == status; });
  }
  bool task_is_running(const std::string& id) {
    return eventually([&] { return store_->get_job(id)->tasks.at(0).state == "RUNNING"; });
  }

  std::string submit(const std::string& generator, nlohmann::json params, int max_attempts = 3,
                     std::vector<InputFile> inputs = {}) {
    JobSpec spec;
    spec.steps.push_back({generator, std::move(params), max_attempts, 600000});
    spec.inputs = std::move(inputs);
    return store_->submit(spec);
  }

  std::string worker_log() const {
    std::ifstream in(dir_ + "/worker.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::string binary_, dir_, url_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<JobStore> store_;
  pid_t pid_ = 0;
};

TEST_F(WorkerTest, ProcessesAndThreadsRunEveryTaskExactlyOnce) {
  start_worker({{"THREADS__DRAMATIQ_PROCESSES", "2"}, {"THREADS__DRAMATIQ_THREADS", "3"}});
  const std::string record = dir_ + "/record.txt";
  std::vector<std::string> jobs;
  for (int i = 0; i < 16; ++i) {
    JobSpec spec;
    spec.steps.push_back({"fixture.record", {{"path", record}}, 3, 600000});
    spec.steps.push_back({"fixture.echo", {{"message", "job " + std::to_string(i)}}, 3, 600000});
    jobs.push_back(store_->submit(spec));
  }
  for (const auto& id : jobs) ASSERT_TRUE(job_reaches(id, "COMPLETED")) << id;

  std::set<std::string> workers;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    auto params = store_->read_artifact(jobs[i], "params.json");
    ASSERT_TRUE(params);
    EXPECT_EQ(nlohmann::json::parse(params->data).at("message"), "job " + std::to_string(i));
    auto job = store_->get_job(jobs[i]);
    for (const auto& t : job->tasks) {
      ASSERT_EQ(t.attempts.size(), 1u);
      workers.insert(t.attempts[0].worker);
    }
  }
  std::ifstream in(record);
  std::string task_id;
  int attempt = 0;
  std::set<std::string> recorded;
  int lines = 0;
  while (in >> task_id >> attempt) {
    ++lines;
    EXPECT_EQ(attempt, 1);
    recorded.insert(task_id);
  }
  EXPECT_EQ(lines, 16) << "every record task ran once";
  EXPECT_EQ(recorded.size(), 16u);
  for (const auto& w : workers) EXPECT_NE(w.find(':'), std::string::npos) << "<host>:<pid>: " << w;

  int status = stop_worker();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_F(WorkerTest, CrashedProcessReleasesItsTaskAndIsReplaced) {
  start_worker();
  std::string crash = submit("fixture.crash", nlohmann::json::object(), 2);
  ASSERT_TRUE(job_reaches(crash, "FAILED"));
  auto task = store_->get_job(crash)->tasks.at(0);
  EXPECT_EQ(task.error, "worker process died (signal 11) while running fixture.crash");
  EXPECT_EQ(task.error_code, "WORKER_DIED");
  ASSERT_EQ(task.attempts.size(), 2u);
  // Released by the supervisor, not rescued after a lease expiry.
  EXPECT_EQ(task.attempts[0].error, task.error);
  EXPECT_NE(task.attempts[0].worker, task.attempts[1].worker) << "a new process ran attempt 2";

  std::string echo = submit("fixture.echo", nlohmann::json::object());
  ASSERT_TRUE(job_reaches(echo, "COMPLETED")) << "the replacement process takes new work";
  int status = stop_worker();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_F(WorkerTest, AbortIsReportedWithItsSignal) {
  start_worker();
  std::string crash = submit("fixture.crash", {{"signal", "SIGABRT"}}, 1);
  ASSERT_TRUE(job_reaches(crash, "FAILED"));
  EXPECT_EQ(store_->get_job(crash)->tasks.at(0).error,
            "worker process died (signal 6) while running fixture.crash");
}

TEST_F(WorkerTest, SigtermLetsTheRunningTaskFinishThenExitsZero) {
  start_worker();
  std::string id = submit("fixture.sleep", {{"ms", 1500}});
  ASSERT_TRUE(task_is_running(id));
  int status = stop_worker(SIGTERM);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  auto job = store_->get_job(id);
  EXPECT_EQ(job->status, "COMPLETED") << "drained before exiting";
  ASSERT_EQ(job->tasks.at(0).attempts.size(), 1u);
  EXPECT_EQ(store_->read_artifact(id, "slept.txt")->data, "1500");
}

TEST_F(WorkerTest, DrainTimeoutReleasesTheUnfinishedTaskForRetry) {
  start_worker({{"WORKER__DRAIN_TIMEOUT_S", "0"}});
  std::string id = submit("fixture.sleep", {{"ms", 600000}});
  ASSERT_TRUE(task_is_running(id));
  int status = stop_worker(SIGTERM);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  auto task = store_->get_job(id)->tasks.at(0);
  EXPECT_EQ(task.state, "QUEUED") << "another worker picks it up";
  ASSERT_EQ(task.attempts.size(), 1u);
  EXPECT_EQ(task.attempts[0].error,
            "worker stopped before the task finished (drain timeout) while running fixture.sleep");
  EXPECT_EQ(task.attempts[0].error_code, "WORKER_DIED");
}

TEST_F(WorkerTest, CancellingAJobStopsItsRunAndFreesTheThread) {
  start_worker();  // one process, one thread
  std::string sleeper = submit("fixture.sleep", {{"ms", 600000}});
  ASSERT_TRUE(task_is_running(sleeper));
  ASSERT_TRUE(store_->cancel_job(sleeper));
  std::string echo = submit("fixture.echo", nlohmann::json::object());
  ASSERT_TRUE(job_reaches(echo, "COMPLETED")) << "the only thread was freed by the cancel";
  EXPECT_EQ(store_->get_job(sleeper)->status, "CANCELLED");
}

TEST_F(WorkerTest, ConfigurationErrorExitsWithStatusTwo) {
  pid_t pid = launch({"run"}, {{"DATABASE__URL", url_}, {"THREADS__DRAMATIQ_PROCESSES", "0"}});
  int status = wait_exit(pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
  EXPECT_NE(worker_log().find("generator-worker: configuration error: THREADS__DRAMATIQ_PROCESSES"),
            std::string::npos)
      << worker_log();
}

TEST_F(WorkerTest, MigrateCommandCreatesTheSchema) {
  pid_t pid = launch({"migrate"}, {{"DATABASE__URL", url_}});
  int status = wait_exit(pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(db_->schema_version(), Database::latest_schema_version());
}

}  // namespace
}  // namespace gen
