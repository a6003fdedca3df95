#include "gen/analysis/analyzer.hpp"

#include <libstemmer.h>

#include <algorithm>
#include <array>
#include <memory>
#include <string>
#include <unordered_set>

namespace gen::analysis {
namespace {

// The stop word files, embedded at build time (CMakeLists.txt): kStopWordFiles[i] is the text
// of analysis/stopwords/<name>.stop, one word per line, '#' comments.
#include "stopword_files.inc"

struct LanguageInfo {
  Language language;
  std::string_view code;
  std::string_view name;  // Snowball algorithm and PostgreSQL configuration
};
constexpr std::array<LanguageInfo, 3> kLanguages{{
    {Language::kEnglish, "en", "english"},
    {Language::kGerman, "de", "german"},
    {Language::kFrench, "fr", "french"},
}};

const LanguageInfo& info(Language language) {
  for (const auto& entry : kLanguages) {
    if (entry.language == language) return entry;
  }
  return kLanguages[0];
}

std::size_t index_of(Language language) {
  return static_cast<std::size_t>(static_cast<int>(language) - 1) % kLanguages.size();
}

using StopSet = std::unordered_set<std::string_view>;

const std::array<StopSet, 3>& stop_sets() {
  static const std::array<StopSet, 3> sets = [] {
    std::array<StopSet, 3> out;
    for (const auto& file : kStopWordFiles) {
      auto lang = parse_language(file.name);
      if (!lang) continue;
      StopSet& set = out[index_of(*lang)];
      std::string_view text = file.text;
      while (!text.empty()) {
        auto end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
        if (!line.empty() && line.front() != '#') set.insert(line);
      }
    }
    return out;
  }();
  return sets;
}

// Decodes one UTF-8 code point at text[i]; returns its length, or 0 for an invalid sequence.
std::size_t decode(std::string_view text, std::size_t i, char32_t& cp) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char b0 = byte(i);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  std::size_t len = b0 >= 0xF0 && b0 <= 0xF4 ? 4 : b0 >= 0xE0 ? 3 : b0 >= 0xC2 && b0 < 0xE0 ? 2 : 0;
  if (len == 0 || i + len > text.size()) return 0;
  char32_t value = b0 & (0x7F >> len);
  for (std::size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    value = (value << 6) | (byte(i + k) & 0x3F);
  }
  if ((len == 3 && value < 0x800) || (len == 4 && (value < 0x10000 || value > 0x10FFFF)) ||
      (value >= 0xD800 && value <= 0xDFFF)) {
    return 0;
  }
  cp = value;
  return len;
}

// (gen::sdk::append_utf8 does the same; this library stays free of our other code, see
// analyzer.hpp.)
void encode(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Letters and digits, hand-written instead of ICU's word break iterator: the languages we stem
// are written in Latin script, where "a run of letters and digits" is the rule both
// PostgreSQL's parser and SQLite's unicode61 tokenizer apply, and ICU (a 30 MB data library)
// would then be linked by core and by every plugin that links this one.
bool is_word_char(char32_t cp) {
  if (cp < 0x80) {
    return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
  }
  if (cp < 0xC0) return cp == 0xAA || cp == 0xB5 || cp == 0xBA;  // ª µ º
  if (cp == 0xD7 || cp == 0xF7) return false;                    // × ÷
  if (cp >= 0x2000 && cp <= 0x2BFF) return false;    // punctuation, symbols, arrows, math, boxes
  if (cp >= 0x3000 && cp <= 0x303F) return false;    // CJK punctuation
  if (cp >= 0xFE10 && cp <= 0xFE6F) return false;    // vertical forms, small forms
  if (cp >= 0xFF00 && cp <= 0xFF0F) return false;    // fullwidth punctuation
  if (cp >= 0x1F000 && cp <= 0x1FAFF) return false;  // emoji and pictographs
  if (cp >= 0xE000 && cp <= 0xF8FF) return false;    // private use
  return true;
}

char32_t to_lower(char32_t cp) {
  if (cp >= 'A' && cp <= 'Z') return cp + 32;
  if (cp < 0xC0) return cp;
  if (cp <= 0xDE && cp != 0xD7) return cp + 32;  // Latin-1 capitals
  if (cp >= 0x100 && cp <= 0x17F) {              // Latin Extended-A: pairs
    if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E)) {
      return (cp % 2 == 1) ? cp + 1 : cp;
    }
    if (cp == 0x130) return 'i';
    if (cp == 0x178) return 0xFF;
    return (cp % 2 == 0 && cp != 0x138 && cp != 0x149) ? cp + 1 : cp;
  }
  if (cp >= 0x391 && cp <= 0x3AB && cp != 0x3A2) return cp + 32;  // Greek
  if (cp >= 0x410 && cp <= 0x42F) return cp + 32;                 // Cyrillic
  if (cp >= 0x400 && cp <= 0x40F) return cp + 80;
  if (cp == 0x1E9E) return 0xDF;  // capital sharp s
  return cp;
}

constexpr std::size_t kMaxWordBytes = 64;

struct StemmerDeleter {
  void operator()(sb_stemmer* stemmer) const { sb_stemmer_delete(stemmer); }
};

sb_stemmer* thread_stemmer(Language language) {
  thread_local std::array<std::unique_ptr<sb_stemmer, StemmerDeleter>, 3> stemmers;
  auto& slot = stemmers[index_of(language)];
  if (!slot) slot.reset(sb_stemmer_new(std::string(info(language).name).c_str(), "UTF_8"));
  return slot.get();
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

}  // namespace

std::string_view language_code(Language language) {
  return info(language).code;
}

std::string_view postgres_config(Language language) {
  return info(language).name;
}

std::optional<Language> parse_language(std::string_view name) {
  std::string lower;
  for (char c : name) lower += (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  for (const auto& entry : kLanguages) {
    if (lower == entry.code || lower == entry.name) return entry.language;
  }
  return std::nullopt;
}

std::vector<Word> words(std::string_view text) {
  std::vector<Word> out;
  std::size_t i = 0;
  Word current;
  bool in_word = false;
  auto finish = [&](std::size_t end) {
    if (!in_word) return;
    current.size = end - current.offset;
    out.push_back(std::move(current));
    current = Word{};
    in_word = false;
  };
  while (i < text.size()) {
    char32_t cp = 0;
    std::size_t len = decode(text, i, cp);
    if (len == 0) {
      finish(i);
      ++i;
      continue;
    }
    if (is_word_char(cp)) {
      if (!in_word) {
        in_word = true;
        current.offset = i;
      }
      if (current.lower.size() + 4 <= kMaxWordBytes) encode(to_lower(cp), current.lower);
    } else {
      finish(i);
    }
    i += len;
  }
  finish(text.size());
  return out;
}

bool is_stop_word(Language language, std::string_view lower) {
  return stop_sets()[index_of(language)].count(lower) != 0;
}

std::string stem(Language language, std::string_view lower) {
  sb_stemmer* stemmer = thread_stemmer(language);
  if (stemmer == nullptr) return std::string(lower);
  const sb_symbol* result = sb_stemmer_stem(
      stemmer, reinterpret_cast<const sb_symbol*>(lower.data()), static_cast<int>(lower.size()));
  if (result == nullptr) return std::string(lower);  // out of memory in libstemmer
  return std::string(reinterpret_cast<const char*>(result),
                     static_cast<std::size_t>(sb_stemmer_length(stemmer)));
}

std::string index_terms(Language language, std::string_view text) {
  std::string out;
  for (const Word& word : words(text)) {
    if (is_stop_word(language, word.lower)) continue;
    if (!out.empty()) out += ' ';
    out += stem(language, word.lower);
  }
  return out;
}

Language detect_language(std::string_view text) {
  constexpr std::size_t kSample = 5000;
  std::array<std::size_t, 3> hits{};
  std::size_t total = 0;
  for (const Word& word : words(text)) {
    if (++total > kSample) break;
    for (const auto& entry : kLanguages) {
      if (is_stop_word(entry.language, word.lower)) ++hits[index_of(entry.language)];
    }
  }
  std::size_t best = 0;
  for (std::size_t k = 1; k < hits.size(); ++k) {
    if (hits[k] > hits[best]) best = k;
  }
  if (total == 0 || hits[best] * 20 < std::min(total, kSample)) return Language::kEnglish;
  return kLanguages[best].language;
}

std::vector<Sentence> sentences(std::string_view text) {
  static const std::unordered_set<std::string_view> kAbbreviations = {
      "e.g", "i.e", "etc", "vs",  "cf",  "dr", "mr", "mrs", "ms",   "prof", "st", "no", "fig",
      "z.b", "d.h", "bzw", "usw", "vgl", "ca", "nr", "mme", "mlle", "cf",   "p",  "pp", "approx"};
  std::vector<Sentence> out;
  std::size_t start = 0;
  auto push = [&](std::size_t end) {
    std::size_t a = start;
    std::size_t b = end;
    while (a < b && is_space(text[a])) ++a;
    while (b > a && is_space(text[b - 1])) --b;
    if (b > a) out.push_back({a, b - a});
    start = end;
  };
  std::size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    // A blank line ends a paragraph and so a sentence.
    if (c == '\n') {
      std::size_t k = i + 1;
      while (k < text.size() && (text[k] == ' ' || text[k] == '\t' || text[k] == '\r')) ++k;
      if (k < text.size() && text[k] == '\n') {
        push(i);
        i = k + 1;
        continue;
      }
    }
    bool ellipsis = text.compare(i, 3, "\xE2\x80\xA6") == 0;
    if (c == '.' || c == '!' || c == '?' || ellipsis) {
      std::size_t end = i + (ellipsis ? 3 : 1);
      while (end < text.size() && (text[end] == '.' || text[end] == '!' || text[end] == '?' ||
                                   text[end] == '"' || text[end] == '\'' || text[end] == ')')) {
        ++end;
      }
      if (end >= text.size()) {
        push(text.size());
        break;
      }
      if (is_space(text[end])) {
        std::size_t next = end;
        while (next < text.size() && is_space(text[next])) ++next;
        unsigned char n = next < text.size() ? static_cast<unsigned char>(text[next]) : 0;
        bool starts_sentence = n == 0 || (n >= 'A' && n <= 'Z') || (n >= '0' && n <= '9') ||
                               n == '"' || n == '\'' || n >= 0xC3;  // accented capitals etc.
        bool abbreviation = false;
        if (c == '.') {
          std::size_t w = i;
          while (w > start && !is_space(text[w - 1]) && text[w - 1] != '(') --w;
          std::string word;
          for (std::size_t k = w; k < i; ++k) {
            char d = text[k];
            word += (d >= 'A' && d <= 'Z') ? static_cast<char>(d + 32) : d;
          }
          abbreviation = kAbbreviations.count(word) != 0 ||
                         (i - w == 1 && text[w] >= 'A' && text[w] <= 'Z');  // "J. Smith"
        }
        if (starts_sentence && !abbreviation) {
          push(end);
          i = next;
          continue;
        }
      }
      i = end;
      continue;
    }
    ++i;
  }
  if (start < text.size()) push(text.size());
  return out;
}

}  // namespace gen::analysis
