// One generator declaring a parameter of every type, for the tests of the parameter rule: the
// SDK's own (tests/sdk/params_test.cpp, linked against gen::sdk alone) and the host's wrapper
// (tests/core/base/params_test.cpp). Header-only, SDK types only.
#pragma once

#include <gen/sdk/generator.hpp>
#include <nlohmann/json.hpp>

namespace gen::test {

/// "sample.render": template (required string), data (object, default {}), size ("A4" or
/// "Letter", default "A4"), copies (integer), scale (number), draft (boolean), pages (array),
/// extra (any), output_name (string, no default).
inline sdk::GeneratorInfo sample_generator_info() {
  using sdk::ParamType;
  sdk::GeneratorInfo info;
  info.id = "sample.render";
  info.version = "1.0.0";
  info.params = {
      {.name = "template", .type = ParamType::kString, .required = true},
      {.name = "data", .type = ParamType::kObject, .default_value = nlohmann::json::object()},
      {.name = "size",
       .type = ParamType::kString,
       .default_value = "A4",
       .allowed_values = {"A4", "Letter"}},
      {.name = "copies", .type = ParamType::kInteger},
      {.name = "scale", .type = ParamType::kNumber},
      {.name = "draft", .type = ParamType::kBoolean},
      {.name = "pages", .type = ParamType::kArray},
      {.name = "extra", .type = ParamType::kAny},
      {.name = "output_name", .type = ParamType::kString},
  };
  return info;
}

}  // namespace gen::test
