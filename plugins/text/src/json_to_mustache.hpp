// Conversion of nlohmann::json into kainjow::mustache data, and Mustache rendering helpers
// shared by text.template (and its tests through the plugin).
#pragma once

#include <string>

#include <kainjow/mustache.hpp>
#include <nlohmann/json.hpp>

namespace gen::text {

/// Converts JSON to Mustache data: objects stay objects, arrays become lists, strings stay
/// strings, numbers become their natural text (integers and integral floats without ".0",
/// other floats in the shortest form that round-trips), booleans stay booleans and null
/// becomes false (renders as nothing, skips sections, opens inverted sections).
kainjow::mustache::data to_mustache(const nlohmann::json& value);

/// The natural text of a JSON number ("42", "-3", "2.5", "1e+300").
std::string format_number(const nlohmann::json& number);

/// Deep merge: objects merge key by key, recursively; anything else in `overlay` replaces
/// what `base` has.
void merge_into(nlohmann::json& base, const nlohmann::json& overlay);

}  // namespace gen::text
