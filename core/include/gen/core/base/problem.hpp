// problem+json (RFC 9457) bodies: how both HTTP services (the backend's API, the worker's
// /health and /metrics endpoint) answer an error. The status comes from the one error table
// (errors.hpp); the body is the same everywhere. No HTTP library types: each service puts
// status, content type and body into its own response.
#pragma once

#include <string>
#include <string_view>

#include "gen/core/base/errors.hpp"

namespace gen {

inline constexpr std::string_view kProblemContentType = "application/problem+json";

struct Problem {
  int status = 500;
  std::string body;  ///< the JSON document
};

/// Status from http_status() (an unset code counts as INTERNAL_ERROR) and the body
///   {"type": "https://generator.dev/problems/<code in lowercase>", "title": <status title>,
///    "status", "code", "detail": error.what(), "field"?: error.field() when set}
/// Invalid UTF-8 in the detail (details quote the client's input) is replaced, never thrown.
Problem problem_for(const Error& error);

/// The title of an HTTP status in problem bodies ("Unprocessable Content"); "Error" for a
/// status without one.
std::string_view status_title(int status);

}  // namespace gen
