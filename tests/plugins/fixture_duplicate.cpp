// Registers `fixture.echo`, which fixture_ok (loaded first: sorted by file name) already
// offers. The host keeps the first and refuses this one.
#include <memory>

#include <gen/sdk/generator.hpp>

namespace {

class DuplicateEcho final : public gen::sdk::Generator {
 public:
  gen::sdk::GeneratorInfo info() const override {
    gen::sdk::GeneratorInfo info;
    info.id = "fixture.echo";
    info.version = "9.9.9";
    return info;
  }
  gen::sdk::Status run(gen::sdk::Context&) override {
    return gen::sdk::Status::permanent("the duplicate fixture.echo must never run");
  }
};

}  // namespace

GENERATOR_PLUGIN_REGISTER(registry) {
  registry.add(std::make_unique<DuplicateEcho>());
}
