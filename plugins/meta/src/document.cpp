#include "document.hpp"

#include <gen/sdk/json.hpp>

namespace gen::meta {
namespace {

using nlohmann::json;

std::string_view type_name(const json& value) {
  return value.is_number() ? "number" : value.type_name();
}

std::string expected(std::string_view field, std::string_view what, const json& value) {
  return std::string(field) + ": expected " + std::string(what) + ", got " +
         std::string(type_name(value));
}

}  // namespace

std::string media_type_essence(std::string_view media_type) {
  std::string_view head = media_type.substr(0, media_type.find(';'));
  while (!head.empty() && (head.back() == ' ' || head.back() == '\t')) head.remove_suffix(1);
  while (!head.empty() && (head.front() == ' ' || head.front() == '\t')) head.remove_prefix(1);
  std::string out(head);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::optional<std::string> parse_document(std::string_view data, Document& out) {
  sdk::JsonLimits limits;
  limits.max_depth = kMaxJsonDepth;
  limits.max_values = kMaxJsonValues;
  sdk::JsonParseResult parsed = sdk::parse_json(data, limits);
  if (!parsed) return parsed.error->describe();
  out = Document{};
  out.json = std::move(parsed.value);
  const json& root = out.json;
  if (!root.is_object())
    return "expected a JSON object (a segments artifact), got " + std::string(type_name(root));

  if (auto it = root.find("title"); it != root.end()) {
    if (it->is_string()) {
      out.title = it->get_ref<const std::string&>();
    } else if (!it->is_null()) {
      return expected("title", "a string or null", *it);
    }
  }
  if (auto it = root.find("language"); it != root.end()) {
    if (it->is_string()) {
      out.language = analysis::parse_language(it->get_ref<const std::string&>());
    } else if (!it->is_null()) {
      return expected("language", "a string or null", *it);
    }
  }

  auto segments = root.find("segments");
  if (segments == root.end()) return std::string("segments: missing (the list of text segments)");
  if (!segments->is_array()) return expected("segments", "an array", *segments);
  if (segments->empty()) return std::string("segments: empty (the document has no text)");
  out.segments.reserve(segments->size());
  std::size_t index = 0;
  for (const json& item : *segments) {
    const std::string where = "segments[" + std::to_string(index++) + "]";
    if (!item.is_object()) return expected(where, "an object", item);
    Segment segment;
    auto text = item.find("text");
    if (text == item.end()) return where + ".text: missing";
    if (!text->is_string()) return expected(where + ".text", "a string", *text);
    segment.text = text->get_ref<const std::string&>();
    for (auto [name, slot] : {std::pair{"location", &segment.location},
                              std::pair{"location_kind", &segment.location_kind}}) {
      auto it = item.find(name);
      if (it == item.end()) continue;
      if (!it->is_string()) return expected(where + "." + name, "a string", *it);
      *slot = it->get_ref<const std::string&>();
    }
    if (auto it = item.find("tokens"); it != item.end() && !it->is_number_integer()) {
      return expected(where + ".tokens", "an integer", *it);
    }
    out.segments.push_back(segment);
  }
  return std::nullopt;
}

const sdk::InputArtifact* find_document_input(const std::vector<sdk::InputArtifact>& inputs) {
  for (const sdk::InputArtifact& input : inputs) {
    const std::string type = media_type_essence(input.media_type);
    if (type == kIndexMediaType || type == kSegmentsMediaType) return &input;
  }
  return nullptr;
}

std::string joined_text(const Document& document) {
  std::size_t size = 0;
  for (const Segment& s : document.segments) size += s.text.size() + 2;
  std::string out;
  out.reserve(size);
  for (const Segment& s : document.segments) {
    if (!out.empty()) out += "\n\n";
    out += s.text;
  }
  return out;
}

void for_each_piece(std::string_view text, std::size_t max_bytes,
                    const std::function<void(std::string_view)>& fn) {
  auto separator = [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c < 0x80 &&
           !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
  };
  while (text.size() > max_bytes) {
    std::size_t cut = max_bytes;
    while (cut > 0 && !separator(text[cut - 1])) --cut;
    if (cut == 0) {  // a run of letters longer than a piece: cut at a code point
      cut = max_bytes;
      while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
      if (cut == 0) cut = max_bytes;
    }
    fn(text.substr(0, cut));
    text.remove_prefix(cut);
  }
  if (!text.empty()) fn(text);
}

namespace {
constexpr std::size_t kPieceBytes = 1024 * 1024;
/// analysis::detect_language reads this many words.
constexpr std::size_t kDetectionWords = 5000;
}  // namespace

std::string segment_terms(analysis::Language language, std::string_view text) {
  if (text.size() <= kPieceBytes) return analysis::index_terms(language, text);
  std::string out;
  for_each_piece(text, kPieceBytes, [&](std::string_view piece) {
    std::string terms = analysis::index_terms(language, piece);
    if (terms.empty()) return;
    if (!out.empty()) out += ' ';
    out += terms;
  });
  return out;
}

analysis::Language detect_document_language(const Document& document) {
  std::size_t total = 0;
  for (const Segment& s : document.segments) total += s.text.size() + 2;
  if (total <= kPieceBytes) return analysis::detect_language(joined_text(document));
  // A prefix of the joined text that holds the words detection reads, cut after a separator.
  std::string sample;
  std::size_t words = 0;
  for (const Segment& segment : document.segments) {
    if (words > kDetectionWords) break;
    if (!sample.empty()) sample += "\n\n";
    for_each_piece(segment.text, kPieceBytes, [&](std::string_view piece) {
      if (words > kDetectionWords) return;
      sample += piece;
      words += analysis::words(piece).size();
    });
  }
  return analysis::detect_language(sample);
}

std::optional<std::string> check_range(const json& params, std::string_view name, long long low,
                                       long long high, long long& out) {
  auto it = params.find(name);
  if (it == params.end() || !it->is_number_integer()) {
    return "params." + std::string(name) + ": expected an integer";
  }
  const long long value = it->get<long long>();
  if (value < low || value > high) {
    return "params." + std::string(name) + ": must be from " + std::to_string(low) + " to " +
           std::to_string(high) + ", got " + std::to_string(value);
  }
  out = value;
  return std::nullopt;
}

std::optional<analysis::Language> language_param(const json& params) {
  auto it = params.find("language");
  if (it == params.end() || !it->is_string()) return std::nullopt;
  return analysis::parse_language(it->get_ref<const std::string&>());  // "auto" -> nullopt
}

sdk::ParamSpec language_param_spec() {
  return {.name = "language",
          .type = sdk::ParamType::kString,
          .default_value = "auto",
          .description =
              "The text's language for stop words and stems: auto (the artifact's "
              "language, else detected from the text), en, de, fr (or english, "
              "german, french).",
          .allowed_values = {"auto", "en", "de", "fr", "english", "german", "french"}};
}

sdk::ParamSpec max_input_bytes_param_spec() {
  return {.name = "max_input_bytes",
          .type = sdk::ParamType::kInteger,
          .default_value = kDefaultMaxInputBytes,
          .description =
              "The largest input artifact read, 1 to 1073741824 (1 GiB); default "
              "134217728 (128 MiB)."};
}

}  // namespace gen::meta

namespace gen::meta {

std::optional<std::string> load_document(const sdk::Context& ctx, Document& document,
                                         const sdk::InputArtifact*& input) {
  long long max_bytes = 0;
  if (auto problem =
          check_range(ctx.params(), "max_input_bytes", 1, kMaxInputBytesCeiling, max_bytes)) {
    return problem;
  }
  input = find_document_input(ctx.inputs());
  if (input == nullptr) {
    return "inputs: no content artifact (media type " + std::string(kSegmentsMediaType) + " or " +
           std::string(kIndexMediaType) + ") among the " + std::to_string(ctx.inputs().size()) +
           " inputs";
  }
  const std::string where = "inputs[" + input->name + "]: ";
  if (input->data.size() > static_cast<std::size_t>(max_bytes)) {
    return where + std::to_string(input->data.size()) + " bytes, more than the limit of " +
           std::to_string(max_bytes) + " bytes (params.max_input_bytes)";
  }
  if (auto problem = parse_document(input->data, document)) return where + *problem;
  return std::nullopt;
}

analysis::Language resolve_language(const nlohmann::json& params, const Document& document) {
  if (auto language = language_param(params)) return *language;
  if (document.language) return *document.language;
  return detect_document_language(document);
}

}  // namespace gen::meta
