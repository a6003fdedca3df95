// Its registration throws after adding one generator: the host must mark the plugin FAILED
// with the exception's message and keep none of its generators.
#include <memory>
#include <stdexcept>

#include <gen/sdk/generator.hpp>

namespace {

class Registered final : public gen::sdk::Generator {
 public:
  gen::sdk::GeneratorInfo info() const override {
    gen::sdk::GeneratorInfo info;
    info.id = "fixture.half_registered";
    info.version = "1.0.0";
    return info;
  }
  gen::sdk::Status run(gen::sdk::Context&) override { return gen::sdk::Status::ok(); }
};

}  // namespace

GENERATOR_PLUGIN_REGISTER(registry) {
  registry.add(std::make_unique<Registered>());
  throw std::runtime_error("fixture: registration exploded");
}
