#include "gen/core/base/problem.hpp"

#include <nlohmann/json.hpp>

#include "gen/core/base/text.hpp"

namespace gen {

std::string_view status_title(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Range Not Satisfiable";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Error";
  }
}

Problem problem_for(const Error& error) {
  using nlohmann::json;
  const ErrorCode code = error.code() == ErrorCode::kUnset ? ErrorCode::kInternal : error.code();
  const int status = http_status(code);
  json body = {{"type", "https://generator.dev/problems/" + ascii_lower(code_name(code))},
               {"title", status_title(status)},
               {"status", status},
               {"code", std::string(code_name(code))},
               {"detail", error.what()}};
  if (!error.field().empty()) body["field"] = error.field();
  return {status, body.dump(-1, ' ', false, json::error_handler_t::replace)};
}

}  // namespace gen
