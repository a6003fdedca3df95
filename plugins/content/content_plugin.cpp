// The content plugin: content.extract (the extract step of a content import).
#include <memory>

#include <gen/sdk/generator.hpp>

#include "src/extract_generator.hpp"

GENERATOR_PLUGIN_REGISTER(registry) {
  registry.add(std::make_unique<gen::content::ExtractGenerator>());
}
