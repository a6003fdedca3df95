// hello.greet: writes greeting.txt with one greeting per name.
#pragma once

#include <gen/sdk/generator.hpp>

namespace hello {

/// Names come from the `name` param, or, when inputs are given, from their lines (one name
/// per non-empty line of every text/plain input). Stateless: `run()` may be called from
/// several threads at once.
class GreetGenerator final : public gen::sdk::Generator {
 public:
  gen::sdk::GeneratorInfo info() const override;
  gen::sdk::Status run(gen::sdk::Context& context) override;
};

}  // namespace hello
