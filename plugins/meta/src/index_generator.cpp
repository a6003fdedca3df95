#include "document.hpp"
#include "generators.hpp"

namespace gen::meta {

using nlohmann::json;
using sdk::Status;

sdk::GeneratorInfo IndexGenerator::info() const {
  sdk::GeneratorInfo info;
  info.id = "meta.index";
  info.version = "1.0.0";
  info.description =
      "Adds a document's language and each text segment's search terms (Snowball stems of "
      "its non-stop words) to a content segments artifact.";
  info.params = {language_param_spec(), max_input_bytes_param_spec()};
  info.input_media_types = {std::string(kSegmentsMediaType), std::string(kIndexMediaType)};
  info.output_media_types = {std::string(kIndexMediaType)};
  info.timeout_ms = std::chrono::minutes(2);
  info.max_attempts = 1;  // deterministic: a retry would fail the same way
  return info;
}

Status IndexGenerator::run(sdk::Context& ctx) {
  Document document;
  const sdk::InputArtifact* input = nullptr;
  if (auto problem = load_document(ctx, document, input)) return Status::permanent(*problem);
  const analysis::Language language = resolve_language(ctx.params(), document);

  json& segments = document.json["segments"];
  for (std::size_t i = 0; i < segments.size(); ++i) {
    // Every 64 segments: a poll costs little, a segment a few microseconds.
    if (i % 64 == 0 && ctx.cancelled()) {
      return Status::retryable(
          "meta.index: stopped: the job was cancelled or its time limit passed");
    }
    segments[i]["terms"] = segment_terms(language, document.segments[i].text);
  }
  document.json["language"] = std::string(analysis::language_code(language));
  ctx.write_output("index.json", kIndexMediaType,
                   document.json.dump(-1, ' ', false, json::error_handler_t::replace));
  return Status::ok();
}

}  // namespace gen::meta
