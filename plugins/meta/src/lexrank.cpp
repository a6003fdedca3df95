#include "lexrank.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace gen::meta {
namespace {

constexpr double kDamping = 0.85;
constexpr double kTolerance = 1e-6;
constexpr int kMaxIterations = 100;
constexpr double kRedundant = 0.5;
constexpr std::size_t kMinWords = 5;
constexpr std::size_t kMaxWords = 60;

bool starts_like_sentence(std::string_view s) {
  if (s.empty()) return false;
  const auto c = static_cast<unsigned char>(s[0]);
  // The characters analysis::sentences() accepts after a full stop.
  return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '"' || c == '\'' || c >= 0xC3;
}

// Bytes of the sentence in words that are not digits only, over its non-space bytes.
double letter_share(const TextModel& model, const SentenceSpan& span) {
  std::string_view text = model.text_of(span);
  const auto non_space =
      static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
        return c != ' ' && c != '\n' && c != '\t' && c != '\r';
      }));
  std::size_t letters = 0;
  for (std::uint32_t k = 0; k < span.token_count; ++k) {
    const Token& token = model.tokens()[span.first_token + k];
    if (!model.terms()[static_cast<std::size_t>(token.term)].digits) letters += token.size;
  }
  return non_space == 0 ? 0.0 : static_cast<double>(letters) / static_cast<double>(non_space);
}

// The sentence indexes passing the filters of `level` (0: all rules, 1: length and letters,
// 2: any sentence with a word), at most kMaxCandidates.
std::vector<std::uint32_t> select(const TextModel& model, int level) {
  std::vector<std::uint32_t> out;
  const auto& sentences = model.sentences();
  for (std::uint32_t i = 0; i < sentences.size() && out.size() < kMaxCandidates; ++i) {
    const SentenceSpan& span = sentences[i];
    if (span.token_count == 0) continue;
    if (level < 2) {
      if (span.token_count < kMinWords || span.token_count > kMaxWords) continue;
      if (letter_share(model, span) < 0.75) continue;
    }
    if (level < 1) {
      std::string_view text = model.text_of(span);
      if (!starts_like_sentence(text) || !has_final_punctuation(text)) continue;
      // "O_EXCL Ensure that..." is an entry of a definition list, not a sentence.
      if (model.tokens()[span.first_token].identifier_part) continue;
    }
    out.push_back(i);
  }
  return out;
}

}  // namespace

bool has_final_punctuation(std::string_view s) {
  while (!s.empty() && (s.back() == '"' || s.back() == '\'' || s.back() == ')')) s.remove_suffix(1);
  if (s.empty()) return false;
  const char c = s.back();
  return c == '.' || c == '!' || c == '?' || s.ends_with("\xE2\x80\xA6");
}

Ranking rank_sentences(const TextModel& model) {
  Ranking ranking;
  std::vector<std::uint32_t> picked;
  for (int level = 0; level < 3 && picked.empty(); ++level) picked = select(model, level);
  const std::size_t n = picked.size();
  if (n == 0) return ranking;

  // Each candidate's stems (non-stop words) with their counts, sorted by stem id.
  std::vector<std::vector<std::pair<std::int32_t, float>>> vectors(n);
  std::vector<std::int32_t> stems;
  for (std::size_t i = 0; i < n; ++i) {
    const SentenceSpan& span = model.sentences()[picked[i]];
    ranking.candidates.push_back({picked[i], collapse_whitespace(model.text_of(span)), 0});
    ranking.candidates.back().chars = code_points(ranking.candidates.back().text);
    stems.clear();
    for (std::uint32_t k = 0; k < span.token_count; ++k) {
      const Term& term =
          model.terms()[static_cast<std::size_t>(model.tokens()[span.first_token + k].term)];
      if (!term.stop) stems.push_back(term.stem);
    }
    std::sort(stems.begin(), stems.end());
    for (std::size_t k = 0; k < stems.size();) {
      std::size_t j = k;
      while (j < stems.size() && stems[j] == stems[k]) ++j;
      vectors[i].push_back({stems[k], static_cast<float>(j - k)});
      k = j;
    }
  }

  // Document frequency and the inverted index (stem -> candidates), as flat arrays.
  std::vector<std::uint32_t> df(model.stems().size(), 0);
  for (const auto& v : vectors) {
    for (const auto& [stem, tf] : v) ++df[static_cast<std::size_t>(stem)];
  }
  std::vector<std::uint32_t> start(df.size() + 1, 0);
  for (std::size_t s = 0; s < df.size(); ++s) start[s + 1] = start[s] + df[s];
  std::vector<std::pair<std::uint32_t, float>> postings(start.back());
  std::vector<std::uint32_t> fill(start.begin(), start.end() - 1);
  std::vector<double> norm(n, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    for (auto& [stem, weight] : vectors[i]) {
      const auto s = static_cast<std::size_t>(stem);
      weight *= static_cast<float>(1.0 + std::log(static_cast<double>(n) / df[s]));
      norm[i] += static_cast<double>(weight) * weight;
      postings[fill[s]++] = {static_cast<std::uint32_t>(i), weight};
    }
    norm[i] = std::sqrt(norm[i]);
  }

  // Dot products only between candidates that share a stem (sparse), into a dense matrix.
  ranking.similarity.assign(n * n, 0.0f);
  for (std::size_t s = 0; s < df.size(); ++s) {
    for (std::uint32_t a = start[s]; a < start[s + 1]; ++a) {
      for (std::uint32_t b = a + 1; b < start[s + 1]; ++b) {
        const float product = postings[a].second * postings[b].second;
        ranking.similarity[postings[a].first * n + postings[b].first] += product;
      }
    }
  }
  // Cosine, symmetric; the adjacency lists of the graph (no self loops).
  std::vector<std::vector<std::pair<std::uint32_t, double>>> edges(n);
  std::vector<double> row_sum(n, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = i + 1; j < n; ++j) {
      float& dot = ranking.similarity[i * n + j];
      if (dot == 0.0f) continue;
      const double cosine = dot / (norm[i] * norm[j]);
      dot = static_cast<float>(cosine);
      ranking.similarity[j * n + i] = dot;
      edges[i].push_back({static_cast<std::uint32_t>(j), cosine});
      edges[j].push_back({static_cast<std::uint32_t>(i), cosine});
      row_sum[i] += cosine;
      row_sum[j] += cosine;
    }
  }

  // PageRank by power iteration; a sentence without edges spreads its score evenly.
  std::vector<double> score(n, 1.0 / static_cast<double>(n));
  std::vector<double> next(n);
  for (int iteration = 0; iteration < kMaxIterations; ++iteration) {
    double dangling = 0.0;
    std::fill(next.begin(), next.end(), 0.0);
    for (std::size_t j = 0; j < n; ++j) {
      if (row_sum[j] == 0.0) {
        dangling += score[j];
        continue;
      }
      const double share = score[j] / row_sum[j];
      for (const auto& [i, weight] : edges[j]) next[i] += share * weight;
    }
    const double base = (1.0 - kDamping + kDamping * dangling) / static_cast<double>(n);
    double change = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      const double value = base + kDamping * next[i];
      change += std::fabs(value - score[i]);
      score[i] = value;
    }
    if (change < kTolerance) break;
  }
  ranking.scores = std::move(score);
  ranking.order.resize(n);
  std::iota(ranking.order.begin(), ranking.order.end(), std::size_t{0});
  std::stable_sort(ranking.order.begin(), ranking.order.end(), [&](std::size_t a, std::size_t b) {
    return ranking.scores[a] > ranking.scores[b];
  });
  return ranking;
}

std::string pick_sentences(const Ranking& ranking, std::size_t min_sentences,
                           std::size_t max_sentences, std::size_t max_chars) {
  if (ranking.candidates.empty()) return {};
  auto written_chars = [&](std::size_t c) {
    return ranking.candidates[c].chars +
           (has_final_punctuation(ranking.candidates[c].text) ? 0 : 1);
  };
  std::vector<std::size_t> chosen;
  std::size_t chars = 0;
  for (int pass = 0; pass < 2 && chosen.size() < min_sentences; ++pass) {
    for (std::size_t c : ranking.order) {
      if (chosen.size() >= max_sentences) break;
      if (std::find(chosen.begin(), chosen.end(), c) != chosen.end()) continue;
      const std::size_t added = written_chars(c) + (chosen.empty() ? 0 : 1);
      if (chars + added > max_chars) continue;
      if (pass == 0 && std::any_of(chosen.begin(), chosen.end(),
                                   [&](std::size_t p) { return ranking.sim(c, p) > kRedundant; })) {
        continue;
      }
      chosen.push_back(c);
      chars += added;
    }
  }
  if (chosen.empty()) return cut_at_word(ranking.candidates[ranking.order[0]].text, max_chars);
  std::sort(chosen.begin(), chosen.end());  // document order
  std::string out;
  for (std::size_t c : chosen) {
    if (!out.empty()) out += ' ';
    out += ranking.candidates[c].text;
    if (!has_final_punctuation(ranking.candidates[c].text)) out += '.';
  }
  return out;
}

}  // namespace gen::meta
