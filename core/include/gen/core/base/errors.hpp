// The one error-code table of Generator. Every error a client or operator can see carries
// one of these codes. The REST edge maps a code to its HTTP status with `http_status()`;
// the worker maps it to retry-or-fail with `is_retryable()`. Nowhere else decides either.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace gen {

// X(enum name, stable code string, HTTP status, retryable when a task hits it)
// A time limit or memory ceiling is a property of the input far more often than bad luck, so
// TIMEOUT and OUT_OF_MEMORY end the task at once; a generator whose manifest declares
// `retry_on_timeout` gets its timeouts retried (gen::GeneratorLimits, plugin_host.hpp).
#define GEN_ERROR_CODES(X)                                           \
  X(kBadRequest, "BAD_REQUEST", 400, false)                          \
  X(kInvalidJson, "INVALID_JSON", 400, false)                        \
  X(kValidationFailed, "VALIDATION_FAILED", 422, false)              \
  X(kUnknownGenerator, "UNKNOWN_GENERATOR", 422, false)              \
  X(kNotFound, "NOT_FOUND", 404, false)                              \
  X(kMethodNotAllowed, "METHOD_NOT_ALLOWED", 405, false)             \
  X(kConflict, "CONFLICT", 409, false)                               \
  X(kPayloadTooLarge, "PAYLOAD_TOO_LARGE", 413, false)               \
  X(kUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", 415, false)     \
  X(kInvalidConfiguration, "INVALID_CONFIGURATION", 500, false)      \
  X(kInternal, "INTERNAL_ERROR", 500, true)                          \
  X(kDatabaseUnavailable, "DATABASE_UNAVAILABLE", 503, true)         \
  X(kNotReady, "NOT_READY", 503, true)                               \
  X(kGeneratorFailed, "GENERATOR_FAILED", 500, true)                 \
  X(kGeneratorRejectedInput, "GENERATOR_REJECTED_INPUT", 422, false) \
  X(kGeneratorUnavailable, "GENERATOR_UNAVAILABLE", 503, true)       \
  X(kTimeout, "TIMEOUT", 504, false)                                 \
  X(kCancelled, "CANCELLED", 409, false)                             \
  X(kWorkerDied, "WORKER_DIED", 500, true)                           \
  X(kUnauthorized, "UNAUTHORIZED", 401, false)                       \
  X(kForbidden, "FORBIDDEN", 403, false)                             \
  X(kTooManyRequests, "TOO_MANY_REQUESTS", 429, true)                \
  X(kRangeNotSatisfiable, "RANGE_NOT_SATISFIABLE", 416, false)       \
  X(kOutOfMemory, "OUT_OF_MEMORY", 500, false)

/// Zero is never a valid code.
enum class ErrorCode : int {
#define GEN_X(name, str, status, retry) name,
  kUnset = 0,
  GEN_ERROR_CODES(GEN_X)
#undef GEN_X
};

/// The stable string ("VALIDATION_FAILED") used in problem+json bodies and task errors.
std::string_view code_name(ErrorCode code);
/// The HTTP status for a code: the single place that decides it.
int http_status(ErrorCode code);
/// Whether a task that failed with this code is worth another attempt.
bool is_retryable(ErrorCode code);

/// The exception type for configuration, construction and deep call stacks. `field` names
/// the offending input (a JSON pointer-ish path such as "steps[0].params.template", or an
/// environment variable name) when there is one.
class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, std::string message, std::string field = {})
      : std::runtime_error(std::move(message)), code_(code), field_(std::move(field)) {}
  ErrorCode code() const { return code_; }
  const std::string& field() const { return field_; }

 private:
  ErrorCode code_;
  std::string field_;
};

}  // namespace gen
