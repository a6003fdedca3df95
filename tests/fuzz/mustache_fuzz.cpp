// Mustache compile + render (plugins/text/src/mustache.cpp), as text.template runs it.
// Input: the template, then optionally a NUL byte and the JSON data (a fixed document when
// absent or not JSON). Even input sizes render with HTML escaping, odd ones without.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "mustache.hpp"

namespace {

using nlohmann::json;

const json& default_data() {
  static const json data = json::parse(R"({
    "name": "Ada", "title": "<b>Dr</b> & \"co\"", "count": 3, "ratio": 2.5, "flag": true,
    "off": false, "none": null, "empty": [], "text": "line 1\nline 2",
    "items": [{"n": 1, "tags": ["a", "b"]}, {"n": 2, "tags": []}, {"n": 3.25, "ok": true}],
    "nested": {"a": {"b": {"c": "deep"}}, "list": [1, 2]}
  })");
  return data;
}

std::size_t longest_array(const json& value) {
  std::size_t longest = value.is_array() ? value.size() : 0;
  if (value.is_structured()) {
    for (const json& child : value) longest = std::max(longest, longest_array(child));
  }
  return longest;
}

// Sections nest at most (number of '#' in the template) deep and each iterates at most the
// longest list, so (longest list)^(sections) bounds the renders of any part of the template,
// and each tag prints at most the whole data. A template bomb ({{#l}}{{#l}}{{#l}}... over a
// long list) is a known defect (issue 13 item 7, an output cap is coming): inputs whose bound
// passes ~200 MB are skipped so the bomb does not hide everything else.
bool bounded(std::string_view tmpl, const json& data, std::size_t data_bytes) {
  const double sections = static_cast<double>(std::count(tmpl.begin(), tmpl.end(), '#'));
  const double list = static_cast<double>(std::max<std::size_t>(longest_array(data), 1));
  const double per_render =
      static_cast<double>(tmpl.size()) * (1.0 + static_cast<double>(data_bytes));
  return sections * std::log(list) + std::log(per_render) < std::log(2e8);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view input = gen::fuzz::as_text(bytes, size);
  const auto nul = input.find('\0');
  const std::string_view tmpl = input.substr(0, nul);
  json parsed;
  const json* data = &default_data();
  std::size_t data_bytes = 512;
  if (nul != std::string_view::npos) {
    const std::string_view text = input.substr(nul + 1);
    if (!gen::fuzz::json_nesting_within(text, gen::fuzz::kMaxJsonNesting)) return -1;
    parsed = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_discarded()) {
      data = &parsed;
      data_bytes = text.size();
    }
  }
  if (!bounded(tmpl, *data, data_bytes)) return -1;

  std::string error;
  const auto compiled = gen::text::MustacheTemplate::compile(tmpl, error);
  if (!compiled) {
    if (error.empty()) __builtin_trap();  // a refusal must say why
    return 0;
  }
  std::string out;
  compiled->render(*data, size % 2 == 0, out);
  return 0;
}
