// One trivial generator; used by fixtures whose manifest is the point, so the host must
// never get as far as registering it.
#include <memory>

#include <gen/sdk/generator.hpp>

namespace {

class Minimal final : public gen::sdk::Generator {
 public:
  gen::sdk::GeneratorInfo info() const override {
    gen::sdk::GeneratorInfo info;
    info.id = "fixture.minimal";
    info.version = "1.0.0";
    return info;
  }
  gen::sdk::Status run(gen::sdk::Context&) override { return gen::sdk::Status::ok(); }
};

}  // namespace

GENERATOR_PLUGIN_REGISTER(registry) {
  registry.add(std::make_unique<Minimal>());
}
