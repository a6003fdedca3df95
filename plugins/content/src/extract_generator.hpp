// content.extract: one document in, its text as located segments out (segments.json).
// The extract step of a content import (issue 15); docs/generators/content.extract.md.
#pragma once

#include <gen/sdk/generator.hpp>

namespace gen::content {

/// The media type of the output.
inline constexpr const char* kSegmentsMediaType = "application/vnd.generator.content-segments+json";

/// Input: exactly one artifact. Params: format ("auto"...), max_text_bytes,
/// max_unzipped_bytes. Output: `segments.json`:
///   {"format": "pdf", "title": "..." or null, "language": null,
///    "segments": [{"location": "page 1", "location_kind": "page", "text": "...",
///                  "tokens": 123}, ...]}
/// tokens = ceil(Unicode code points of text / 4) (estimate_tokens). Every refusal of the
/// input is a permanent failure naming it; cancellation returns promptly.
class ExtractGenerator final : public gen::sdk::Generator {
 public:
  gen::sdk::GeneratorInfo info() const override;
  gen::sdk::Status run(gen::sdk::Context& context) override;
};

}  // namespace gen::content
