#include "views.hpp"

#include <algorithm>
#include <ctime>

#include "gen/backend/http.hpp"
#include "gen/core/base/clock.hpp"
#include "gen/core/queue/states.hpp"
#include "gen/core/storage/database.hpp"

namespace gen::backend {

using nlohmann::json;

json iso_time(std::optional<std::int64_t> ms) {
  return ms ? json(format_iso_time(*ms)) : json(nullptr);
}

json error_json(const std::string& code, const std::string& message) {
  if (code.empty() && message.empty()) return nullptr;
  return {{"code", code.empty() ? std::string("INTERNAL_ERROR") : code}, {"message", message}};
}

std::string job_url(const std::string& job_id) {
  return "/api/v1/jobs/" + percent_encode(job_id);
}

std::string artifact_url(const std::string& job_id, const std::string& name) {
  return job_url(job_id) + "/artifacts/" + percent_encode(name);
}

json artifact_json(const std::string& job_id, const ArtifactMeta& a) {
  return {{"name", a.name},
          {"media_type", a.media_type},
          {"size_bytes", a.size_bytes},
          {"sha256", a.sha256},
          {"step", a.step},
          {"created_at", iso_time(a.created_at_ms)},
          {"url", artifact_url(job_id, a.name)}};
}

namespace {

/// A task's progress in [0, 1]; a completed task counts 1 whatever it last reported.
double task_progress(const TaskView& t) {
  return parse_task_status(t.state) == TaskStatus::kCompleted ? 1.0
                                                              : std::clamp(t.progress, 0.0, 1.0);
}

}  // namespace

double job_progress(const JobView& job) {
  if (job.tasks.empty()) return parse_job_status(job.status) == JobStatus::kCompleted ? 1.0 : 0.0;
  double sum = 0;
  for (const TaskView& t : job.tasks) sum += task_progress(t);
  return sum / static_cast<double>(job.tasks.size());
}

namespace {

json attempt_json(const AttemptView& a) {
  return {{"attempt", a.attempt},
          {"worker", a.worker},
          {"started_at", iso_time(a.started_at_ms)},
          {"finished_at", iso_time(a.finished_at_ms)},
          {"outcome", a.outcome.empty() ? json(nullptr) : json(a.outcome)},
          {"error", error_json(a.error_code, a.error)}};
}

json task_json(const TaskView& t) {
  json attempts = json::array();
  for (const AttemptView& a : t.attempts) attempts.push_back(attempt_json(a));
  return {{"id", t.id},
          {"step", t.step},
          {"generator", t.generator},
          {"state", t.state},
          {"attempt", t.attempt},
          {"max_attempts", t.max_attempts},
          {"progress", task_progress(t)},
          {"error", error_json(t.error_code, t.error)},
          {"created_at", iso_time(t.created_at_ms)},
          {"queued_at", iso_time(t.queued_at_ms)},
          {"started_at", iso_time(t.started_at_ms)},
          {"finished_at", iso_time(t.finished_at_ms)},
          {"attempts", std::move(attempts)}};
}

}  // namespace

json job_summary_json(const JobView& job) {
  return {{"id", job.id},
          {"type", job.type},
          {"status", job.status},
          {"priority", job.priority},
          {"step_count", job.step_count},
          {"created_at", iso_time(job.created_at_ms)},
          {"updated_at", iso_time(job.updated_at_ms)},
          {"started_at", iso_time(job.started_at_ms)},
          {"finished_at", iso_time(job.finished_at_ms)},
          {"error", error_json(job.error_code, job.error)},
          {"url", job_url(job.id)}};
}

json job_json(const JobView& job) {
  json out = job_summary_json(job);
  out["progress"] = job_progress(job);
  json tasks = json::array();
  for (const TaskView& t : job.tasks) tasks.push_back(task_json(t));
  out["tasks"] = std::move(tasks);
  json artifacts = json::array();
  for (const ArtifactMeta& a : job.artifacts) artifacts.push_back(artifact_json(job.id, a));
  out["artifacts"] = std::move(artifacts);
  return out;
}

json plugin_json(const PluginRecord& p) {
  return {{"path", p.path},
          {"name", p.name},
          {"version", p.version},
          {"description", p.description},
          {"state", std::string(to_string(p.state))},
          {"error", p.error.empty() ? json(nullptr) : json(p.error)},
          {"generators", p.generators}};
}

json credential_json(const Credential& c) {
  return {{"id", c.id},
          {"is_active", c.is_active},
          {"is_root", c.is_root},
          {"scopes", c.scopes},
          {"tenants", c.tenants.empty() ? json::object() : json(c.tenants)},
          {"created_at", iso_time(c.created_at_ms)},
          {"updated_at", iso_time(c.updated_at_ms)}};
}

json tenant_json(const Tenant& t) {
  return {{"id", t.id},
          {"enabled", t.enabled},
          {"created_at", iso_time(t.created_at_ms)},
          {"updated_at", iso_time(t.updated_at_ms)}};
}

json config_json(const ConfigValue& v) {
  const ConfigDefinition& d = *v.definition;
  json out = {{"name", d.name},
              {"type", d.type},
              {"value", v.value},
              {"source", v.source},
              {"default", d.default_value},
              {"description", d.description}};
  if (d.type == "integer") {
    out["minimum"] = d.min;
    out["maximum"] = d.max;
  }
  if (d.type == "enum") out["allowed"] = d.allowed;
  if (d.secret) {
    // A credential never leaves the store: `value` is null, `is_set` says whether it resolves
    // to a non-empty string (at whichever `source`).
    const bool is_set = v.value.is_string() && !v.value.get_ref<const std::string&>().empty();
    out["value"] = nullptr;
    out["default"] = nullptr;
    out["secret"] = true;
    out["is_set"] = is_set;
  }
  return out;
}

}  // namespace gen::backend
