// text.template: renders a Mustache template with JSON data. See ../README.md.
#include <algorithm>
#include <memory>
#include <string>
#include <string_view>

#include <gen/sdk/generator.hpp>
#include <gen/sdk/json.hpp>

#include "mustache.hpp"

namespace gen::text {
namespace {

using nlohmann::json;
using sdk::Status;

constexpr std::string_view kTemplateMediaType = "text/x-mustache";
/// The output cap: a default that no real document reaches, raised per job up to a ceiling.
constexpr long long kDefaultMaxOutputBytes = 64LL * 1024 * 1024;
constexpr long long kMaxOutputBytesCeiling = 256LL * 1024 * 1024;

/// "64 MiB (67108864 bytes)", or "1000000 bytes".
std::string describe_bytes(long long bytes) {
  constexpr long long kMiB = 1024 * 1024;
  if (bytes % kMiB == 0) {
    return std::to_string(bytes / kMiB) + " MiB (" + std::to_string(bytes) + " bytes)";
  }
  return std::to_string(bytes) + " bytes";
}
constexpr std::string_view kDefaultMediaType = "text/plain; charset=utf-8";

/// "Text/HTML; charset=utf-8" -> "text/html".
std::string essence(std::string_view media_type) {
  const auto semicolon = media_type.find(';');
  std::string_view head = media_type.substr(0, semicolon);
  while (!head.empty() && (head.back() == ' ' || head.back() == '\t')) head.remove_suffix(1);
  while (!head.empty() && (head.front() == ' ' || head.front() == '\t')) head.remove_prefix(1);
  std::string out(head);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

/// Markup output needs `{{x}}` HTML-escaped; plain text and Markdown must not be touched.
bool needs_html_escape(const std::string& type) {
  return type == "text/html" || type == "application/xhtml+xml" || type == "text/xml" ||
         type == "application/xml" || ends_with(type, "+xml");
}

/// The SDK's defaults, or LIMITS__MAX_JSON_DEPTH / LIMITS__MAX_JSON_VALUES when set (the
/// host's settings; an unusable value keeps the default, the host refuses it at start-up).
sdk::JsonLimits json_limits(const sdk::Context& ctx) {
  sdk::JsonLimits limits;
  auto read = [&](std::string_view name, std::size_t& out) {
    auto value = ctx.setting(name);
    if (!value || value->empty() || value->size() > 12) return;
    std::size_t n = 0;
    for (char c : *value) {
      if (c < '0' || c > '9') return;
      n = n * 10 + static_cast<std::size_t>(c - '0');
    }
    if (n > 0) out = n;
  };
  read("LIMITS__MAX_JSON_DEPTH", limits.max_depth);
  read("LIMITS__MAX_JSON_VALUES", limits.max_values);
  return limits;
}

std::string default_output_name(const std::string& type) {
  if (type == "text/markdown") return "output.md";
  if (type == "text/html" || type == "application/xhtml+xml") return "output.html";
  if (type == "application/json") return "output.json";
  if (type == "text/csv") return "output.csv";
  if (type == "text/xml" || type == "application/xml" || ends_with(type, "+xml")) {
    return "output.xml";
  }
  return "output.txt";
}

/// Deep merge: objects merge key by key, recursively; anything else in `overlay` replaces
/// what `base` has.
void merge_into(json& base, const json& overlay) {
  if (!base.is_object() || !overlay.is_object()) {
    base = overlay;
    return;
  }
  for (auto it = overlay.begin(); it != overlay.end(); ++it) {
    auto found = base.find(it.key());
    if (found == base.end()) {
      base.emplace(it.key(), it.value());
    } else {
      merge_into(*found, it.value());
    }
  }
}

bool is_template_input(const sdk::InputArtifact& input) {
  return essence(input.media_type) == kTemplateMediaType || ends_with(input.name, ".mustache");
}

class TextTemplate final : public sdk::Generator {
 public:
  sdk::GeneratorInfo info() const override {
    sdk::GeneratorInfo info;
    info.id = "text.template";
    info.version = "1.0.0";
    info.description =
        "Renders a Mustache template with JSON data into a text artifact (plain text, Markdown, "
        "HTML...).";
    info.params = {
        {.name = "template",
         .type = sdk::ParamType::kString,
         .required = false,
         .description = "The Mustache template. Required unless an input artifact named "
                        "*.mustache or of media type text/x-mustache provides it."},
        {.name = "data",
         .type = sdk::ParamType::kObject,
         .default_value = json::object(),
         .description = "The data the template sees; merged over the application/json "
                        "inputs (params win)."},
        {.name = "media_type",
         .type = sdk::ParamType::kString,
         .default_value = std::string(kDefaultMediaType),
         .description = "Media type of the output. {{x}} is HTML-escaped only for HTML/XML "
                        "types."},
        {.name = "output_name",
         .type = sdk::ParamType::kString,
         .description = "Name of the output artifact; default output.txt, or .md, .html, .json, "
                        ".csv, .xml after the media type."},
        {.name = "max_output_bytes",
         .type = sdk::ParamType::kInteger,
         .default_value = kDefaultMaxOutputBytes,
         .description = "The task fails (permanently) when the output would pass this size; "
                        "1 to 268435456 (256 MiB), default 67108864 (64 MiB)."},
    };
    info.input_media_types = {"application/json", std::string(kTemplateMediaType), "text/*"};
    info.output_media_types = {"text/plain", "text/markdown", "text/html", "*/*"};
    info.timeout_ms = std::chrono::seconds(60);
    info.max_attempts = 1;  // deterministic: a retry would fail the same way
    return info;
  }

  Status run(sdk::Context& ctx) override {
    const json& params = ctx.params();

    // The template: params.template, else the first template input.
    std::string_view template_text;
    std::string template_field = "params.template";
    if (auto it = params.find("template"); it != params.end() && it->is_string()) {
      template_text = it->get_ref<const std::string&>();
    } else {
      bool found = false;
      for (const auto& input : ctx.inputs()) {
        if (is_template_input(input)) {
          template_text = input.data;
          template_field = "inputs[" + input.name + "]";
          found = true;
          break;
        }
      }
      if (!found) {
        return Status::permanent(
            "params.template: required parameter missing (or give an input artifact named "
            "*.mustache or of media type text/x-mustache)");
      }
    }

    // The data: application/json inputs merged in order, params.data over them.
    static const json kEmpty = json::object();
    const json* data = &kEmpty;
    if (auto it = params.find("data"); it != params.end()) {
      if (!it->is_object()) return Status::permanent("params.data: expected object");
      data = &*it;
    }
    json merged;  // used only when inputs contribute data
    for (const auto& input : ctx.inputs()) {
      if (essence(input.media_type) != "application/json") continue;
      // Bounded: a hostile input (a million levels deep, millions of empty arrays) is refused
      // while it is read, before the tree exists; every later walk of the data recurses.
      sdk::JsonParseResult result = sdk::parse_json(input.data, json_limits(ctx));
      if (!result) {
        const bool syntax = result.error->kind == sdk::JsonError::Kind::kSyntax;
        return Status::permanent("inputs[" + input.name + "]: " +
                                 (syntax ? "not valid JSON: " : "") + result.error->describe());
      }
      json parsed = std::move(result.value);
      if (!parsed.is_object()) {
        return Status::permanent("inputs[" + input.name + "]: expected a JSON object");
      }
      if (merged.is_null()) {
        merged = std::move(parsed);
      } else {
        merge_into(merged, parsed);
      }
    }
    if (!merged.is_null()) {
      merge_into(merged, *data);
      data = &merged;
    }

    std::string media_type(kDefaultMediaType);
    if (auto it = params.find("media_type"); it != params.end() && it->is_string()) {
      media_type = it->get<std::string>();
    }
    const std::string type = essence(media_type);
    std::string output_name;
    if (auto it = params.find("output_name"); it != params.end() && it->is_string()) {
      output_name = it->get<std::string>();
    }
    if (output_name.empty()) output_name = default_output_name(type);

    long long max_output_bytes = kDefaultMaxOutputBytes;
    if (auto it = params.find("max_output_bytes"); it != params.end() && !it->is_null()) {
      if (!it->is_number_integer() || it->get<long long>() < 1 ||
          it->get<long long>() > kMaxOutputBytesCeiling) {
        return Status::permanent("params.max_output_bytes: must be a whole number from 1 to " +
                                 std::to_string(kMaxOutputBytesCeiling) + " (256 MiB)");
      }
      max_output_bytes = it->get<long long>();
    }

    std::string error;
    const auto tmpl = MustacheTemplate::compile(template_text, error);
    if (!tmpl) return Status::permanent(template_field + ": " + error);
    std::string output;
    // Jobs of one deployment tend to render similar documents: start from the size of the
    // last output of this thread, so a large invoice does not regrow its buffer every time.
    thread_local std::size_t last_output_size = 0;
    output.reserve(
        std::min(std::max(template_text.size() * 2, last_output_size + last_output_size / 8),
                 static_cast<std::size_t>(max_output_bytes)));
    RenderLimits limits;
    limits.max_output_bytes = static_cast<std::size_t>(max_output_bytes);
    limits.cancelled = [&ctx] { return ctx.cancelled(); };
    const RenderEnd end = tmpl->render(*data, needs_html_escape(type), output, limits);
    if (end == RenderEnd::kOutputTooLarge) {
      return Status::permanent(
          "output: the rendered text passed the limit of " + describe_bytes(max_output_bytes) +
          ", set by params.max_output_bytes (at most 256 MiB): the template expands too much, "
          "e.g. sections nested over large lists");
    }
    if (end == RenderEnd::kCancelled) {
      return Status::retryable(
          "text.template: stopped: the job was cancelled or its time limit "
          "passed while rendering");
    }
    last_output_size = output.size();

    ctx.write_output(output_name, media_type, output);
    return Status::ok();
  }
};

}  // namespace
}  // namespace gen::text

GENERATOR_PLUGIN_REGISTER(registry) {
  registry.add(std::make_unique<gen::text::TextTemplate>());
}
