// Registers one valid generator next to several whose GeneratorInfo the host must refuse
// (bad id, empty version, max_attempts 0, zero timeout, a parameter declared twice, a
// default of the wrong type, a null generator, info() throwing). The plugin still loads,
// with the refusals in its error.
#include <memory>
#include <stdexcept>

#include <gen/sdk/generator.hpp>

namespace {

using gen::sdk::GeneratorInfo;

class Configurable final : public gen::sdk::Generator {
 public:
  explicit Configurable(GeneratorInfo info) : info_(std::move(info)) {}
  GeneratorInfo info() const override { return info_; }
  gen::sdk::Status run(gen::sdk::Context&) override { return gen::sdk::Status::ok(); }

 private:
  GeneratorInfo info_;
};

class InfoThrows final : public gen::sdk::Generator {
 public:
  GeneratorInfo info() const override { throw std::logic_error("info exploded"); }
  gen::sdk::Status run(gen::sdk::Context&) override { return gen::sdk::Status::ok(); }
};

GeneratorInfo valid(std::string id) {
  GeneratorInfo info;
  info.id = std::move(id);
  info.version = "1.0.0";
  return info;
}

}  // namespace

GENERATOR_PLUGIN_REGISTER(registry) {
  registry.add(std::make_unique<Configurable>(valid("fixture_bad.valid")));

  registry.add(std::make_unique<Configurable>(valid("Fixture.UpperCase")));
  registry.add(std::make_unique<Configurable>(valid("nodot")));
  auto no_version = valid("fixture_bad.no_version");
  no_version.version.clear();
  registry.add(std::make_unique<Configurable>(no_version));
  auto zero_attempts = valid("fixture_bad.zero_attempts");
  zero_attempts.max_attempts = 0;
  registry.add(std::make_unique<Configurable>(zero_attempts));
  auto zero_timeout = valid("fixture_bad.zero_timeout");
  zero_timeout.timeout_ms = std::chrono::milliseconds(0);
  registry.add(std::make_unique<Configurable>(zero_timeout));
  auto twice = valid("fixture_bad.param_twice");
  twice.params = {{.name = "x"}, {.name = "x"}};
  registry.add(std::make_unique<Configurable>(twice));
  auto bad_default = valid("fixture_bad.bad_default");
  bad_default.params = {
      {.name = "n", .type = gen::sdk::ParamType::kInteger, .default_value = "three"}};
  registry.add(std::make_unique<Configurable>(bad_default));
  registry.add(nullptr);
  registry.add(std::make_unique<InfoThrows>());
}
