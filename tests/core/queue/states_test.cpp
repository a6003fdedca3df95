// Job and task states and their one spelling (core/include/gen/core/queue/states.hpp).
#include "gen/core/queue/states.hpp"

#include <array>
#include <set>
#include <string>

#include <gtest/gtest.h>

namespace gen {
namespace {

TEST(JobStatus, SpellingsAreTheApis) {
  std::string all;
  for (JobStatus s : kAllJobStatuses) all += std::string(to_string(s)) + " ";
  EXPECT_EQ(all, "QUEUED RUNNING COMPLETED FAILED CANCELLED ");
}

// Every value has its own spelling, and parsing a spelling gives the value back.
template <typename Enum, std::size_t N, typename Parse>
void expect_one_spelling_each(const std::array<Enum, N>& all, Parse parse) {
  std::set<std::string_view> names;
  for (Enum value : all) {
    EXPECT_EQ(parse(to_string(value)), value) << to_string(value);
    names.insert(to_string(value));
  }
  EXPECT_EQ(names.size(), N);
}

TEST(JobStatus, ParseIsTheInverseOfToString) {
  expect_one_spelling_each(kAllJobStatuses, parse_job_status);
}

TEST(JobStatus, UnknownSpellingsAreRefused) {
  for (const char* text : {"", "queued", "Completed", "PENDING", "DONE", " QUEUED", "QUEUED "}) {
    EXPECT_EQ(parse_job_status(text), std::nullopt) << "'" << text << "'";
  }
}

TEST(TaskStatus, SpellingsAreTheApis) {
  std::string all;
  for (TaskStatus s : kAllTaskStatuses) all += std::string(to_string(s)) + " ";
  EXPECT_EQ(all, "PENDING QUEUED RUNNING COMPLETED FAILED CANCELLED ");
  EXPECT_EQ(to_string(TaskStatus::kPending), "PENDING");
}

TEST(TaskStatus, ParseIsTheInverseOfToString) {
  expect_one_spelling_each(kAllTaskStatuses, parse_task_status);
  EXPECT_EQ(parse_task_status("pending"), std::nullopt);
  EXPECT_EQ(parse_task_status("RETRY"), std::nullopt);  // an attempt's outcome, not a state
}

TEST(States, FinalOnesAreCompletedFailedAndCancelled) {
  for (JobStatus s : kAllJobStatuses) {
    const bool final =
        s == JobStatus::kCompleted || s == JobStatus::kFailed || s == JobStatus::kCancelled;
    EXPECT_EQ(is_final(s), final) << to_string(s);
  }
  for (TaskStatus s : kAllTaskStatuses) {
    const bool final =
        s == TaskStatus::kCompleted || s == TaskStatus::kFailed || s == TaskStatus::kCancelled;
    EXPECT_EQ(is_final(s), final) << to_string(s);
  }
}

TEST(States, JobAndTaskShareTheSpellingsTheyHaveInCommon) {
  for (JobStatus s : kAllJobStatuses) {
    const auto task = parse_task_status(to_string(s));
    ASSERT_TRUE(task.has_value()) << to_string(s);
    EXPECT_EQ(is_final(*task), is_final(s)) << to_string(s);
  }
}

}  // namespace
}  // namespace gen
