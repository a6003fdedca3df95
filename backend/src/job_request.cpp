#include "job_request.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "gen/core/params.hpp"
#include "gen/core/plugin_host.hpp"

namespace gen::backend {

using nlohmann::json;

namespace {

constexpr int kMaxAttemptsLimit = 100;
constexpr std::int64_t kMaxTimeoutMs = 24ll * 60 * 60 * 1000;
constexpr int kPriorityLimit = 1000;
constexpr std::size_t kMaxInputNameBytes = 255;

[[noreturn]] void invalid(const std::string& field, const std::string& message) {
  throw Error(ErrorCode::kValidationFailed, field + ": " + message, field);
}

void reject_unknown_keys(const json& object, std::initializer_list<std::string_view> known,
                         const std::string& prefix) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      std::string allowed;
      for (auto k : known) allowed += (allowed.empty() ? "" : ", ") + std::string(k);
      invalid(prefix.empty() ? key : prefix + "." + key,
              "unknown field (allowed: " + allowed + ")");
    }
  }
}

std::int64_t integer_in(const json& value, const std::string& field, std::int64_t min,
                        std::int64_t max) {
  if (!value.is_number_integer()) invalid(field, "must be an integer");
  std::int64_t v = 0;
  if (value.is_number_unsigned()) {
    auto u = value.get<std::uint64_t>();
    v = u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
            ? std::numeric_limits<std::int64_t>::max()
            : static_cast<std::int64_t>(u);
  } else {
    v = value.get<std::int64_t>();
  }
  if (v < min || v > max) {
    invalid(field, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return v;
}

std::string available_generators(const PluginHost& plugins) {
  std::string list;
  for (const auto& info : plugins.generators()) list += (list.empty() ? "" : ", ") + info.id;
  return list.empty() ? "none (no plugin is loaded; see GET /api/v1/plugins)" : list;
}

StepSpec parse_step(const json& step, std::size_t i, const PluginHost& plugins) {
  const std::string prefix = "steps[" + std::to_string(i) + "]";
  if (!step.is_object()) invalid(prefix, "must be an object {generator, params}");
  reject_unknown_keys(step, {"generator", "params", "max_attempts", "timeout_ms"}, prefix);

  auto gen_it = step.find("generator");
  if (gen_it == step.end()) invalid(prefix + ".generator", "is required");
  if (!gen_it->is_string() || gen_it->get_ref<const std::string&>().empty()) {
    invalid(prefix + ".generator", "must be a non-empty string");
  }
  const std::string& id = gen_it->get_ref<const std::string&>();
  const sdk::GeneratorInfo* info = plugins.info(id);
  if (!info) {
    throw Error(ErrorCode::kUnknownGenerator,
                prefix + ".generator: unknown generator '" + id +
                    "'; available: " + available_generators(plugins),
                prefix + ".generator");
  }

  StepSpec spec;
  spec.generator = id;
  auto params_it = step.find("params");
  spec.params = validate_params(*info, params_it == step.end() ? json::object() : *params_it,
                                prefix + ".params");
  spec.max_attempts = std::clamp(info->max_attempts, 1, kMaxAttemptsLimit);
  spec.timeout_ms = std::clamp<std::int64_t>(info->timeout_ms.count(), 1, kMaxTimeoutMs);
  if (auto it = step.find("max_attempts"); it != step.end()) {
    spec.max_attempts =
        static_cast<int>(integer_in(*it, prefix + ".max_attempts", 1, kMaxAttemptsLimit));
  }
  if (auto it = step.find("timeout_ms"); it != step.end()) {
    spec.timeout_ms = integer_in(*it, prefix + ".timeout_ms", 1, kMaxTimeoutMs);
  }
  return spec;
}

InputFile parse_input(const json& input, std::size_t i, std::set<std::string>& seen) {
  const std::string prefix = "inputs[" + std::to_string(i) + "]";
  if (!input.is_object()) invalid(prefix, "must be an object {name, media_type, content_base64}");
  reject_unknown_keys(input, {"name", "media_type", "content_base64"}, prefix);

  InputFile file;
  auto name = input.find("name");
  if (name == input.end()) invalid(prefix + ".name", "is required");
  if (!name->is_string() || name->get_ref<const std::string&>().empty()) {
    invalid(prefix + ".name", "must be a non-empty string");
  }
  file.name = name->get<std::string>();
  if (file.name.find('/') != std::string::npos || file.name.find('\\') != std::string::npos ||
      file.name.find('\0') != std::string::npos || file.name == "." || file.name == "..") {
    invalid(prefix + ".name", "must be a plain file name (no '/', '\\', NUL, '.' or '..')");
  }
  if (file.name.size() > kMaxInputNameBytes) {
    invalid(prefix + ".name", "must be at most " + std::to_string(kMaxInputNameBytes) + " bytes");
  }
  if (!seen.insert(file.name).second) {
    invalid(prefix + ".name", "duplicate input name '" + file.name + "'");
  }

  auto media = input.find("media_type");
  if (media == input.end()) invalid(prefix + ".media_type", "is required");
  if (!media->is_string() || media->get_ref<const std::string&>().find('/') == std::string::npos) {
    invalid(prefix + ".media_type", "must be a media type such as \"text/plain\"");
  }
  file.media_type = media->get<std::string>();

  auto content = input.find("content_base64");
  if (content == input.end()) invalid(prefix + ".content_base64", "is required");
  if (!content->is_string()) invalid(prefix + ".content_base64", "must be a base64 string");
  auto data = decode_base64(content->get_ref<const std::string&>());
  if (!data)
    invalid(prefix + ".content_base64", "is not valid base64 (RFC 4648, standard alphabet)");
  file.data = std::move(*data);
  return file;
}

}  // namespace

std::optional<std::string> decode_base64(std::string_view in) {
  static const std::array<int, 256> table = [] {
    std::array<int, 256> t{};
    t.fill(-1);
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = i;
    return t;
  }();
  std::size_t len = in.size();
  if (len % 4 == 0 && len >= 1 && in[len - 1] == '=') {
    --len;
    if (in[len - 1] == '=') --len;
  }
  std::string_view body = in.substr(0, len);
  if (body.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(body.size() / 4 * 3 + 2);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : body) {
    int v = table[static_cast<unsigned char>(c)];
    if (v < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFF);
    }
  }
  // Leftover bits of a final partial group must be zero (canonical encoding).
  if (bits > 0 && (buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

bool media_type_matches(std::string_view pattern, std::string_view media_type) {
  media_type = media_type.substr(0, media_type.find(';'));
  if (pattern == "*/*" || pattern == "*") return true;
  if (pattern.ends_with("/*")) {
    return media_type.starts_with(pattern.substr(0, pattern.size() - 1));
  }
  return pattern == media_type;
}

JobSpec parse_job_request(std::string_view body, const PluginHost& plugins) {
  json doc;
  try {
    doc = json::parse(body.begin(), body.end());
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    if (auto bracket = what.find("] ");
        what.starts_with("[json.exception") && bracket != std::string::npos) {
      what = what.substr(bracket + 2);
    }
    throw Error(ErrorCode::kInvalidJson, "request body is not valid JSON: " + what);
  }
  if (!doc.is_object()) {
    throw Error(ErrorCode::kValidationFailed,
                "request body must be a JSON object {\"steps\": [...], \"inputs\": [...]}");
  }
  reject_unknown_keys(doc, {"steps", "inputs", "priority"}, "");

  JobSpec spec;
  auto steps = doc.find("steps");
  if (steps == doc.end() || !steps->is_array() || steps->empty()) {
    invalid("steps", "is required: a non-empty array of {\"generator\", \"params\"}");
  }
  for (std::size_t i = 0; i < steps->size(); ++i) {
    spec.steps.push_back(parse_step((*steps)[i], i, plugins));
  }

  if (auto inputs = doc.find("inputs"); inputs != doc.end() && !inputs->is_null()) {
    if (!inputs->is_array())
      invalid("inputs", "must be an array of {name, media_type, content_base64}");
    std::set<std::string> seen;
    for (std::size_t i = 0; i < inputs->size(); ++i) {
      spec.inputs.push_back(parse_input((*inputs)[i], i, seen));
    }
  }
  // The first step receives the inputs: refuse what it declares it cannot read.
  if (const sdk::GeneratorInfo* first = plugins.info(spec.steps.front().generator)) {
    for (std::size_t i = 0; i < spec.inputs.size(); ++i) {
      const auto& accepted = first->input_media_types;
      bool ok = std::any_of(accepted.begin(), accepted.end(), [&](const std::string& p) {
        return media_type_matches(p, spec.inputs[i].media_type);
      });
      if (!ok) {
        std::string list;
        for (const auto& p : accepted) list += (list.empty() ? "" : ", ") + p;
        invalid("inputs[" + std::to_string(i) + "].media_type",
                "'" + spec.inputs[i].media_type + "' is not accepted by " + first->id +
                    (list.empty() ? " (it takes no inputs)" : " (accepts: " + list + ")"));
      }
    }
  }

  if (auto priority = doc.find("priority"); priority != doc.end()) {
    spec.priority =
        static_cast<int>(integer_in(*priority, "priority", -kPriorityLimit, kPriorityLimit));
  }
  return spec;
}

}  // namespace gen::backend
