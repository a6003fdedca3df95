// Retries a final write (a task's completion or failure) through a database outage: a
// result is only lost when the database stays away for longer than kFinalWriteBudget. Used
// by the executor's own writes and by the completion batcher's committer.
#pragma once

#include <algorithm>
#include <chrono>
#include <exception>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "gen/core/base/errors.hpp"
#include "gen/core/base/log.hpp"

namespace gen {

inline constexpr auto kFinalWriteBudget = std::chrono::seconds(60);

/// Runs `fn` until it returns; a retryable error is retried with back-off (100 ms doubling
/// to 5 s) for up to kFinalWriteBudget, anything else gives up at once. Logs as "cannot
/// <what>". True when `fn` succeeded.
template <typename Fn>
bool write_with_retry(const char* what, const nlohmann::json& log_fields, Fn&& fn) {
  using Clock = std::chrono::steady_clock;
  auto delay = std::chrono::milliseconds(100);
  const Clock::time_point give_up = Clock::now() + kFinalWriteBudget;
  for (;;) {
    std::string error;
    try {
      fn();
      return true;
    } catch (const Error& e) {
      if (!is_retryable(e.code())) {
        nlohmann::json fields = log_fields;
        fields["error"] = e.what();
        fields["error_code"] = std::string(code_name(e.code()));
        log::error(std::string("cannot ") + what, fields);
        return false;
      }
      error = e.what();
    } catch (const std::exception& e) {
      error = e.what();
    } catch (...) {
      error = "unknown exception";
    }
    nlohmann::json fields = log_fields;
    fields["error"] = error;
    if (Clock::now() + delay > give_up) {
      log::error(
          std::string("giving up: cannot ") + what + "; the task is retried once its lease expires",
          fields);
      return false;
    }
    fields["retry_in_ms"] = delay.count();
    log::warning(std::string("cannot ") + what + ", retrying", fields);
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(5000));
  }
}

}  // namespace gen
