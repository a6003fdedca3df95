// One document analysed once for all the native methods: its words (as gen::analysis cuts
// them), their stems and stop word flags, and its sentences, in document order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <gen/analysis/analyzer.hpp>

#include "document.hpp"

namespace gen::meta {

/// A distinct lowercased word of the document.
struct Term {
  std::int32_t stem = 0;  ///< index in TextModel::stems
  bool stop = false;      ///< a stop word of the language
  /// Not a keyword word: a stop word, shorter than 3 letters, or digits only (YAKE's
  /// reference implementation treats these as stop words).
  bool keyword_stop = false;
  bool digits = false;  ///< digits only
};

/// One word occurrence.
struct Token {
  std::int32_t term = 0;
  std::uint32_t segment = 0;
  std::uint32_t offset = 0;  ///< bytes into the segment's text
  std::uint32_t size = 0;
  std::uint32_t sentence = 0;  ///< index in TextModel::sentences
  /// Starts a chunk: the first word of its sentence, or punctuation separates it from the word
  /// before (keyphrase candidates never span a chunk boundary).
  bool chunk_start = false;
  bool capitalized = false;  ///< its first letter is a capital in the text
  bool acronym = false;      ///< two or more letters, all capitals
  /// Part of an identifier: an underscore touches it ("O_CREAT" -> "o", "creat"). Not a
  /// keyword (nor part of one), and never blanked by a question.
  bool identifier_part = false;
};

struct SentenceSpan {
  std::uint32_t segment = 0;
  std::uint32_t offset = 0;  ///< bytes into the segment's text
  std::uint32_t size = 0;
  std::uint32_t first_token = 0;
  std::uint32_t token_count = 0;
};

class TextModel {
 public:
  /// The native methods read the first 1 MiB of text (some 170,000 words): metadata of a long
  /// book does not depend on its end, and the work stays bounded whatever the input.
  static constexpr std::size_t kMaxTextBytes = 1024 * 1024;

  /// Analyses the document's first `max_text_bytes` of text. `cancelled` is polled between
  /// segments; when it answers true the model holds what was read so far.
  TextModel(const Document& document, analysis::Language language,
            const std::function<bool()>& cancelled = {},
            std::size_t max_text_bytes = kMaxTextBytes);

  analysis::Language language() const { return language_; }
  const std::vector<std::string_view>& texts() const { return texts_; }
  const std::vector<std::string>& stems() const { return stems_; }
  const std::vector<Term>& terms() const { return terms_; }
  const std::vector<Token>& tokens() const { return tokens_; }
  const std::vector<SentenceSpan>& sentences() const { return sentences_; }

  std::string_view text_of(const SentenceSpan& s) const {
    return texts_[s.segment].substr(s.offset, s.size);
  }
  std::string_view text_of(const Token& t) const {
    return texts_[t.segment].substr(t.offset, t.size);
  }

  /// The id of a lowercased word (as analysis::words() gives it), adding it when new.
  std::int32_t term_id(std::string_view lower);
  /// The id of a lowercased word, or -1 when the document does not have it.
  std::int32_t find_term(std::string_view lower) const;

  /// YAKE's graph node of a word: non-stop words by stem ("file" and "files" are one term),
  /// stop words by the word itself. In [0, node_count()).
  std::int32_t node_of_term(std::int32_t term) const {
    const Term& t = terms_[static_cast<std::size_t>(term)];
    return t.keyword_stop ? static_cast<std::int32_t>(kNodeBase) + term : t.stem;
  }
  static constexpr std::size_t kNodeBase = 1u << 30;

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using IdMap = std::unordered_map<std::string, std::int32_t, Hash, std::equal_to<>>;

  std::int32_t stem_id(std::string stem);

  analysis::Language language_;
  std::vector<std::string_view> texts_;
  std::vector<std::string> stems_;
  std::vector<Term> terms_;
  std::vector<Token> tokens_;
  std::vector<SentenceSpan> sentences_;
  IdMap term_ids_;  // looked up only, never iterated (iteration order would leak)
  IdMap stem_ids_;
};

/// The text with every run of whitespace made one space, trimmed.
std::string collapse_whitespace(std::string_view text);

/// Code points in UTF-8 text.
std::size_t code_points(std::string_view text);

/// `text` (one line) cut to at most `max_chars` code points: whole when it fits, else cut at
/// the last word boundary that leaves room for "…" (mid-word only for a single long word),
/// trailing punctuation and spaces dropped, "…" appended.
std::string cut_at_word(std::string_view text, std::size_t max_chars);

}  // namespace gen::meta
