// Text analysis shared by the content library's indexing and search (core) and by the
// metadata generators (plugins/meta): words, stop words, Snowball stems, sentences, language.
//
// One definition on purpose: a search finds a document only if the query's words are cut,
// filtered and stemmed exactly as the document's were, and generated KEYWORDS are useful only
// if they are the terms search matches. This library depends on the C++ standard library and
// libstemmer (Snowball) alone, so both core and plugins may link it (it is not part of the
// SDK's ABI: plugins link it statically).
//
// The stop word lists are Snowball's, as PostgreSQL ships them (analysis/stopwords/): SQLite's
// index (terms analysed here) and PostgreSQL's (`to_tsvector('english', ...)`) drop the same
// words and stem with the same algorithms.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gen::analysis {

/// The languages with a stemmer and a stop word list. Zero is not a valid value.
enum class Language : int { kEnglish = 1, kGerman = 2, kFrench = 3 };

inline constexpr Language kAllLanguages[] = {Language::kEnglish, Language::kGerman,
                                             Language::kFrench};

/// "en", "de", "fr".
std::string_view language_code(Language language);
/// The PostgreSQL text search configuration: "english", "german", "french".
std::string_view postgres_config(Language language);
/// Accepts ISO 639-1 codes and English names, any case ("en", "EN", "english", "de",
/// "german", "fr", "french"); nullopt for anything else.
std::optional<Language> parse_language(std::string_view name);

/// One word of a text: lowercased, with its byte range in the original text.
struct Word {
  std::string lower;
  std::size_t offset = 0;  ///< byte offset in the text
  std::size_t size = 0;    ///< bytes in the text
};

/// The words of UTF-8 text: maximal runs of letters and digits (ASCII, and every code point
/// from U+00C0 except the punctuation and symbol blocks listed in analyzer.cpp). Apostrophes,
/// hyphens and all other punctuation separate words ("don't" -> "don", "t"; "l'homme" ->
/// "l", "homme"), as PostgreSQL's and SQLite's tokenizers do. Lowercased: ASCII, Latin-1,
/// Latin Extended-A, Greek and Cyrillic. Invalid UTF-8 bytes separate words. A word longer
/// than 64 bytes is cut to its first 64 (UTF-8 safe).
std::vector<Word> words(std::string_view text);

/// True if `lower` (a lowercased word) is a stop word of `language`.
bool is_stop_word(Language language, std::string_view lower);

/// The Snowball stem of a lowercased word ("running" -> "run", "Häuser" -> "haus"). Thread-safe
/// (each thread keeps its own stemmers).
std::string stem(Language language, std::string_view lower);

/// The terms a text is indexed under: the stems of its words that are not stop words, in
/// order, separated by single spaces. Search analyses queries with the same function.
std::string index_terms(Language language, std::string_view text);

/// The language whose stop words cover the most of the text's first 5,000 words; English when
/// none reaches 5% of them (too little text to tell, or another language).
Language detect_language(std::string_view text);

/// A sentence of a text: its byte range, whitespace-trimmed.
struct Sentence {
  std::size_t offset = 0;
  std::size_t size = 0;
};

/// Splits text into sentences at ".", "!", "?" (and "…") followed by whitespace and then an
/// uppercase letter, a digit, a quote or the end; at blank lines (paragraph ends); and at line
/// ends of lines without final punctuation that are followed by an empty line. Common
/// abbreviations ("e.g.", "i.e.", "Dr.", "Mr.", "z.B.", single capitals like "J.") do not end
/// a sentence.
std::vector<Sentence> sentences(std::string_view text);

}  // namespace gen::analysis
