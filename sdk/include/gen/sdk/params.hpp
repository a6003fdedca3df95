// Generator SDK v1 — parameter validation: the one rule for a step's params.
//
// `complete_params()` checks a step's params against a generator's declared `ParamSpec`s and
// fills in defaults. The host applies it to every step before a job is queued (a refusal is a
// 400 VALIDATION_FAILED naming the field), the test harness's `FakeContext::run()` applies it
// before calling `Generator::run()`, and generator-plugin-check applies it to `--params`; so a
// params object passes in a plugin's unit test exactly when it passes in a job.
//
//   nlohmann::json params = {{"copies", 2.0}};
//   if (auto error = gen::sdk::complete_params(generator.info(), params)) {
//     std::cerr << error->describe() << "\n";  // "params.template: required parameter missing"
//   }
//   // else params == {"copies": 2, "template"...: defaults filled in}
//
// The rules, checked in this order; only the first problem is reported:
//  1. `null` params count as `{}` (a step that gives none); any other non-object is refused
//     ("expected object, got array", the field is the prefix itself).
//  2. Unknown names, before anything else (a misspelt name would otherwise surface as the
//     less helpful "required parameter missing" of the name it was meant to be):
//     "unknown parameter (known: copies, template)" or "(x.y takes no parameters)".
//  3. Each declared param, in declaration order:
//     * absent: "required parameter missing" when `required`; else its `default_value` is
//       filled in (a null default leaves it absent);
//     * its JSON type, as JSON Schema has it: `number` is any number; `integer` is a number
//       with a zero fractional part, so `2.0` (as some JSON writers emit) passes and is
//       stored as the integer `2`, while `2.5` is refused ("expected integer, got non-integral
//       number 2.5"), as is a float outside the 64-bit range ("expected integer, got number
//       1e+30 outside the 64-bit range"); an explicit `null` is a value, not an absence, and
//       only `any` accepts it. Otherwise "expected <type>, got <JSON type of the value>", the
//       value's type being one of null, boolean, number, string, array, object;
//     * `allowed_values`, for a string value: "must be one of: A4, Letter";
//     * a non-empty string param named `output_name` (the conventional name of the artifact a
//       generator writes) must pass `file_name_problem()`.
//
// Header-only, no dependency beyond nlohmann_json; pure functions, safe from any thread.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gen/sdk/generator.hpp>
#include <nlohmann/json.hpp>

namespace gen::sdk {

/// Why a step's params were refused.
struct ParamError {
  /// The offending param as `<prefix>.<name>` ("params.copies", "steps[0].params.copies"),
  /// or the prefix alone when the params are not an object.
  std::string field;
  /// What is wrong, without the field ("expected integer, got string").
  std::string message;

  /// "<field>: <message>", or the message alone when there is no field.
  std::string describe() const { return field.empty() ? message : field + ": " + message; }
};

/// Why `name` cannot name an artifact (an input or output file), or nullopt when it can: it
/// must be 1-255 bytes of valid UTF-8 without control characters (NUL would cut it in storage,
/// CR/LF would reach HTTP headers), '/' or '\\', and not "." or "..". The message has no
/// field ("must be a plain file name (no '/' or '\\')").
inline std::optional<std::string> file_name_problem(std::string_view name);

/// Checks one value of a param against `spec` by rule 3 below the absence (type, allowed values,
/// output_name), completing it in place as complete_params() does (an integer param's `2.0`
/// becomes `2`). The message of the problem ("expected integer, got string"), or nullopt.
/// The host checks a manifest's defaults with it, so a default obeys the rule its value would.
inline std::optional<std::string> param_value_problem(const ParamSpec& spec, nlohmann::json& value);

/// Checks `params` against `info.params` by the rules in the file comment and completes them
/// in place: defaults filled in, integral floats of integer params stored as integers.
/// Returns the first problem, its field named under `field_prefix` (empty: bare names), or
/// nullopt when the params are fine. On a problem `params` may be partly completed.
inline std::optional<ParamError> complete_params(const GeneratorInfo& info, nlohmann::json& params,
                                                 std::string_view field_prefix = "params");

// ---- Implementation. -----------------------------------------------------------------------

namespace detail {

inline std::string param_field(std::string_view prefix, std::string_view name) {
  std::string field(prefix);
  if (!field.empty()) field += '.';
  field += name;
  return field;
}

/// The JSON type of `value` as messages name it; numbers are all "number".
inline std::string_view json_type_name(const nlohmann::json& value) {
  return value.is_number() ? "number" : value.type_name();
}

/// Well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF).
/// Hand-written: 25 lines, where a library (ICU) would be a new dependency of every plugin.
inline bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    auto lead = static_cast<unsigned char>(s[i]);
    std::size_t extra = 0;
    std::uint32_t cp = 0;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if ((lead & 0xE0) == 0xC0) {
      extra = 1, cp = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      extra = 2, cp = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      extra = 3, cp = lead & 0x07;
    } else {
      return false;
    }
    if (s.size() - i <= extra) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

/// Checks `value` against `spec` (type, then allowed values); stores an integral float of an
/// integer param as an integer. Returns the message of the first problem.
inline std::optional<std::string> check_param_value(const ParamSpec& spec, nlohmann::json& value) {
  bool ok = false;
  switch (spec.type) {
    case ParamType::kString:
      ok = value.is_string();
      break;
    case ParamType::kInteger:
      if (value.is_number_integer()) {
        ok = true;
      } else if (value.is_number_float()) {
        const double d = value.get<double>();
        if (!std::isfinite(d) || std::trunc(d) != d) {
          return "expected integer, got non-integral number " + value.dump();
        }
        // [-2^63, 2^63): the doubles that convert to int64 exactly.
        if (d < -9223372036854775808.0 || d >= 9223372036854775808.0) {
          return "expected integer, got number " + value.dump() + " outside the 64-bit range";
        }
        value = static_cast<std::int64_t>(d);
        ok = true;
      }
      break;
    case ParamType::kNumber:
      ok = value.is_number();
      break;
    case ParamType::kBoolean:
      ok = value.is_boolean();
      break;
    case ParamType::kObject:
      ok = value.is_object();
      break;
    case ParamType::kArray:
      ok = value.is_array();
      break;
    case ParamType::kAny:
      ok = true;
      break;
  }
  if (!ok) {
    return "expected " + std::string(to_string(spec.type)) + ", got " +
           std::string(json_type_name(value));
  }
  if (!spec.allowed_values.empty() && value.is_string()) {
    const auto& s = value.get_ref<const std::string&>();
    if (std::find(spec.allowed_values.begin(), spec.allowed_values.end(), s) ==
        spec.allowed_values.end()) {
      std::string message = "must be one of: ";
      for (std::size_t i = 0; i < spec.allowed_values.size(); ++i) {
        if (i > 0) message += ", ";
        message += spec.allowed_values[i];
      }
      return message;
    }
  }
  return std::nullopt;
}

}  // namespace detail

inline std::optional<std::string> file_name_problem(std::string_view name) {
  constexpr std::size_t kMaxBytes = 255;
  if (name.empty()) return "must not be empty";
  if (name.size() > kMaxBytes) return "must be at most " + std::to_string(kMaxBytes) + " bytes";
  if (name == "." || name == "..") return "must not be '.' or '..'";
  for (char ch : name) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F) {
      return "must not contain control characters (found " +
             std::string(c == 0 ? "NUL" : "byte " + std::to_string(c)) + ")";
    }
    if (c == '/' || c == '\\') return "must be a plain file name (no '/' or '\\')";
  }
  if (!detail::valid_utf8(name)) return "must be valid UTF-8";
  return std::nullopt;
}

inline std::optional<std::string> param_value_problem(const ParamSpec& spec,
                                                      nlohmann::json& value) {
  std::optional<std::string> problem = detail::check_param_value(spec, value);
  if (!problem && spec.name == "output_name" && value.is_string() &&
      !value.get_ref<const std::string&>().empty()) {
    problem = file_name_problem(value.get_ref<const std::string&>());
  }
  return problem;
}

inline std::optional<ParamError> complete_params(const GeneratorInfo& info, nlohmann::json& params,
                                                 std::string_view field_prefix) {
  if (params.is_null()) params = nlohmann::json::object();
  if (!params.is_object()) {
    return ParamError{std::string(field_prefix),
                      "expected object, got " + std::string(detail::json_type_name(params))};
  }

  // Keys iterate in sorted order, so the first unknown name reported is the first in sort.
  for (const auto& item : params.items()) {
    const std::string& key = item.key();
    const bool known = std::any_of(info.params.begin(), info.params.end(),
                                   [&](const ParamSpec& s) { return s.name == key; });
    if (known) continue;
    std::vector<std::string_view> names;
    for (const ParamSpec& spec : info.params) names.push_back(spec.name);
    std::sort(names.begin(), names.end());
    std::string message;
    if (names.empty()) {
      message = "unknown parameter (" + info.id + " takes no parameters)";
    } else {
      message = "unknown parameter (known: ";
      for (std::size_t i = 0; i < names.size(); ++i) {
        if (i > 0) message += ", ";
        message += names[i];
      }
      message += ")";
    }
    return ParamError{detail::param_field(field_prefix, key), std::move(message)};
  }

  for (const ParamSpec& spec : info.params) {
    auto it = params.find(spec.name);
    if (it == params.end()) {
      if (spec.required) {
        return ParamError{detail::param_field(field_prefix, spec.name),
                          "required parameter missing"};
      }
      if (!spec.default_value.is_null()) params[spec.name] = spec.default_value;
      continue;
    }
    std::optional<std::string> problem = param_value_problem(spec, *it);
    if (problem)
      return ParamError{detail::param_field(field_prefix, spec.name), std::move(*problem)};
  }
  return std::nullopt;
}

}  // namespace gen::sdk
