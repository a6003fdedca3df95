// Validation of a step's params against the generator's declared ParamSpecs.
//
// Decisions:
//  * `params` null counts as an empty object (a step that gives no params).
//  * Unknown names are reported first: a misspelt name would otherwise surface as the less
//    helpful "required parameter missing" of the name it was meant to be.
//  * Integer: a JSON integer, or a float with an integral value in the int64 range (2.0, as
//    some JSON writers emit), which is normalised to the integer 2; 2.5 is refused.
//  * An explicit null is a value, not an absence: refused unless the type is `any`.
//  * Only the first problem is reported (one field per gen::Error).
#include "gen/core/base/params.hpp"

#include <algorithm>
#include <cmath>
#include <string_view>
#include <vector>

#include "gen/core/base/errors.hpp"

namespace gen {
namespace {

using nlohmann::json;

std::string field_name(const std::string& prefix, std::string_view name) {
  if (prefix.empty()) return std::string(name);
  std::string field = prefix;
  field += '.';
  field += name;
  return field;
}

std::string json_type_name(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "number";
    case json::value_t::string:
      return "string";
    case json::value_t::array:
      return "array";
    case json::value_t::object:
      return "object";
    case json::value_t::binary:
      return "binary";
    case json::value_t::discarded:
      break;
  }
  return "nothing";
}

[[noreturn]] void fail(const std::string& field, std::string message) {
  throw Error(ErrorCode::kValidationFailed, std::move(message), field);
}

/// Checks `value` against `spec`, normalising integral floats for integer params.
void check_value(const sdk::ParamSpec& spec, json& value, const std::string& field) {
  bool ok = false;
  switch (spec.type) {
    case sdk::ParamType::kString:
      ok = value.is_string();
      break;
    case sdk::ParamType::kInteger:
      if (value.is_number_integer()) {
        ok = true;
      } else if (value.is_number_float()) {
        const double d = value.get<double>();
        // [-2^63, 2^63): the doubles that convert to int64 exactly.
        if (std::isfinite(d) && std::trunc(d) == d && d >= -9223372036854775808.0 &&
            d < 9223372036854775808.0) {
          value = static_cast<std::int64_t>(d);
          ok = true;
        } else {
          fail(field, "expected integer, got non-integral number " + value.dump());
        }
      }
      break;
    case sdk::ParamType::kNumber:
      ok = value.is_number();
      break;
    case sdk::ParamType::kBoolean:
      ok = value.is_boolean();
      break;
    case sdk::ParamType::kObject:
      ok = value.is_object();
      break;
    case sdk::ParamType::kArray:
      ok = value.is_array();
      break;
    case sdk::ParamType::kAny:
      ok = true;
      break;
  }
  if (!ok) {
    fail(field,
         "expected " + std::string(sdk::to_string(spec.type)) + ", got " + json_type_name(value));
  }
  if (!spec.allowed_values.empty() && value.is_string()) {
    const auto& s = value.get_ref<const std::string&>();
    if (std::find(spec.allowed_values.begin(), spec.allowed_values.end(), s) ==
        spec.allowed_values.end()) {
      std::string list;
      for (const auto& allowed : spec.allowed_values) {
        if (!list.empty()) list += ", ";
        list += allowed;
      }
      fail(field, "must be one of: " + list);
    }
  }
}

// Well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF).
// Hand-written: 25 lines, where a library (ICU) would be a new dependency of core.
bool valid_utf8(std::string_view s) {
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

}  // namespace

std::optional<std::string> file_name_problem(std::string_view name) {
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
  if (!valid_utf8(name)) return "must be valid UTF-8";
  return std::nullopt;
}

json validate_params(const sdk::GeneratorInfo& info, const json& params,
                     const std::string& field_prefix) {
  if (!params.is_null() && !params.is_object()) {
    fail(field_prefix, "expected object, got " + json_type_name(params));
  }
  json out = params.is_null() ? json::object() : params;

  for (auto it = out.begin(); it != out.end(); ++it) {
    const bool known = std::any_of(info.params.begin(), info.params.end(),
                                   [&](const sdk::ParamSpec& s) { return s.name == it.key(); });
    if (known) continue;
    std::vector<std::string_view> names;
    for (const auto& spec : info.params) names.push_back(spec.name);
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
    fail(field_name(field_prefix, it.key()), std::move(message));
  }

  for (const auto& spec : info.params) {
    const std::string field = field_name(field_prefix, spec.name);
    auto it = out.find(spec.name);
    if (it == out.end()) {
      if (spec.required) fail(field, "required parameter missing");
      if (!spec.default_value.is_null()) out[spec.name] = spec.default_value;
      continue;
    }
    check_value(spec, *it, field);
    if (spec.name == "output_name" && it->is_string() &&
        !it->get_ref<const std::string&>().empty()) {
      if (auto problem = file_name_problem(it->get_ref<const std::string&>())) {
        fail(field, *problem);
      }
    }
  }
  return out;
}

}  // namespace gen
