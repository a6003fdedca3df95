// The pdf plugin: Markdown typesetting and the QPDF toolkit.
#include <memory>

#include <gen/sdk/generator.hpp>

#include "src/render_generator.hpp"

GENERATOR_PLUGIN_REGISTER(registry) {
  registry.add(std::make_unique<gen::pdf::RenderGenerator>());
}
