// The QPDF toolkit generators: pdf.merge, pdf.split, pdf.rotate, pdf.info, pdf.extract_text
// (toolkit.cpp), pdf.stamp (stamp.cpp), pdf.encrypt, pdf.decrypt (security.cpp), pdf.metadata
// and pdf.optimize (document.cpp).
//
// Every input must be a PDF. A zero-byte, non-PDF, damaged or encrypted-without-password
// input fails the task at once (Status::permanent) with a message naming the input and what
// is wrong with it. QPDF runs strict (no xref reconstruction) and without printing warnings.
#pragma once

#include <gen/sdk/generator.hpp>

namespace gen::pdf {

class MergeGenerator final : public gen::sdk::Generator {
 public:
  gen::sdk::GeneratorInfo info() const override;
  gen::sdk::Status run(gen::sdk::Context& context) override;
};

class SplitGenerator final : public gen::sdk::Generator {
 public:
  gen::sdk::GeneratorInfo info() const override;
  gen::sdk::Status run(gen::sdk::Context& context) override;
};

class RotateGenerator final : public gen::sdk::Generator {
 public:
  gen::sdk::GeneratorInfo info() const override;
  gen::sdk::Status run(gen::sdk::Context& context) override;
};

class InfoGenerator final : public gen::sdk::Generator {
 public:
  gen::sdk::GeneratorInfo info() const override;
  gen::sdk::Status run(gen::sdk::Context& context) override;
};

class ExtractTextGenerator final : public gen::sdk::Generator {
 public:
  gen::sdk::GeneratorInfo info() const override;
  gen::sdk::Status run(gen::sdk::Context& context) override;
};

class StampGenerator final : public gen::sdk::Generator {
 public:
  gen::sdk::GeneratorInfo info() const override;
  gen::sdk::Status run(gen::sdk::Context& context) override;
};

class EncryptGenerator final : public gen::sdk::Generator {
 public:
  gen::sdk::GeneratorInfo info() const override;
  gen::sdk::Status run(gen::sdk::Context& context) override;
};

class DecryptGenerator final : public gen::sdk::Generator {
 public:
  gen::sdk::GeneratorInfo info() const override;
  gen::sdk::Status run(gen::sdk::Context& context) override;
};

class MetadataGenerator final : public gen::sdk::Generator {
 public:
  gen::sdk::GeneratorInfo info() const override;
  gen::sdk::Status run(gen::sdk::Context& context) override;
};

class OptimizeGenerator final : public gen::sdk::Generator {
 public:
  gen::sdk::GeneratorInfo info() const override;
  gen::sdk::Status run(gen::sdk::Context& context) override;
};

}  // namespace gen::pdf
