// The pdf plugin: Markdown typesetting and the QPDF toolkit.
#include <memory>

#include <gen/sdk/generator.hpp>

#include "src/render_generator.hpp"
#include "src/toolkit.hpp"

GENERATOR_PLUGIN_REGISTER(registry) {
  registry.add(std::make_unique<gen::pdf::RenderGenerator>());
  registry.add(std::make_unique<gen::pdf::MergeGenerator>());
  registry.add(std::make_unique<gen::pdf::SplitGenerator>());
  registry.add(std::make_unique<gen::pdf::RotateGenerator>());
  registry.add(std::make_unique<gen::pdf::StampGenerator>());
  registry.add(std::make_unique<gen::pdf::EncryptGenerator>());
  registry.add(std::make_unique<gen::pdf::DecryptGenerator>());
  registry.add(std::make_unique<gen::pdf::MetadataGenerator>());
  registry.add(std::make_unique<gen::pdf::OptimizeGenerator>());
  registry.add(std::make_unique<gen::pdf::InfoGenerator>());
  registry.add(std::make_unique<gen::pdf::ExtractTextGenerator>());
}
