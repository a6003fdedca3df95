// Sentence ranking for PLUG, BLURB, SUMMARY and QUESTIONS: LexRank.
//
// G. Erkan and D. R. Radev, "LexRank: Graph-based Lexical Centrality as Salience in Text
// Summarization", Journal of Artificial Intelligence Research 22 (2004) 457-479. Continuous
// LexRank: sentences are nodes, edges are weighted by the TF-IDF cosine similarity of their
// stemmed non-stop words (IDF over the document's candidate sentences, smoothed as
// 1 + ln(N / df) so that a term in every sentence still counts), and the ranking is PageRank
// with damping 0.85 over the row-normalised graph, iterated until the scores change by less
// than 1e-6 in sum (at most 100 iterations). Redundancy between picked sentences is avoided as
// in MEAD's cross-sentence subsumption (Radev et al. 2004): a sentence more than 0.5 similar to
// one already picked is passed over while others fit.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "text_model.hpp"

namespace gen::meta {

/// A sentence that may be picked.
struct Candidate {
  std::uint32_t sentence = 0;  ///< index in TextModel::sentences
  std::string text;            ///< whitespace collapsed to single spaces
  std::size_t chars = 0;       ///< code points of `text`
};

struct Ranking {
  std::vector<Candidate> candidates;  ///< in document order
  std::vector<double> scores;         ///< LexRank score per candidate
  std::vector<std::size_t> order;     ///< candidate indexes, best first (ties: earlier first)
  std::vector<float> similarity;      ///< candidates x candidates cosine, row-major
  double sim(std::size_t a, std::size_t b) const { return similarity[a * candidates.size() + b]; }
};

/// At most this many candidate sentences (the first ones) are ranked: the graph is quadratic.
inline constexpr std::size_t kMaxCandidates = 400;

/// Ranks the document's sentences. Candidates are, in order of preference (the first rule
/// that leaves any sentence applies): sentences of 5 to 60 words, at least 75% of whose
/// non-space bytes are in letter words (not code or tables), that start like a sentence (a
/// capital, digit or quote: what analysis::sentences() splits before, but not an identifier
/// such as "O_EXCL") and end with . ! ? or …
/// (list items and headings are not sentences; joined by spaces, the picked sentences then
/// split again into the same sentences); then the 5-60 word and letter rules alone; then every
/// sentence with a word.
Ranking rank_sentences(const TextModel& model);

/// The picked sentences for a field: up to `max_sentences` in rank order whose joined length
/// (single spaces between) stays within `max_chars` code points, redundant ones passed over
/// while others fit, written in document order; a sentence without final punctuation gets a
/// full stop. When no sentence fits, the best one cut at a word boundary with "…". Empty
/// when there are no candidates. `min_sentences` is the count the redundancy rule yields to.
std::string pick_sentences(const Ranking& ranking, std::size_t min_sentences,
                           std::size_t max_sentences, std::size_t max_chars);

/// True when the (collapsed) sentence ends with . ! ? or …, possibly followed by quotes or a
/// closing parenthesis.
bool has_final_punctuation(std::string_view sentence);

}  // namespace gen::meta
