// The states of jobs and tasks, and their one spelling (the REST API's, the database's and the
// webhook payload's: "QUEUED", "RUNNING" ...). Code compares enums; strings are made or read
// only at the edges, with to_string() and parse_*().
//
// Job:  QUEUED -> RUNNING -> COMPLETED | FAILED;  any non-final state -> CANCELLED.
// Task: PENDING (waits for the previous step) -> QUEUED -> RUNNING -> COMPLETED | FAILED,
//       RUNNING -> QUEUED again on a retryable failure or a rescue; CANCELLED with its job.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace gen {

enum class JobStatus { kQueued, kRunning, kCompleted, kFailed, kCancelled };
enum class TaskStatus { kPending, kQueued, kRunning, kCompleted, kFailed, kCancelled };

namespace states_detail {

inline constexpr std::array<std::pair<JobStatus, std::string_view>, 5> kJobStatusNames = {{
    {JobStatus::kQueued, "QUEUED"},
    {JobStatus::kRunning, "RUNNING"},
    {JobStatus::kCompleted, "COMPLETED"},
    {JobStatus::kFailed, "FAILED"},
    {JobStatus::kCancelled, "CANCELLED"},
}};

inline constexpr std::array<std::pair<TaskStatus, std::string_view>, 6> kTaskStatusNames = {{
    {TaskStatus::kPending, "PENDING"},
    {TaskStatus::kQueued, "QUEUED"},
    {TaskStatus::kRunning, "RUNNING"},
    {TaskStatus::kCompleted, "COMPLETED"},
    {TaskStatus::kFailed, "FAILED"},
    {TaskStatus::kCancelled, "CANCELLED"},
}};

template <typename Enum, std::size_t N>
constexpr std::string_view name_of(const std::array<std::pair<Enum, std::string_view>, N>& names,
                                   Enum value) {
  for (const auto& [e, name] : names) {
    if (e == value) return name;
  }
  return {};
}

template <typename Enum, std::size_t N>
constexpr std::optional<Enum> value_of(
    const std::array<std::pair<Enum, std::string_view>, N>& names, std::string_view text) {
  for (const auto& [e, name] : names) {
    if (name == text) return e;
  }
  return std::nullopt;
}

}  // namespace states_detail

/// Every job status, in the order of the state machine.
inline constexpr std::array<JobStatus, 5> kAllJobStatuses = {
    JobStatus::kQueued, JobStatus::kRunning, JobStatus::kCompleted, JobStatus::kFailed,
    JobStatus::kCancelled};
/// Every task status, in the order of the state machine.
inline constexpr std::array<TaskStatus, 6> kAllTaskStatuses = {
    TaskStatus::kPending,   TaskStatus::kQueued, TaskStatus::kRunning,
    TaskStatus::kCompleted, TaskStatus::kFailed, TaskStatus::kCancelled};

/// "QUEUED", "RUNNING", "COMPLETED", "FAILED", "CANCELLED".
constexpr std::string_view to_string(JobStatus status) {
  return states_detail::name_of(states_detail::kJobStatusNames, status);
}
/// "PENDING", "QUEUED", "RUNNING", "COMPLETED", "FAILED", "CANCELLED".
constexpr std::string_view to_string(TaskStatus status) {
  return states_detail::name_of(states_detail::kTaskStatusNames, status);
}

/// The status spelled exactly `text` (case matters); nullopt for anything else.
constexpr std::optional<JobStatus> parse_job_status(std::string_view text) {
  return states_detail::value_of(states_detail::kJobStatusNames, text);
}
constexpr std::optional<TaskStatus> parse_task_status(std::string_view text) {
  return states_detail::value_of(states_detail::kTaskStatusNames, text);
}

/// The status as an SQL string literal ('RUNNING'): statements name states through this, so
/// a state's spelling is written once (here; the migrations' CHECKs and indexes aside).
inline std::string sql_literal(JobStatus status) {
  return "'" + std::string(to_string(status)) + "'";
}
inline std::string sql_literal(TaskStatus status) {
  return "'" + std::string(to_string(status)) + "'";
}

/// COMPLETED, FAILED or CANCELLED: a job or task in this state never changes again.
constexpr bool is_final(JobStatus status) {
  return status == JobStatus::kCompleted || status == JobStatus::kFailed ||
         status == JobStatus::kCancelled;
}
constexpr bool is_final(TaskStatus status) {
  return status == TaskStatus::kCompleted || status == TaskStatus::kFailed ||
         status == TaskStatus::kCancelled;
}

}  // namespace gen
