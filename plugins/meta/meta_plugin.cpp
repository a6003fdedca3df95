// The meta plugin: meta.index and meta.generate.
#include <memory>

#include <gen/sdk/generator.hpp>

#include "src/generators.hpp"

GENERATOR_PLUGIN_REGISTER(registry) {
  registry.add(std::make_unique<gen::meta::IndexGenerator>());
  registry.add(std::make_unique<gen::meta::GenerateGenerator>());
}
