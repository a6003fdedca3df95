// Validation of a step's params against the generator's declared ParamSpecs.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <gen/sdk/generator.hpp>
#include <nlohmann/json.hpp>

namespace gen {

/// Returns `params` with defaults filled in. Throws gen::Error(kValidationFailed) naming the
/// field as `<field_prefix>.<param>` (e.g. "steps[0].params.template") when `params` is not
/// an object, a required param is missing, a param is unknown, has the wrong JSON type, or
/// is not one of its allowed values. A string param named `output_name` (the conventional name
/// of the artifact a generator writes) must be empty (the generator's default) or pass
/// `file_name_problem`.
nlohmann::json validate_params(const sdk::GeneratorInfo& info, const nlohmann::json& params,
                               const std::string& field_prefix);

/// Why `name` cannot name an artifact (an input or output file), or nullopt when it can: it
/// must be 1-255 bytes of valid UTF-8 without control characters (NUL would cut it in storage,
/// CR/LF would reach headers), '/' or '\\', and not "." or "..". The message has no field.
std::optional<std::string> file_name_problem(std::string_view name);

}  // namespace gen
