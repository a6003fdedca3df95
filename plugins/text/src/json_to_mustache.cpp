#include "json_to_mustache.hpp"

#include <charconv>
#include <cmath>
#include <utility>

namespace gen::text {
namespace {

using Data = kainjow::mustache::data;

template <typename Number>
std::string to_chars_string(Number number) {
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, number);
  if (ec != std::errc{}) return {};
  return std::string(buffer, end);
}

}  // namespace

std::string format_number(const nlohmann::json& number) {
  if (number.is_number_unsigned()) return to_chars_string(number.get<std::uint64_t>());
  if (number.is_number_integer()) return to_chars_string(number.get<std::int64_t>());
  const double value = number.get<double>();
  // 2^53: every integral double below it prints exactly as an integer.
  constexpr double kExactIntegerLimit = 9007199254740992.0;
  if (std::isfinite(value) && std::trunc(value) == value && std::fabs(value) < kExactIntegerLimit) {
    return to_chars_string(static_cast<std::int64_t>(value));
  }
  return to_chars_string(value);
}

Data to_mustache(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::object: {
      Data object(Data::type::object);
      for (auto it = value.begin(); it != value.end(); ++it) {
        object[it.key()] = to_mustache(it.value());
      }
      return object;
    }
    case nlohmann::json::value_t::array: {
      Data list(Data::type::list);
      // kainjow only exposes the list read-only and copies on push_back (deep copies, as its
      // move constructor is not noexcept). The vector itself was allocated non-const, so
      // filling it in place through const_cast is well-defined and avoids a copy per item.
      auto& items = const_cast<kainjow::mustache::basic_list<std::string>&>(list.list_value());
      items.reserve(value.size());
      for (const auto& item : value) items.emplace_back(to_mustache(item));
      return list;
    }
    case nlohmann::json::value_t::string:
      return Data(value.get_ref<const std::string&>());
    case nlohmann::json::value_t::boolean:
      return Data(value.get<bool>());
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float:
      return Data(format_number(value));
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::binary:
    case nlohmann::json::value_t::discarded:
      break;
  }
  return Data(false);
}

void merge_into(nlohmann::json& base, const nlohmann::json& overlay) {
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

}  // namespace gen::text
