// content.extract (plugins/content): format detection and every extractor (Markdown, HTML
// with gumbo, DOCX and SCORM through libzip + libxml2, plain text, PDF through the pdf
// plugin's extraction). Input: one byte choosing the input's name and media type (the
// claimed format, so the mismatch paths are reached too), then the document. Run with the
// SDK's FakeContext; Generator::run() must not throw (the host would turn it into a
// retryable failure), so an escaping exception fails the run. Limits are lowered so one
// execution stays in milliseconds.
#include <cstdint>
#include <cstdlib>
#include <string>

#include <gen/sdk/testing.hpp>

#include "extract_generator.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  if (size < 1) return 0;
  struct Claim {
    const char* name;
    const char* media_type;
  };
  static constexpr Claim kClaims[] = {
      {"doc.md", "text/markdown"},
      {"page.html", "text/html"},
      {"doc.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
      {"course.zip", "application/zip"},
      {"notes.txt", "text/plain"},
      {"doc.pdf", "application/pdf"},
      {"upload", "application/octet-stream"},
  };
  const Claim& claim = kClaims[bytes[0] % std::size(kClaims)];
  const std::string document(gen::fuzz::as_text(bytes + 1, size - 1));

  gen::content::ExtractGenerator generator;
  gen::sdk::testing::FakeContext context(
      {{"max_text_bytes", 4 << 20}, {"max_unzipped_bytes", 16 << 20}});
  context.add_input(claim.name, claim.media_type, document);
  const gen::sdk::Status status = generator.run(context);
  // Refusals are permanent; an internal (retryable) failure is a finding.
  if (status.kind() == gen::sdk::Status::Kind::kRetryable) std::abort();
  return 0;
}
