// pdf.render: GitHub-flavoured Markdown to a typeset PDF.
#pragma once

#include <gen/sdk/generator.hpp>

namespace gen::pdf {

class RenderGenerator final : public gen::sdk::Generator {
 public:
  gen::sdk::GeneratorInfo info() const override;
  gen::sdk::Status run(gen::sdk::Context& context) override;
};

}  // namespace gen::pdf
