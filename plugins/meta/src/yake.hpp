// KEYWORDS: YAKE! (Yet Another Keyword Extractor).
//
// R. Campos, V. Mangaravite, A. Pasquali, A. Jorge, C. Nunes, A. Jatowt, "YAKE! Keyword
// extraction from single documents using multiple local features", Information Sciences 509
// (2020) 257-289; the feature formulas as in the authors' reference implementation
// (github.com/LIAAD/yake). Unsupervised, single document, no training data: each term gets
// casing, position, frequency, relatedness-to-context and sentence-spread features, combined
// into a score H (lower is better); a candidate of 1 to 3 words is scored from its terms' H
// (stop words inside weighted by their co-occurrence probability) and its frequency.
//
// Adapted to gen::analysis: terms are stems ("file" and "files" are one term, so candidates
// are deduplicated by their stems) and stop words are the language's Snowball list; words of
// fewer than 3 letters and digits count as stop words (as in the reference implementation).
// A candidate neither starts nor ends with a stop word and never spans punctuation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "text_model.hpp"

namespace gen::meta {

struct Keyword {
  /// The most frequent surface form in the text (whitespace collapsed; ties: the first seen).
  std::string text;
  std::vector<std::int32_t> nodes;  ///< TextModel::node_of_term of its words
  std::size_t words = 0;
  double score = 0.0;  ///< YAKE's S(kw), lower is better
};

struct KeywordCandidates {
  std::vector<Keyword> ranked;  ///< every candidate, best first (ties: first occurrence first)
};

/// Scores every 1-3 word candidate of the document.
KeywordCandidates yake(const TextModel& model);

/// "file descriptor" -> the stems of its non-stop words, space-separated ("file descriptor");
/// the key that matches a keyword with a taxonomy term.
std::string stem_key(TextModel& model, std::string_view text);
/// The same key for a keyword of the document.
std::string stem_key(const TextModel& model, const Keyword& keyword);

/// The best candidates that do not repeat a better one, up to `count`, as indexes into
/// `candidates.ranked`. YAKE ranks overlapping phrases together ("General Public License",
/// "GNU General Public", "Public License"); a candidate is passed over when all its stems are
/// in one picked keyword, or when it shares two or more stems with one.
std::vector<std::size_t> distinct_keywords(const TextModel& model,
                                           const KeywordCandidates& candidates, std::size_t count);

/// The KEYWORDS value: distinct_keywords(count); with a taxonomy, first the candidates whose
/// stem key equals a taxonomy term's (written as the taxonomy spells it, each term once, in
/// the candidates' order), then the best remaining distinct candidates.
std::vector<std::string> choose_keywords(TextModel& model, const KeywordCandidates& candidates,
                                         std::size_t count,
                                         const std::vector<std::string>& taxonomy);

}  // namespace gen::meta
