// JSON shapes of the REST API v1 (docs/api.md), built from the job store's views.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "gen/core/plugins/plugin_host.hpp"
#include "gen/core/queue/job_store.hpp"
#include "gen/core/tenancy/auth.hpp"
#include "gen/core/tenancy/config_store.hpp"
#include "gen/core/tenancy/tenants.hpp"

namespace gen::backend {

/// "2024-05-01T12:00:00.123Z"; null when absent.
nlohmann::json iso_time(std::optional<std::int64_t> ms);
/// null when there is no error, else {"code","message"}.
nlohmann::json error_json(const std::string& code, const std::string& message);

/// The job with its tasks and artifacts (as returned by JobStore::get_job).
nlohmann::json job_json(const JobView& job);
/// The job's summary as listed by GET /api/v1/jobs (no tasks, artifacts or progress).
nlohmann::json job_summary_json(const JobView& job);
nlohmann::json artifact_json(const std::string& job_id, const ArtifactMeta& artifact);
nlohmann::json plugin_json(const PluginRecord& plugin);

/// A credential without secrets: {id, is_active, is_root, scopes, tenants, created_at, updated_at}.
nlohmann::json credential_json(const Credential& credential);
/// {id, enabled, created_at, updated_at}.
nlohmann::json tenant_json(const Tenant& tenant);
/// {name, type, value, source, default, description, allowed?, minimum?, maximum?}.
nlohmann::json config_json(const ConfigValue& value);

/// The overall progress in [0, 1]: the mean over tasks, a completed task counting 1.
double job_progress(const JobView& job);

/// The URL path of a job and of one of its artifacts.
std::string job_url(const std::string& job_id);
std::string artifact_url(const std::string& job_id, const std::string& name);

}  // namespace gen::backend
