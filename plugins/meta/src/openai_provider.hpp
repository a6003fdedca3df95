// The openai provider of meta.generate: one metadata field from any OpenAI-compatible
// /chat/completions endpoint, with structured JSON output checked against the field's schema
// and limits, map-reduce over long documents, and the webhooks' SSRF rule for the endpoint
// (docs/generators/meta.generate.md#the-openai-provider).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <gen/sdk/generator.hpp>
#include <nlohmann/json.hpp>

#include "document.hpp"
#include "fields.hpp"

namespace gen::meta {

/// The runtime settings the provider reads (ctx.setting) and the environment variable of the
/// worker process whose allow-list it honours.
inline constexpr std::string_view kLlmUrlSetting = "GENERATION__LLM_URL";
inline constexpr std::string_view kLlmModelSetting = "GENERATION__LLM_MODEL";
inline constexpr std::string_view kLlmApiKeySetting = "GENERATION__LLM_API_KEY";
inline constexpr std::string_view kLlmTimeoutSetting = "GENERATION__LLM_TIMEOUT_MS";
inline constexpr std::string_view kAllowHostsVariable = "WEBHOOKS__ALLOW_HOSTS";
inline constexpr long long kDefaultLlmTimeoutMs = 60'000;

/// `max_prompt_tokens`' default and range; a document of more chunks than kMaxLlmChunks is
/// refused (raise the budget) rather than sent as hundreds of requests.
inline constexpr long long kDefaultMaxPromptTokens = 6000;
inline constexpr long long kMinPromptTokens = 1000;
inline constexpr long long kMaxPromptTokens = 1'000'000;
inline constexpr std::size_t kMaxLlmChunks = 64;

/// The JSON schema of `field`'s answer (an object with one property), as sent in
/// response_format; OpenAI's strict mode takes only a subset of JSON Schema (no length or
/// count keywords), so the limits are in the descriptions and checked by validate_answer.
nlohmann::json answer_schema(std::string_view field, const FieldOptions& options);

/// Checks a parsed answer against `field`'s schema and limits and, when it passes, stores the
/// field's value in `out`. `text` is the document's text (KEYWORDS must occur in it). Returns
/// the problem ("value is 1,843 characters, the limit is 1,200").
std::optional<std::string> validate_answer(std::string_view field, const nlohmann::json& answer,
                                           const FieldOptions& options, std::string_view text,
                                           nlohmann::json& out);

/// Generates `field` of `document` through the endpoint the settings name. On success fills
/// `out` (method "openai:<model>"); otherwise the failure, retryable or permanent.
sdk::Status openai_field(sdk::Context& ctx, std::string_view field, const Document& document,
                         const FieldOptions& options, long long max_prompt_tokens, FieldValue& out);

}  // namespace gen::meta
