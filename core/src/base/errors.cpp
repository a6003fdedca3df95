#include "gen/core/base/errors.hpp"

namespace gen {

std::string_view code_name(ErrorCode code) {
  switch (code) {
#define GEN_X(name, str, status, retry) \
  case ErrorCode::name:                 \
    return str;
    GEN_ERROR_CODES(GEN_X)
#undef GEN_X
    case ErrorCode::kUnset:
      break;
  }
  return "INTERNAL_ERROR";
}

int http_status(ErrorCode code) {
  switch (code) {
#define GEN_X(name, str, status, retry) \
  case ErrorCode::name:                 \
    return status;
    GEN_ERROR_CODES(GEN_X)
#undef GEN_X
    case ErrorCode::kUnset:
      break;
  }
  return 500;
}

bool is_retryable(ErrorCode code) {
  switch (code) {
#define GEN_X(name, str, status, retry) \
  case ErrorCode::name:                 \
    return retry;
    GEN_ERROR_CODES(GEN_X)
#undef GEN_X
    case ErrorCode::kUnset:
      break;
  }
  return false;
}

}  // namespace gen
