#include "job_request.hpp"

#include <algorithm>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "gen/core/base/media_type.hpp"
#include "gen/core/base/params.hpp"
#include "gen/core/base/text.hpp"
#include "gen/core/plugins/plugin_host.hpp"

namespace gen::backend {

using nlohmann::json;

namespace {

constexpr int kMaxAttemptsLimit = 100;
constexpr std::int64_t kMaxTimeoutMs = 24ll * 60 * 60 * 1000;
constexpr int kPriorityLimit = 1000;
constexpr std::int64_t kMaxDelayMs = 366ll * 24 * 60 * 60 * 1000;
constexpr std::size_t kMaxIdempotencyKeyBytes = 255;
constexpr std::size_t kMaxBulkJobs = 1000;

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

StepSpec parse_step(const json& step, const std::string& prefix, const PluginHost& plugins) {
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

InputFile parse_input(const json& input, const std::string& prefix, std::set<std::string>& seen) {
  if (!input.is_object()) invalid(prefix, "must be an object {name, media_type, content_base64}");
  reject_unknown_keys(input, {"name", "media_type", "content_base64"}, prefix);

  InputFile file;
  auto name = input.find("name");
  if (name == input.end()) invalid(prefix + ".name", "is required");
  if (!name->is_string() || name->get_ref<const std::string&>().empty()) {
    invalid(prefix + ".name", "must be a non-empty string");
  }
  file.name = name->get<std::string>();
  if (auto problem = file_name_problem(file.name)) invalid(prefix + ".name", *problem);
  if (!seen.insert(file.name).second) {
    invalid(prefix + ".name", "duplicate input name '" + file.name + "'");
  }

  auto media = input.find("media_type");
  if (media == input.end()) invalid(prefix + ".media_type", "is required");
  if (!media->is_string() || media->get_ref<const std::string&>().find('/') == std::string::npos) {
    invalid(prefix + ".media_type", "must be a media type such as \"text/plain\"");
  }
  file.media_type = media->get<std::string>();
  // It becomes the download's Content-Type: CR/LF here would split the response.
  if (std::string why = media_type_problem(file.media_type); !why.empty()) {
    invalid(prefix + ".media_type", why);
  }

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

json parse_json_body(std::string_view body, const sdk::JsonLimits& limits) {
  sdk::JsonParseResult parsed = sdk::parse_json(body, limits);
  if (parsed) return std::move(parsed.value);
  const sdk::JsonError& e = *parsed.error;
  if (e.kind == sdk::JsonError::Kind::kSyntax) {
    throw Error(ErrorCode::kInvalidJson, "request body is not valid JSON: " + e.describe(),
                e.field);
  }
  throw Error(ErrorCode::kValidationFailed,
              e.field.empty() ? "request body: " + e.message : e.describe(),
              e.field.empty() ? "body" : e.field);
}

std::optional<std::int64_t> parse_rfc3339_ms(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM); 't' and 'z' accepted too (RFC 3339 5.6).
  auto digits = [&](std::size_t pos, std::size_t n) -> std::optional<int> {
    if (pos + n > text.size()) return std::nullopt;
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      v = v * 10 + (text[i] - '0');
    }
    return v;
  };
  auto year = digits(0, 4), month = digits(5, 2), day = digits(8, 2), hour = digits(11, 2),
       minute = digits(14, 2), second = digits(17, 2);
  if (!year || !month || !day || !hour || !minute || !second || text.size() < 20 ||
      text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != 't') || text[13] != ':' ||
      text[16] != ':') {
    return std::nullopt;
  }
  static constexpr int kDaysInMonth[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (*month < 1 || *month > 12 || *day < 1 || *day > kDaysInMonth[*month - 1] || *hour > 23 ||
      *minute > 59 || *second > 60) {
    return std::nullopt;
  }
  std::size_t pos = 19;
  std::int64_t millis = 0;
  if (text[pos] == '.') {
    std::size_t start = ++pos;
    int scale = 100;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      millis += (text[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  std::int64_t offset_min = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    auto oh = digits(pos + 1, 2), om = digits(pos + 4, 2);
    if (!oh || !om || pos + 3 >= text.size() || text[pos + 3] != ':' || *oh > 23 || *om > 59) {
      return std::nullopt;
    }
    offset_min = (*oh * 60 + *om) * (text[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  // Days from the civil date (Howard Hinnant's algorithm), no time zone database involved.
  int y = *year - (*month <= 2 ? 1 : 0);
  int era = (y >= 0 ? y : y - 399) / 400;
  int yoe = y - era * 400;
  int mp = (*month + 9) % 12;
  int doy = (153 * mp + 2) / 5 + *day - 1;
  int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  std::int64_t days = static_cast<std::int64_t>(era) * 146097 + doe - 719468;
  std::int64_t seconds =
      days * 86400 + *hour * 3600 + *minute * 60 + std::min(*second, 59) - offset_min * 60;
  return seconds * 1000 + millis;
}

JobSpec parse_job(const json& doc, const PluginHost& plugins, const std::string& prefix,
                  std::int64_t now_ms) {
  if (!doc.is_object()) {
    if (prefix.empty()) {
      throw Error(ErrorCode::kValidationFailed,
                  "request body must be a JSON object {\"steps\": [...], \"inputs\": [...]}");
    }
    invalid(prefix.substr(0, prefix.size() - 1), "must be a job object {steps, inputs, ...}");
  }
  reject_unknown_keys(doc,
                      {"steps", "inputs", "priority", "run_after", "delay_ms", "idempotency_key"},
                      prefix.empty() ? "" : prefix.substr(0, prefix.size() - 1));

  JobSpec spec;
  auto steps = doc.find("steps");
  if (steps == doc.end() || !steps->is_array() || steps->empty()) {
    invalid(prefix + "steps", "is required: a non-empty array of {\"generator\", \"params\"}");
  }
  for (std::size_t i = 0; i < steps->size(); ++i) {
    spec.steps.push_back(
        parse_step((*steps)[i], prefix + "steps[" + std::to_string(i) + "]", plugins));
  }

  if (auto inputs = doc.find("inputs"); inputs != doc.end() && !inputs->is_null()) {
    if (!inputs->is_array())
      invalid(prefix + "inputs", "must be an array of {name, media_type, content_base64}");
    std::set<std::string> seen;
    for (std::size_t i = 0; i < inputs->size(); ++i) {
      spec.inputs.push_back(
          parse_input((*inputs)[i], prefix + "inputs[" + std::to_string(i) + "]", seen));
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
        invalid(prefix + "inputs[" + std::to_string(i) + "].media_type",
                "'" + spec.inputs[i].media_type + "' is not accepted by " + first->id +
                    (list.empty() ? " (it takes no inputs)" : " (accepts: " + list + ")"));
      }
    }
  }

  if (auto priority = doc.find("priority"); priority != doc.end()) {
    spec.priority = static_cast<int>(
        integer_in(*priority, prefix + "priority", -kPriorityLimit, kPriorityLimit));
  }
  auto run_after = doc.find("run_after");
  auto delay = doc.find("delay_ms");
  if (run_after != doc.end() && delay != doc.end()) {
    invalid(prefix + "delay_ms", "give either run_after or delay_ms, not both");
  }
  if (run_after != doc.end() && !run_after->is_null()) {
    std::optional<std::int64_t> at;
    if (run_after->is_string()) at = parse_rfc3339_ms(run_after->get_ref<const std::string&>());
    if (!at) {
      invalid(prefix + "run_after",
              "must be an RFC 3339 timestamp such as \"2030-01-31T08:00:00Z\"");
    }
    if (*at > now_ms + kMaxDelayMs) invalid(prefix + "run_after", "is more than a year ahead");
    spec.run_after_ms = *at;  // a time in the past means "now"
  }
  if (delay != doc.end()) {
    spec.run_after_ms = now_ms + integer_in(*delay, prefix + "delay_ms", 0, kMaxDelayMs);
  }
  if (auto key = doc.find("idempotency_key"); key != doc.end() && !key->is_null()) {
    if (!key->is_string()) invalid(prefix + "idempotency_key", "must be a string");
    spec.idempotency_key =
        check_idempotency_key(key->get<std::string>(), prefix + "idempotency_key");
  }
  return spec;
}

std::string check_idempotency_key(const std::string& key, const std::string& field) {
  if (key.empty() || key.size() > kMaxIdempotencyKeyBytes) {
    invalid(field, "must be 1 to " + std::to_string(kMaxIdempotencyKeyBytes) + " characters");
  }
  for (unsigned char c : key) {
    if (c < 0x21 || c > 0x7E) invalid(field, "must be printable ASCII without spaces");
  }
  return key;
}

JobSpec parse_job_request(std::string_view body, const PluginHost& plugins, std::int64_t now_ms,
                          const sdk::JsonLimits& limits) {
  return parse_job(parse_json_body(body, limits), plugins, "", now_ms);
}

std::vector<JobSpec> parse_bulk_request(std::string_view body, const PluginHost& plugins,
                                        std::int64_t now_ms, const sdk::JsonLimits& limits) {
  return parse_bulk_request(parse_json_body(body, limits), plugins, now_ms);
}

std::vector<JobSpec> parse_bulk_request(const json& doc, const PluginHost& plugins,
                                        std::int64_t now_ms) {
  if (!doc.is_object()) {
    throw Error(ErrorCode::kValidationFailed,
                "request body must be a JSON object {\"jobs\": [...]}");
  }
  reject_unknown_keys(doc, {"jobs"}, "");
  auto jobs = doc.find("jobs");
  if (jobs == doc.end() || !jobs->is_array() || jobs->empty()) {
    invalid("jobs", "is required: a non-empty array of job objects");
  }
  if (jobs->size() > kMaxBulkJobs) {
    invalid("jobs", "at most " + std::to_string(kMaxBulkJobs) + " jobs per request");
  }
  std::vector<JobSpec> specs;
  specs.reserve(jobs->size());
  std::set<std::string> keys;
  for (std::size_t i = 0; i < jobs->size(); ++i) {
    std::string prefix = "jobs[" + std::to_string(i) + "].";
    specs.push_back(parse_job((*jobs)[i], plugins, prefix, now_ms));
    const std::string& key = specs.back().idempotency_key;
    if (!key.empty() && !keys.insert(key).second) {
      invalid(prefix + "idempotency_key",
              "duplicate idempotency key '" + key + "' in this request");
    }
  }
  return specs;
}

}  // namespace gen::backend
