// bench.noop: returns at once. The queue benchmark measures the task table, not a plugin.
#include <gen/sdk/generator.hpp>

namespace {

class Noop final : public gen::sdk::Generator {
 public:
  gen::sdk::GeneratorInfo info() const override {
    gen::sdk::GeneratorInfo i;
    i.id = "bench.noop";
    i.version = "1.0.0";
    i.description = "Does nothing; for queue benchmarks.";
    i.input_media_types = {};
    i.max_attempts = 1;
    return i;
  }
  gen::sdk::Status run(gen::sdk::Context&) override { return gen::sdk::Status::ok(); }
};

}  // namespace

GENERATOR_PLUGIN_REGISTER(registry) {
  registry.add(std::make_unique<Noop>());
}
