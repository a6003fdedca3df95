// Parsing and complete validation of a POST /api/v1/jobs body: nothing is queued unless
// every part of it is valid. Every refusal is a gen::Error naming the offending field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gen/sdk/json.hpp>
#include <nlohmann/json.hpp>

#include "gen/core/queue/job_store.hpp"

namespace gen {
class PluginHost;
}

namespace gen::backend {

/// Builds the JobSpec from the JSON body: generators resolved, params validated with
/// defaults filled, inputs decoded, `run_after` / `delay_ms` resolved against `now_ms`.
/// Throws gen::Error (kInvalidJson, kValidationFailed, kUnknownGenerator) with `field` set,
/// e.g. "steps[1].params.template".
JobSpec parse_job_request(std::string_view body, const PluginHost& plugins, std::int64_t now_ms,
                          const sdk::JsonLimits& limits = {});

/// One job object of a request; every field name is prefixed with `prefix` ("jobs[3].").
JobSpec parse_job(const nlohmann::json& job, const PluginHost& plugins, const std::string& prefix,
                  std::int64_t now_ms);

/// The body of POST /api/v1/jobs/bulk, {"jobs": [...]}: all valid or an error naming the first
/// bad field ("jobs[3].steps[0].generator"). Idempotency keys must differ within the request.
std::vector<JobSpec> parse_bulk_request(std::string_view body, const PluginHost& plugins,
                                        std::int64_t now_ms, const sdk::JsonLimits& limits = {});
/// The same for a body already parsed.
std::vector<JobSpec> parse_bulk_request(const nlohmann::json& doc, const PluginHost& plugins,
                                        std::int64_t now_ms);

/// Parses a request body as JSON within `limits` (gen::sdk::parse_json: checked while parsing,
/// before the tree grows). Throws gen::Error naming the JSON path in `field`:
///  * kInvalidJson (400) when it is not JSON (syntax, invalid UTF-8);
///  * kValidationFailed (422) when it nests deeper than limits.max_depth, holds more than
///    limits.max_values values, or has a number out of range (1e400, an integer beyond 64 bits).
/// Deep and huge bodies are a limit of this service, not a syntax matter: hence 422, like every
/// other value the API refuses.
nlohmann::json parse_json_body(std::string_view body, const sdk::JsonLimits& limits);

/// An RFC 3339 timestamp ("2030-01-31T08:00:00.5+01:00") as ms since the epoch; nullopt when
/// malformed. A leap second (:60) counts as :59.
std::optional<std::int64_t> parse_rfc3339_ms(std::string_view text);

/// Returns `key` when it is a valid idempotency key (1-255 printable ASCII characters, no
/// spaces); else throws kValidationFailed naming `field`.
std::string check_idempotency_key(const std::string& key, const std::string& field);

}  // namespace gen::backend
