// Parsing and complete validation of a POST /api/v1/jobs body: nothing is queued unless
// every part of it is valid. Every refusal is a gen::Error naming the offending field.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "gen/core/job_store.hpp"

namespace gen {
class PluginHost;
}

namespace gen::backend {

/// Builds the JobSpec from the JSON body: generators resolved, params validated with
/// defaults filled, inputs decoded. Throws gen::Error (kInvalidJson, kValidationFailed,
/// kUnknownGenerator) with `field` set, e.g. "steps[1].params.template".
JobSpec parse_job_request(std::string_view body, const PluginHost& plugins);

/// Strict RFC 4648 base64 (standard alphabet, padding optional, no whitespace).
/// nullopt when `in` is not valid base64.
std::optional<std::string> decode_base64(std::string_view in);

/// True when `media_type` ("text/plain") is accepted by `pattern` ("*/*", "text/*", exact).
bool media_type_matches(std::string_view pattern, std::string_view media_type);

}  // namespace gen::backend
