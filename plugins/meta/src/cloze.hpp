// QUESTIONS: cloze (fill-in-the-blank) multiple-choice questions from key sentences.
//
// The construction of automatic cloze question generation (e.g. Mostow et al., "Using
// Automated Questions to Assess Reading Comprehension, Vocabulary, and Effectiveness of
// Tutorial Interventions", Technology, Instruction, Cognition and Learning 2 (2004); Agarwal &
// Mannem, "Automatic Gap-fill Question Generation from Text Books", BEA workshop 2011):
// pick informative sentences (here: LexRank's best), blank a key phrase (here: the best YAKE
// keyword the sentence contains), and offer distractors of the same kind (here: other
// keywords of the document, preferring the same number of words and the nearest rank).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "lexrank.hpp"
#include "yake.hpp"

namespace gen::meta {

struct Question {
  std::string question;  ///< "Fill in the blank: ... _____ ..."
  std::vector<std::string> choices;
  std::size_t correct_index = 0;
  std::string answer;  ///< choices[correct_index]: the blanked text exactly as in the sentence
};

inline constexpr std::string_view kBlank = "_____";

/// Up to `count` questions from distinct sentences in rank order; each blanks the best of the
/// first `keyword_pool` distinct keywords (distinct_keywords) the sentence contains as words of
/// their own (not inside "O_DIRECTORY" or "read-only"), preferring one not yet an answer, then
/// one not at the start of the sentence; `choice_count` choices shuffled by a PRNG seeded with
/// the sentence's hash. A sentence without a keyword, or without enough distractors, gives no
/// question.
std::vector<Question> cloze_questions(const TextModel& model, const Ranking& ranking,
                                      const KeywordCandidates& keywords, std::size_t count,
                                      std::size_t choice_count, std::size_t keyword_pool);

}  // namespace gen::meta
