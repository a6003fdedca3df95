#include <string>
#include <vector>

#include "document.hpp"
#include "fields.hpp"
#include "generators.hpp"
#include "openai_provider.hpp"
#include "text_model.hpp"

namespace gen::meta {
namespace {

using nlohmann::json;
using sdk::Status;

/// A taxonomy is a tenant's list of terms: bounded so that matching stays cheap.
constexpr std::size_t kMaxTaxonomyTerms = 10'000;
constexpr std::size_t kMaxTaxonomyTermBytes = 200;

std::optional<std::string> read_taxonomy(const json& params, std::vector<std::string>& out) {
  auto it = params.find("taxonomy");
  if (it == params.end() || it->is_null()) return std::nullopt;
  if (!it->is_array()) return "params.taxonomy: expected an array of strings";
  if (it->size() > kMaxTaxonomyTerms) {
    return "params.taxonomy: " + std::to_string(it->size()) + " terms, more than the limit of " +
           std::to_string(kMaxTaxonomyTerms);
  }
  for (std::size_t i = 0; i < it->size(); ++i) {
    const json& term = (*it)[i];
    const std::string where = "params.taxonomy[" + std::to_string(i) + "]: ";
    if (!term.is_string()) return where + "expected a string, got " + term.type_name();
    const auto& s = term.get_ref<const std::string&>();
    if (s.size() > kMaxTaxonomyTermBytes) {
      return where + "longer than " + std::to_string(kMaxTaxonomyTermBytes) + " bytes";
    }
    out.push_back(s);
  }
  return std::nullopt;
}

// The field artifact, whichever provider made it; the input passes through unchanged for the
// next field's step, which reads the same document.
void write_field(sdk::Context& ctx, const std::string& field, FieldValue& result,
                 analysis::Language language, const sdk::InputArtifact& input) {
  json out = {{"field", field},
              {"value", std::move(result.value)},
              {"method", result.method},
              {"language", std::string(analysis::language_code(language))}};
  ctx.write_output("field-" + field + ".json", kFieldMediaType,
                   out.dump(-1, ' ', false, json::error_handler_t::replace));
  ctx.write_output(input.name, input.media_type, input.data);
}

}  // namespace

sdk::GeneratorInfo GenerateGenerator::info() const {
  sdk::GeneratorInfo info;
  info.id = "meta.generate";
  info.version = "1.0.0";
  info.description =
      "Generates one catalogue metadata field of a document (TITLE, PLUG, BLURB, SUMMARY, "
      "KEYWORDS, QUESTIONS) from its content index; native: LexRank, YAKE, cloze questions; "
      "openai: an OpenAI-compatible chat completions endpoint (GENERATION__LLM_*).";
  std::vector<std::string> fields(std::begin(kFields), std::end(kFields));
  info.params = {
      {.name = "field",
       .type = sdk::ParamType::kString,
       .required = true,
       .description = "The field to generate.",
       .allowed_values = fields},
      {.name = "provider",
       .type = sdk::ParamType::kString,
       .default_value = "native",
       .description = "native (offline, deterministic extractive methods) or openai (the "
                      "endpoint of the settings GENERATION__LLM_URL, _MODEL, _API_KEY, "
                      "_TIMEOUT_MS).",
       .allowed_values = {"native", "openai"}},
      language_param_spec(),
      {.name = "max_keywords",
       .type = sdk::ParamType::kInteger,
       .default_value = 10,
       .description = "KEYWORDS: at most this many, 5 to 15."},
      {.name = "question_count",
       .type = sdk::ParamType::kInteger,
       .default_value = 5,
       .description = "QUESTIONS: at most this many, 1 to 10."},
      {.name = "choice_count",
       .type = sdk::ParamType::kInteger,
       .default_value = 4,
       .description = "QUESTIONS: choices per question, 3 to 5."},
      {.name = "taxonomy",
       .type = sdk::ParamType::kArray,
       .description = "KEYWORDS: terms to align to (up to 10,000 strings of up to 200 bytes): "
                      "document terms whose stems match a taxonomy term's come first, spelt "
                      "as the taxonomy spells them."},
      {.name = "max_prompt_tokens",
       .type = sdk::ParamType::kInteger,
       .default_value = kDefaultMaxPromptTokens,
       .description = "openai: most tokens of document text in one request (about 4 "
                      "characters a token; 1,000 to 1,000,000); a longer document is "
                      "summarised in chunks (map) and then as a whole (reduce)."},
      max_input_bytes_param_spec(),
  };
  info.input_media_types = {std::string(kIndexMediaType), std::string(kSegmentsMediaType)};
  info.output_media_types = {std::string(kFieldMediaType), std::string(kIndexMediaType),
                             std::string(kSegmentsMediaType)};
  // native takes seconds; openai makes up to 65 requests of GENERATION__LLM_TIMEOUT_MS each
  // for a long document (map-reduce), so the limit is generous. Retryable failures come from
  // the openai provider only (429, 5xx, timeouts): native fails permanently or not at all.
  info.timeout_ms = std::chrono::minutes(10);
  info.max_attempts = 3;
  return info;
}

Status GenerateGenerator::run(sdk::Context& ctx) {
  const json& params = ctx.params();
  const std::string field = params.value("field", "");
  const bool openai = params.value("provider", "native") == "openai";
  FieldOptions options;
  long long value = 0;
  if (auto problem = check_range(params, "max_keywords", 5, 15, value)) {
    return Status::permanent(*problem);
  }
  options.max_keywords = static_cast<std::size_t>(value);
  if (auto problem = check_range(params, "question_count", 1, 10, value)) {
    return Status::permanent(*problem);
  }
  options.question_count = static_cast<std::size_t>(value);
  if (auto problem = check_range(params, "choice_count", 3, 5, value)) {
    return Status::permanent(*problem);
  }
  options.choice_count = static_cast<std::size_t>(value);
  if (auto problem = read_taxonomy(params, options.taxonomy)) return Status::permanent(*problem);
  long long max_prompt_tokens = kDefaultMaxPromptTokens;
  if (auto problem = check_range(params, "max_prompt_tokens", kMinPromptTokens, kMaxPromptTokens,
                                 max_prompt_tokens)) {
    return Status::permanent(*problem);
  }

  Document document;
  const sdk::InputArtifact* input = nullptr;
  if (auto problem = load_document(ctx, document, input)) return Status::permanent(*problem);
  const analysis::Language language = resolve_language(params, document);
  FieldValue result;
  if (openai) {
    if (Status s = openai_field(ctx, field, document, options, max_prompt_tokens, result);
        !s.is_ok()) {
      return s;
    }
    write_field(ctx, field, result, language, *input);
    return Status::ok();
  }
  // A TITLE needs the first sentence at most.
  TextModel model(
      document, language, [&] { return ctx.cancelled(); },
      field == "TITLE" ? 64 * 1024 : TextModel::kMaxTextBytes);
  if (ctx.cancelled()) {
    return Status::retryable(
        "meta.generate: stopped: the job was cancelled or its time limit passed");
  }
  if (auto problem = native_field(field, document, model, options, result)) {
    return Status::permanent(field + ": " + *problem);
  }
  write_field(ctx, field, result, language, *input);
  return Status::ok();
}

}  // namespace gen::meta
