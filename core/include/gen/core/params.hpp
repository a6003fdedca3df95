// Validation of a step's params against the generator's declared ParamSpecs.
#pragma once

#include <string>

#include <gen/sdk/generator.hpp>
#include <nlohmann/json.hpp>

namespace gen {

/// Returns `params` with defaults filled in. Throws gen::Error(kValidationFailed) naming the
/// field as `<field_prefix>.<param>` (e.g. "steps[0].params.template") when `params` is not
/// an object, a required param is missing, a param is unknown, has the wrong JSON type, or
/// is not one of its allowed values.
nlohmann::json validate_params(const sdk::GeneratorInfo& info, const nlohmann::json& params,
                               const std::string& field_prefix);

}  // namespace gen
