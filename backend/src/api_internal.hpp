// Private to the API's files (api.cpp, api_auth.cpp, api_jobs.cpp, api_artifacts.cpp,
// api_tenants.cpp, webhooks_api.cpp): the small helpers every area's handlers share, defined
// in api.cpp. Not part of gen::backend's interface.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include <gen/sdk/json.hpp>
#include "gen/backend/http.hpp"
#include "gen/core/base/errors.hpp"
#include "gen/core/tenancy/scopes.hpp"

namespace gen::backend {

/// A route's access in the dispatch table (RouteInfo): `{method, pattern, kNoScope}` takes any
/// credential, `{method, pattern, kNoScope, kPublic}` none (login, /health, /ready, /metrics).
inline constexpr std::optional<Scope> kNoScope = std::nullopt;
inline constexpr bool kPublic = true;

/// `body` serialized as application/json with `status`.
Response json_response(int status, const nlohmann::json& body);
/// 204, no body and no Content-Type.
Response no_content();

/// The request's JSON object body: 415 unless application/json, 400/422 when it does not
/// parse within `limits` or is not an object.
nlohmann::json body_object(const Request& request, const sdk::JsonLimits& limits);
/// 422 naming the first key of `doc` not in `known` (as `prefix` + key: "auth.user").
void only_keys(const nlohmann::json& doc, std::initializer_list<std::string_view> known,
               const std::string& prefix = "");
/// `doc[name]` when it is a boolean, `fallback` when absent; 422 otherwise.
bool bool_field(const nlohmann::json& doc, const std::string& name, bool fallback);

/// The 404 for a job that does not exist or belongs to another tenant.
Error not_found_job(const std::string& id);

}  // namespace gen::backend
