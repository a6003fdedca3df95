// Validation of a step's params against the generator's declared ParamSpecs: the SDK's rules
// (gen/sdk/params.hpp) with the host's error type.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <gen/sdk/generator.hpp>
#include <nlohmann/json.hpp>

namespace gen {

/// Returns `params` with defaults filled in and integral floats of integer params stored as
/// integers, by gen::sdk::complete_params's rules (see gen/sdk/params.hpp). Throws
/// gen::Error(kValidationFailed) with the first problem, naming the field as
/// `<field_prefix>.<param>` (e.g. "steps[0].params.template"): params not an object, an
/// unknown param, a required one missing, a wrong JSON type, a value not among the allowed
/// ones, or an `output_name` that fails `file_name_problem`.
nlohmann::json validate_params(const sdk::GeneratorInfo& info, const nlohmann::json& params,
                               const std::string& field_prefix);

/// Why `name` cannot name an artifact (an input or output file), or nullopt when it can: it
/// must be 1-255 bytes of valid UTF-8 without control characters (NUL would cut it in storage,
/// CR/LF would reach headers), '/' or '\\', and not "." or "..". The message has no field.
/// The SDK's gen::sdk::file_name_problem, for the host's own artifact names (uploads).
std::optional<std::string> file_name_problem(std::string_view name);

}  // namespace gen
