// The host's side of the SDK's parameter validation (gen/sdk/params.hpp holds the rules, so
// the host, the SDK's FakeContext and generator-plugin-check cannot disagree): a refusal
// becomes the gen::Error the REST edge maps to 400 VALIDATION_FAILED.
#include "gen/core/base/params.hpp"

#include <gen/sdk/params.hpp>

#include "gen/core/base/errors.hpp"

namespace gen {

std::optional<std::string> file_name_problem(std::string_view name) {
  return sdk::file_name_problem(name);
}

nlohmann::json validate_params(const sdk::GeneratorInfo& info, const nlohmann::json& params,
                               const std::string& field_prefix) {
  nlohmann::json out = params;
  if (auto error = sdk::complete_params(info, out, field_prefix)) {
    throw Error(ErrorCode::kValidationFailed, std::move(error->message), std::move(error->field));
  }
  return out;
}

}  // namespace gen
