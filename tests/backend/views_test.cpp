// The API's JSON shapes of jobs and tasks (backend/src/views.cpp).
#include "views.hpp"

#include <gtest/gtest.h>

#include "gen/core/base/errors.hpp"
#include "gen/core/tenancy/config_store.hpp"

namespace gen::backend {
namespace {

using nlohmann::json;

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

// A secret setting's value never leaves config_json, whichever source it came from.
TEST(ConfigJson, ASecretShowsWhetherItIsSetNeverItsValue) {
  const ConfigDefinition* key = ConfigStore::find("GENERATION__LLM_API_KEY");
  ASSERT_NE(key, nullptr);
  EXPECT_TRUE(key->secret);
  const json set = config_json(ConfigValue{key, "sk-secret-value", "tenant"});
  EXPECT_EQ(set.dump().find("sk-secret-value"), std::string::npos) << set.dump();
  EXPECT_TRUE(set["value"].is_null());
  EXPECT_EQ(set["is_set"], true);
  EXPECT_EQ(set["secret"], true);
  EXPECT_EQ(set["source"], "tenant");
  const json unset = config_json(ConfigValue{key, "", "default"});
  EXPECT_EQ(unset["is_set"], false);
  // An ordinary setting shows its value and has no is_set.
  const ConfigDefinition* url = ConfigStore::find("GENERATION__LLM_URL");
  ASSERT_NE(url, nullptr);
  const json shown = config_json(ConfigValue{url, "https://api.openai.com/v1", "system"});
  EXPECT_EQ(shown["value"], "https://api.openai.com/v1");
  EXPECT_FALSE(shown.contains("is_set"));
  // Nor does a refused value echo it.
  try {
    ConfigStore::validate(*key, std::string(5000, 'k'));
    FAIL() << "a 5000-character key accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find("kkkk"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace gen::backend
