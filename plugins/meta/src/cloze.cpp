#include "cloze.hpp"

#include <algorithm>
#include <cstdint>
#include <tuple>

namespace gen::meta {
namespace {

// FNV-1a, 64 bits: a stable hash of the sentence (std::hash may differ between builds).
std::uint64_t fnv1a(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

// SplitMix64 (Steele, Lea, Flood 2014), and a Fisher-Yates shuffle over it: std::shuffle's
// distribution is implementation-defined, this is the same everywhere.
std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

struct SentenceWord {
  std::int32_t node;
  std::size_t offset, size;
  bool chunk_start;
};

// The words of a collapsed sentence with their graph nodes (-1: unknown to the model).
std::vector<SentenceWord> sentence_words(const TextModel& model, std::string_view text) {
  std::vector<SentenceWord> out;
  std::size_t previous_end = 0;
  for (const analysis::Word& word : analysis::words(text)) {
    const std::int32_t term = model.find_term(word.lower);
    bool chunk_start = out.empty();
    for (std::size_t k = previous_end; k < word.offset && !chunk_start; ++k) {
      if (text[k] != ' ') chunk_start = true;
    }
    previous_end = word.offset + word.size;
    out.push_back({term < 0 ? -1 : model.node_of_term(term), word.offset, word.size, chunk_start});
  }
  return out;
}

// Joins a word to its neighbour: "O_DIRECTORY", "read-only", "/tmp", "v2.0".
bool joining(char c) {
  return c == '_' || c == '-' || c == '/' || c == '.' || c == '@' || c == '\\' ||
         (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// The first occurrence of the keyword's words, consecutive within a chunk and standing apart
// from the text around them, preferring one after the first word (a capital at the start of the
// sentence would tell the answer from the other choices): its first word's index, or npos.
std::size_t find_keyword(std::string_view sentence, const std::vector<SentenceWord>& words,
                         const Keyword& keyword) {
  const std::size_t n = keyword.nodes.size();
  std::size_t at_start = std::string::npos;
  for (std::size_t i = 0; i + n <= words.size(); ++i) {
    bool match = true;
    for (std::size_t k = 0; k < n && match; ++k) {
      match = words[i + k].node == keyword.nodes[k] && (k == 0 || !words[i + k].chunk_start);
    }
    if (!match) continue;
    const std::size_t begin = words[i].offset;
    const std::size_t end = words[i + n - 1].offset + words[i + n - 1].size;
    const bool before_ok = begin == 0 || !joining(sentence[begin - 1]);
    // A full stop ends a sentence but "v2.0" joins: look past it.
    const bool after_ok =
        end == sentence.size() ||
        (!joining(sentence[end]) ||
         (sentence[end] == '.' && (end + 1 == sentence.size() || sentence[end + 1] == ' ')));
    if (!before_ok || !after_ok) continue;
    if (begin > 0) return i;
    at_start = i;
  }
  return at_start;
}

}  // namespace

std::vector<Question> cloze_questions(const TextModel& model, const Ranking& ranking,
                                      const KeywordCandidates& keywords, std::size_t count,
                                      std::size_t choice_count, std::size_t keyword_pool) {
  std::vector<Question> out;
  const std::vector<std::size_t> distinct = distinct_keywords(model, keywords, keyword_pool);
  auto keyword = [&](std::size_t k) -> const Keyword& { return keywords.ranked[distinct[k]]; };
  const std::size_t pool = distinct.size();
  std::vector<bool> answered(pool, false);
  for (std::size_t c : ranking.order) {
    if (out.size() >= count) break;
    const std::string& sentence = ranking.candidates[c].text;
    const std::vector<SentenceWord> words = sentence_words(model, sentence);
    std::vector<std::size_t> present(pool, std::string::npos);
    std::size_t pick = pool;
    for (std::size_t k = 0; k < pool; ++k) {
      present[k] = find_keyword(sentence, words, keyword(k));
      if (present[k] == std::string::npos) continue;
      // The best keyword not yet an answer, and not at the start of the sentence if it can.
      auto preference = [&](std::size_t j) {
        return std::tuple{answered[j], words[present[j]].offset == 0, j};
      };
      if (pick == pool || preference(k) < preference(pick)) pick = k;
    }
    if (pick == pool) continue;
    const Keyword& key = keyword(pick);
    const SentenceWord& first = words[present[pick]];
    const SentenceWord& last = words[present[pick] + key.nodes.size() - 1];
    std::string answer = sentence.substr(first.offset, last.offset + last.size - first.offset);

    // Distractors: keywords absent from the sentence and unlike the answer, nearest in word
    // count, then in rank.
    std::vector<std::size_t> others;
    for (std::size_t k = 0; k < pool; ++k) {
      if (k != pick && present[k] == std::string::npos &&
          lower_ascii(keyword(k).text) != lower_ascii(answer)) {
        others.push_back(k);
      }
    }
    auto distance = [&](std::size_t k) {
      const std::size_t a = keyword(k).words, b = key.words;
      const std::size_t rank = k > pick ? k - pick : pick - k;
      return std::pair{a > b ? a - b : b - a, rank};
    };
    std::stable_sort(others.begin(), others.end(),
                     [&](std::size_t a, std::size_t b) { return distance(a) < distance(b); });
    if (others.size() + 1 < choice_count) continue;

    Question q;
    q.question = "Fill in the blank: " + sentence.substr(0, first.offset) + std::string(kBlank) +
                 sentence.substr(last.offset + last.size);
    q.choices.push_back(answer);
    for (std::size_t k = 0; k + 1 < choice_count; ++k) {
      q.choices.push_back(keyword(others[k]).text);
    }
    std::uint64_t state = fnv1a(sentence);
    for (std::size_t i = q.choices.size() - 1; i > 0; --i) {
      std::swap(q.choices[i], q.choices[splitmix64(state) % (i + 1)]);
    }
    q.correct_index = static_cast<std::size_t>(
        std::find(q.choices.begin(), q.choices.end(), answer) - q.choices.begin());
    q.answer = std::move(answer);
    answered[pick] = true;
    out.push_back(std::move(q));
  }
  return out;
}

}  // namespace gen::meta
