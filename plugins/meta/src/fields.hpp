// The native provider: one metadata field of a document, by the methods of lexrank.hpp,
// yake.hpp and cloze.hpp, within the field's limits (docs/generators/meta.generate.md).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "document.hpp"
#include "text_model.hpp"

namespace gen::meta {

inline constexpr std::string_view kFields[] = {"TITLE",   "PLUG",     "BLURB",
                                               "SUMMARY", "KEYWORDS", "QUESTIONS"};

/// The length limits, in code points, and sentence counts.
inline constexpr std::size_t kTitleMaxChars = 120;
inline constexpr std::size_t kPlugMaxChars = 200;
inline constexpr std::size_t kBlurbMaxChars = 600;
inline constexpr std::size_t kSummaryMaxChars = 1200;
inline constexpr std::size_t kMinKeywords = 5;

struct FieldOptions {
  std::size_t max_keywords = 10;
  std::size_t question_count = 5;
  std::size_t choice_count = 4;
  std::vector<std::string> taxonomy;
};

struct FieldValue {
  nlohmann::json value;
  std::string method;  ///< "native:lexrank", "native:yake"...
};

/// Generates `field` (one of kFields). Returns the reason when the document cannot give it
/// (too little text), which is a permanent failure.
std::optional<std::string> native_field(std::string_view field, const Document& document,
                                        TextModel& model, const FieldOptions& options,
                                        FieldValue& out);

}  // namespace gen::meta
