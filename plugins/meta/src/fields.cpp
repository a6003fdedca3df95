#include "fields.hpp"

#include "cloze.hpp"
#include "lexrank.hpp"
#include "yake.hpp"

namespace gen::meta {
namespace {

using nlohmann::json;

// TITLE: the document's own title; else its first heading (the first element of the first
// heading path, "Install > On Debian" -> "Install"); else its first sentence. One line, cut
// at a word boundary to 120 characters.
FieldValue title(const Document& document, const TextModel& model) {
  if (std::string t = collapse_whitespace(document.title); !t.empty()) {
    return {cut_at_word(t, kTitleMaxChars), "native:document-title"};
  }
  for (const Segment& segment : document.segments) {
    if (segment.location_kind != "heading") continue;
    std::string_view path = segment.location;
    std::string first = collapse_whitespace(path.substr(0, path.find(" > ")));
    if (!first.empty()) return {cut_at_word(first, kTitleMaxChars), "native:first-heading"};
  }
  for (const SentenceSpan& sentence : model.sentences()) {
    if (sentence.token_count == 0) continue;
    return {cut_at_word(collapse_whitespace(model.text_of(sentence)), kTitleMaxChars),
            "native:first-sentence"};
  }
  return {};
}

std::string too_little_text(const KeywordCandidates& candidates) {
  return "too little text for " + std::to_string(kMinKeywords) + " keywords: the document has " +
         std::to_string(candidates.ranked.size()) + " distinct terms";
}

}  // namespace

std::optional<std::string> native_field(std::string_view field, const Document& document,
                                        TextModel& model, const FieldOptions& options,
                                        FieldValue& out) {
  if (field == "TITLE") {
    out = title(document, model);  // the caller reads little text for a TITLE
    if (out.method.empty()) return "the document has no text to take a title from";
    return std::nullopt;
  }
  if (field == "KEYWORDS") {
    const KeywordCandidates candidates = yake(model);
    if (candidates.ranked.size() < kMinKeywords) return too_little_text(candidates);
    out.value = choose_keywords(model, candidates, options.max_keywords, options.taxonomy);
    out.method = options.taxonomy.empty() ? "native:yake" : "native:yake+taxonomy";
    return std::nullopt;
  }
  const Ranking ranking = rank_sentences(model);
  if (ranking.candidates.empty()) return "the document has no sentences to pick from";
  if (field == "QUESTIONS") {
    const KeywordCandidates candidates = yake(model);
    if (candidates.ranked.size() < kMinKeywords) return too_little_text(candidates);
    // Answers and distractors come from the best 15 keywords (KEYWORDS' largest count).
    const std::vector<Question> questions = cloze_questions(
        model, ranking, candidates, options.question_count, options.choice_count, 15);
    if (questions.empty()) {
      return "no question possible: none of the document's " +
             std::to_string(ranking.candidates.size()) +
             " candidate sentences contains one of its keywords with enough distractors";
    }
    out.value = json::array();
    for (const Question& q : questions) {
      out.value.push_back(
          {{"question", q.question}, {"choices", q.choices}, {"correct_index", q.correct_index}});
    }
    out.method = "native:cloze";
    return std::nullopt;
  }
  std::string text;
  if (field == "PLUG") {
    text = pick_sentences(ranking, 1, 1, kPlugMaxChars);
  } else if (field == "BLURB") {
    text = pick_sentences(ranking, 2, 3, kBlurbMaxChars);
  } else {
    text = pick_sentences(ranking, 3, 8, kSummaryMaxChars);
  }
  out.value = std::move(text);
  out.method = "native:lexrank";
  return std::nullopt;
}

}  // namespace gen::meta
