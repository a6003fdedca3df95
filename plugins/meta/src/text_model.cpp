#include "text_model.hpp"

#include <algorithm>

namespace gen::meta {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool is_continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

std::size_t lead_length(unsigned char lead) {
  return lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
}

// The view cut to at most `max_bytes`, at whitespace when there is some in its second half,
// else at a code point boundary.
std::string_view cut_text(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  std::size_t end = max_bytes;
  while (end > max_bytes / 2 && !is_space(text[end])) --end;
  if (end <= max_bytes / 2) {
    end = max_bytes;
    while (end > 0 && is_continuation(text[end])) --end;
  }
  return text.substr(0, end);
}

}  // namespace

TextModel::TextModel(const Document& document, analysis::Language language,
                     const std::function<bool()>& cancelled, std::size_t max_text_bytes)
    : language_(language) {
  std::size_t budget = max_text_bytes;
  for (const Segment& segment : document.segments) {
    if (budget == 0 || (cancelled && cancelled())) break;
    std::string_view text = cut_text(segment.text, budget);
    budget -= text.size();
    const auto segment_index = static_cast<std::uint32_t>(texts_.size());
    texts_.push_back(text);

    const std::vector<analysis::Sentence> spans = analysis::sentences(text);
    const std::vector<analysis::Word> words = analysis::words(text);
    std::size_t w = 0;
    for (const analysis::Sentence& span : spans) {
      SentenceSpan sentence{segment_index, static_cast<std::uint32_t>(span.offset),
                            static_cast<std::uint32_t>(span.size),
                            static_cast<std::uint32_t>(tokens_.size()), 0};
      const std::size_t end = span.offset + span.size;
      std::size_t previous_end = span.offset;
      // Words before the sentence (none: sentences cover all non-space text) are skipped.
      while (w < words.size() && words[w].offset < span.offset) ++w;
      for (; w < words.size() && words[w].offset < end; ++w) {
        const analysis::Word& word = words[w];
        Token token;
        token.term = term_id(word.lower);
        token.segment = segment_index;
        token.offset = static_cast<std::uint32_t>(word.offset);
        token.size = static_cast<std::uint32_t>(word.size);
        token.sentence = static_cast<std::uint32_t>(sentences_.size());
        token.chunk_start = sentence.token_count == 0;
        for (std::size_t k = previous_end; k < word.offset && !token.chunk_start; ++k) {
          if (!is_space(text[k])) token.chunk_start = true;
        }
        previous_end = word.offset + word.size;
        token.identifier_part = (word.offset > 0 && text[word.offset - 1] == '_') ||
                                (previous_end < text.size() && text[previous_end] == '_');
        // A capital: the text's first code point differs from its lowercase form.
        std::string_view original = text.substr(word.offset, word.size);
        const std::size_t first = lead_length(static_cast<unsigned char>(original[0]));
        token.capitalized =
            original.substr(0, first) != std::string_view(word.lower).substr(0, first);
        if (token.capitalized && word.size >= 2 && original != word.lower) {
          token.acronym = std::none_of(original.begin(), original.end(),
                                       [](char c) { return c >= 'a' && c <= 'z'; }) &&
                          !terms_[static_cast<std::size_t>(token.term)].digits;
        }
        tokens_.push_back(token);
        ++sentence.token_count;
      }
      sentences_.push_back(sentence);
    }
  }
}

std::int32_t TextModel::stem_id(std::string stem) {
  auto it = stem_ids_.find(stem);
  if (it != stem_ids_.end()) return it->second;
  const auto id = static_cast<std::int32_t>(stems_.size());
  stems_.push_back(stem);
  stem_ids_.emplace(std::move(stem), id);
  return id;
}

std::int32_t TextModel::term_id(std::string_view lower) {
  auto it = term_ids_.find(lower);
  if (it != term_ids_.end()) return it->second;
  Term term;
  term.stem = stem_id(analysis::stem(language_, lower));
  term.stop = analysis::is_stop_word(language_, lower);
  term.digits =
      std::all_of(lower.begin(), lower.end(), [](char c) { return c >= '0' && c <= '9'; });
  term.keyword_stop = term.stop || term.digits || code_points(lower) < 3;
  const auto id = static_cast<std::int32_t>(terms_.size());
  terms_.push_back(term);
  term_ids_.emplace(std::string(lower), id);
  return id;
}

std::int32_t TextModel::find_term(std::string_view lower) const {
  auto it = term_ids_.find(lower);
  return it == term_ids_.end() ? -1 : it->second;
}

std::string collapse_whitespace(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool space = false;
  for (char c : text) {
    if (is_space(c)) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::size_t code_points(std::string_view text) {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return !is_continuation(c); }));
}

std::string cut_at_word(std::string_view text, std::size_t max_chars) {
  if (code_points(text) <= max_chars) return std::string(text);
  // The byte offset just past `max_chars - 1` code points: room for the ellipsis.
  std::size_t end = 0;
  for (std::size_t chars = 0; end < text.size(); ++end) {
    if (!is_continuation(text[end]) && chars++ == max_chars - 1) break;
  }
  std::size_t cut = end;
  while (cut > 0 && text[cut] != ' ') --cut;
  if (cut == 0) cut = end;  // one word longer than the limit
  std::string out(text.substr(0, cut));
  static constexpr std::string_view kDrop = " ,;:-([{";
  while (!out.empty() && kDrop.find(out.back()) != std::string_view::npos) out.pop_back();
  out += "\xE2\x80\xA6";  // …
  return out;
}

}  // namespace gen::meta
