// One HTTP POST of JSON to an LLM endpoint the egress policy vetted (Poco::Net, private to
// this library: no Poco type in this header). Connects to the vetted address itself, never
// resolving the host name again (no DNS rebinding); the Host header and TLS server name are
// the URL's host.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

#include <gen/egress/address_policy.hpp>

namespace gen::meta {

/// Most bytes of an answer read; a longer one is refused (a chat completion for one metadata
/// field is a few kB).
inline constexpr std::size_t kMaxLlmResponseBytes = 4 * 1024 * 1024;

struct HttpOutcome {
  enum class Kind : int {
    kOk = 1,         ///< a 2xx answer: `body`
    kRetryable = 2,  ///< 429, 5xx, connection trouble, timeout, cancellation: `error`
    kPermanent = 3,  ///< another 4xx, an oversized answer: `error`
  };
  Kind kind = Kind::kPermanent;
  int status = 0;  ///< the HTTP status when an answer came
  std::string body;
  std::string error;       ///< what went wrong, for the task's message
  bool cancelled = false;  ///< `cancelled()` turned true while waiting
};

/// POSTs `body` (JSON) to `target.path` at `target.addresses.front()`, with "Authorization:
/// Bearer <api_key>" when the key is not empty. The whole exchange (connect, send, answer) is
/// limited to `timeout`; `cancelled` is polled every 20 ms meanwhile, and either ends the
/// request by shutting its socket down. Never throws.
HttpOutcome post_json(const egress::Target& target, const std::string& body,
                      const std::string& api_key, std::chrono::milliseconds timeout,
                      const std::function<bool()>& cancelled);

}  // namespace gen::meta
