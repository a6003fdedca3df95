// The meta plugin's generators (docs/generators/meta.index.md, meta.generate.md).
#pragma once

#include <gen/sdk/generator.hpp>

namespace gen::meta {

/// meta.index: a segments artifact -> the index artifact (the same, with `language` set and
/// each segment's search `terms`, gen::analysis::index_terms).
class IndexGenerator final : public sdk::Generator {
 public:
  sdk::GeneratorInfo info() const override;
  sdk::Status run(sdk::Context& ctx) override;
};

/// meta.generate: one metadata field of the document in an index (or segments) artifact,
/// written as field-<FIELD>.json; the input is passed through for the next field's step.
class GenerateGenerator final : public sdk::Generator {
 public:
  sdk::GeneratorInfo info() const override;
  sdk::Status run(sdk::Context& ctx) override;
};

}  // namespace gen::meta
