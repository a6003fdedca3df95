// The API's JSON shapes of jobs and tasks (backend/src/views.cpp).
#include "views.hpp"

#include <gtest/gtest.h>

namespace gen::backend {
namespace {

TaskView task(const std::string& state, double progress) {
  TaskView t;
  t.id = "t-" + state;
  t.state = state;
  t.progress = progress;
  return t;
}

TEST(JobProgress, WithoutTasksOnlyACompletedJobIsDone) {
  JobView job;
  job.status = "COMPLETED";
  EXPECT_EQ(job_progress(job), 1.0);
  for (const char* status : {"QUEUED", "RUNNING", "FAILED", "CANCELLED"}) {
    job.status = status;
    EXPECT_EQ(job_progress(job), 0.0) << status;
  }
}

TEST(JobProgress, IsTheMeanOverTasksACompletedOneCountingOne) {
  JobView job;
  job.status = "RUNNING";
  job.tasks = {task("COMPLETED", 0.2), task("RUNNING", 0.5), task("PENDING", 0)};
  EXPECT_DOUBLE_EQ(job_progress(job), 0.5);
}

TEST(JobProgress, ReportedProgressIsClampedToZeroToOne) {
  JobView job;
  job.status = "RUNNING";
  job.tasks = {task("RUNNING", 7.0), task("RUNNING", -3.0)};
  EXPECT_DOUBLE_EQ(job_progress(job), 0.5);
}

TEST(JobJson, TasksShowTheirStateAndProgress) {
  JobView job;
  job.id = "j1";
  job.status = "RUNNING";
  job.tasks = {task("COMPLETED", 0.1), task("RUNNING", 0.25)};
  const nlohmann::json out = job_json(job);
  EXPECT_EQ(out["status"], "RUNNING");
  ASSERT_EQ(out["tasks"].size(), 2u);
  EXPECT_EQ(out["tasks"][0]["state"], "COMPLETED");
  EXPECT_EQ(out["tasks"][0]["progress"], 1.0);
  EXPECT_EQ(out["tasks"][1]["state"], "RUNNING");
  EXPECT_EQ(out["tasks"][1]["progress"], 0.25);
  EXPECT_DOUBLE_EQ(out["progress"].get<double>(), 0.625);
  EXPECT_EQ(out["url"], "/api/v1/jobs/j1");
}

}  // namespace
}  // namespace gen::backend
