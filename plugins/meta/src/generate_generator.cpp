#include <string>
#include <vector>

#include "document.hpp"
#include "fields.hpp"
#include "generators.hpp"
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

}  // namespace

sdk::GeneratorInfo GenerateGenerator::info() const {
  sdk::GeneratorInfo info;
  info.id = "meta.generate";
  info.version = "1.0.0";
  info.description =
      "Generates one catalogue metadata field of a document (TITLE, PLUG, BLURB, SUMMARY, "
      "KEYWORDS, QUESTIONS) from its content index; native: LexRank, YAKE, cloze questions.";
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
       .description = "native (offline, deterministic extractive methods) or openai.",
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
      max_input_bytes_param_spec(),
  };
  info.input_media_types = {std::string(kIndexMediaType), std::string(kSegmentsMediaType)};
  info.output_media_types = {std::string(kFieldMediaType), std::string(kIndexMediaType),
                             std::string(kSegmentsMediaType)};
  info.timeout_ms = std::chrono::minutes(2);
  info.max_attempts = 1;  // native: deterministic, a retry would fail the same way
  return info;
}

Status GenerateGenerator::run(sdk::Context& ctx) {
  const json& params = ctx.params();
  const std::string field = params.value("field", "");
  if (params.value("provider", "native") == "openai") {
    return Status::permanent("the openai provider is not available in this build");
  }
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

  Document document;
  const sdk::InputArtifact* input = nullptr;
  if (auto problem = load_document(ctx, document, input)) return Status::permanent(*problem);
  const analysis::Language language = resolve_language(params, document);
  // A TITLE needs the first sentence at most.
  TextModel model(
      document, language, [&] { return ctx.cancelled(); },
      field == "TITLE" ? 64 * 1024 : TextModel::kMaxTextBytes);
  if (ctx.cancelled()) {
    return Status::retryable(
        "meta.generate: stopped: the job was cancelled or its time limit passed");
  }
  FieldValue result;
  if (auto problem = native_field(field, document, model, options, result)) {
    return Status::permanent(field + ": " + *problem);
  }
  json out = {{"field", field},
              {"value", std::move(result.value)},
              {"method", result.method},
              {"language", std::string(analysis::language_code(language))}};
  ctx.write_output("field-" + field + ".json", kFieldMediaType,
                   out.dump(-1, ' ', false, json::error_handler_t::replace));
  // The next field's step reads the same document: pass it through unchanged.
  ctx.write_output(input->name, input->media_type, input->data);
  return Status::ok();
}

}  // namespace gen::meta
