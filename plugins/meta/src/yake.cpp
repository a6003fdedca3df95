#include "yake.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <unordered_map>

namespace gen::meta {
namespace {

constexpr std::size_t kMaxWords = 3;

// Per-term statistics (a term is a graph node: a stem, or a stop word).
struct TermStats {
  double tf = 0;
  double tf_acronym = 0;
  double tf_capital = 0;                 // capitalised, not first in its sentence
  std::vector<std::uint32_t> sentences;  // distinct, ascending
  double left_distinct = 0, left_total = 0, right_distinct = 0, right_total = 0;
  bool stop = false;
  double h = 0;
};

struct Occurrence {  // a candidate's surface form and how often it occurs
  std::string text;
  std::size_t count = 0;
};

struct CandidateStats {
  std::vector<std::int32_t> nodes;
  std::size_t tf = 0;
  std::vector<Occurrence> forms;  // in first-seen order
};

std::uint64_t edge_key(std::uint32_t a, std::uint32_t b) {
  return (static_cast<std::uint64_t>(a) << 32) | b;
}

double median(const std::vector<std::uint32_t>& sorted) {
  const std::size_t n = sorted.size();
  if (n == 0) return 0;
  return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0;
}

}  // namespace

KeywordCandidates yake(const TextModel& model) {
  const auto& tokens = model.tokens();
  const auto& terms = model.terms();
  // Node ids -> dense indexes in first-seen order (stems and stop words apart).
  constexpr std::uint32_t kNone = ~0u;
  std::vector<std::uint32_t> dense_stem(model.stems().size(), kNone);
  std::vector<std::uint32_t> dense_term(terms.size(), kNone);
  std::vector<TermStats> stats;
  std::vector<std::uint32_t> token_node(tokens.size());
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const auto term = static_cast<std::size_t>(tokens[i].term);
    std::uint32_t& slot = terms[term].keyword_stop
                              ? dense_term[term]
                              : dense_stem[static_cast<std::size_t>(terms[term].stem)];
    if (slot == kNone) {
      slot = static_cast<std::uint32_t>(stats.size());
      stats.emplace_back();
      stats.back().stop = terms[term].keyword_stop;
    }
    token_node[i] = slot;
  }

  // Term features' counts, and the co-occurrence graph (window 1, within a chunk; digits are
  // not part of it, as in the reference implementation).
  std::unordered_map<std::uint64_t, std::uint32_t> edges;  // looked up only
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const Token& token = tokens[i];
    TermStats& s = stats[token_node[i]];
    s.tf += 1;
    if (token.acronym) {
      s.tf_acronym += 1;
    } else if (token.capitalized &&
               model.sentences()[token.sentence].first_token != static_cast<std::uint32_t>(i)) {
      s.tf_capital += 1;
    }
    if (s.sentences.empty() || s.sentences.back() != token.sentence) {
      s.sentences.push_back(token.sentence);
    }
    if (i == 0 || token.chunk_start) continue;
    if (terms[static_cast<std::size_t>(token.term)].digits ||
        terms[static_cast<std::size_t>(tokens[i - 1].term)].digits) {
      continue;
    }
    const std::uint32_t left = token_node[i - 1], right = token_node[i];
    std::uint32_t& count = edges[edge_key(left, right)];
    if (count++ == 0) {
      stats[left].right_distinct += 1;
      stats[right].left_distinct += 1;
    }
    stats[left].right_total += 1;
    stats[right].left_total += 1;
  }

  // Frequency statistics over the non-stop terms.
  double max_tf = 0, sum = 0, sum_sq = 0, valid = 0;
  for (const TermStats& s : stats) {
    if (s.stop) continue;
    max_tf = std::max(max_tf, s.tf);
    sum += s.tf;
    sum_sq += s.tf * s.tf;
    valid += 1;
  }
  const double mean = valid > 0 ? sum / valid : 0;
  // The population standard deviation, as the reference implementation's numpy.std.
  const double stddev = valid > 0 ? std::sqrt(std::max(0.0, sum_sq / valid - mean * mean)) : 0;
  const double sentence_count = std::max<double>(1, static_cast<double>(model.sentences().size()));
  if (max_tf == 0) max_tf = 1;
  for (TermStats& s : stats) {
    const double wcase = std::max(s.tf_acronym, s.tf_capital) / (1.0 + std::log(s.tf));
    const double wpos = std::log(std::log(3.0 + median(s.sentences)));
    const double wfreq = s.tf / (mean + stddev > 0 ? mean + stddev : 1);
    const double pl = s.left_total > 0 ? s.left_distinct / s.left_total : 0;
    const double pr = s.right_total > 0 ? s.right_distinct / s.right_total : 0;
    const double wrel = (0.5 + pl * (s.tf / max_tf)) + (0.5 + pr * (s.tf / max_tf));
    const double wspread = static_cast<double>(s.sentences.size()) / sentence_count;
    s.h = (wpos * wrel) / (wcase + (wfreq + wspread) / wrel);
  }

  // Candidates: 1-3 words within a chunk, not starting or ending with a stop word, no digits.
  // Key: up to three dense ids + 1 in 21 bits each (a 1 MiB text has far fewer than 2^21
  // distinct words). Looked up only, never iterated.
  std::unordered_map<std::uint64_t, std::size_t> index;
  std::vector<CandidateStats> candidates;
  std::vector<std::int32_t> key;
  std::string form;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (terms[static_cast<std::size_t>(tokens[i].term)].keyword_stop || tokens[i].identifier_part) {
      continue;
    }
    key.clear();
    std::uint64_t packed = 0;
    for (std::size_t n = 0; n < kMaxWords && i + n < tokens.size(); ++n) {
      const Token& last = tokens[i + n];
      if (n > 0 && last.chunk_start) break;
      const Term& term = terms[static_cast<std::size_t>(last.term)];
      if (term.digits || last.identifier_part) break;
      key.push_back(static_cast<std::int32_t>(token_node[i + n]));
      packed |= static_cast<std::uint64_t>(token_node[i + n] + 1) << (21 * n);
      if (term.keyword_stop) continue;
      auto [it, inserted] = index.try_emplace(packed, candidates.size());
      if (inserted) candidates.push_back({key, 0, {}});
      CandidateStats& c = candidates[it->second];
      ++c.tf;
      // The surface form, built in a reused buffer: copied only when it is new.
      form.clear();
      for (std::size_t k = 0; k <= n; ++k) {
        if (k > 0) form += ' ';  // words of a chunk are apart by whitespace only
        form += model.text_of(tokens[i + k]);
      }
      auto found = std::find_if(c.forms.begin(), c.forms.end(),
                                [&](const Occurrence& o) { return o.text == form; });
      if (found != c.forms.end()) {
        ++found->count;
      } else if (c.forms.size() < 8) {  // enough to find the most frequent form
        c.forms.push_back({form, 1});
      }
    }
  }

  KeywordCandidates out;
  out.ranked.reserve(candidates.size());
  for (CandidateStats& c : candidates) {
    double product = 1, sum_h = 0;
    for (std::size_t k = 0; k < c.nodes.size(); ++k) {
      const TermStats& s = stats[static_cast<std::size_t>(c.nodes[k])];
      if (!s.stop) {
        product *= s.h;
        sum_h += s.h;
        continue;
      }
      // A stop word inside: the probability of the bigrams around it.
      auto probability = [&](std::size_t a, std::size_t b) {
        auto it = edges.find(edge_key(static_cast<std::uint32_t>(c.nodes[a]),
                                      static_cast<std::uint32_t>(c.nodes[b])));
        return it == edges.end() ? 0.0
                                 : it->second / stats[static_cast<std::size_t>(c.nodes[a])].tf;
      };
      const double p = probability(k - 1, k) * probability(k, k + 1);
      product *= 1 + (1 - p);
      sum_h -= 1 - p;
    }
    Keyword keyword;
    keyword.score = product / ((sum_h + 1) * static_cast<double>(c.tf));
    keyword.words = c.nodes.size();
    const Occurrence* best = &c.forms.front();
    for (const Occurrence& o : c.forms) {
      if (o.count > best->count) best = &o;
    }
    keyword.text = best->text;
    // Back to the model's node ids (stable across calls), for matching sentences.
    keyword.nodes = std::move(c.nodes);
    out.ranked.push_back(std::move(keyword));
  }
  // Node ids in `nodes` are dense indexes; map them back to the model's node ids.
  std::vector<std::int32_t> model_node(stats.size());
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    model_node[token_node[i]] = model.node_of_term(tokens[i].term);
  }
  for (Keyword& k : out.ranked) {
    for (std::int32_t& n : k.nodes) n = model_node[static_cast<std::size_t>(n)];
  }
  std::vector<std::size_t> order(out.ranked.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return out.ranked[a].score < out.ranked[b].score;
  });
  std::vector<Keyword> sorted;
  sorted.reserve(order.size());
  for (std::size_t i : order) sorted.push_back(std::move(out.ranked[i]));
  out.ranked = std::move(sorted);
  return out;
}

std::string stem_key(TextModel& model, std::string_view text) {
  std::string key;
  for (const analysis::Word& word : analysis::words(text)) {
    const Term& term = model.terms()[static_cast<std::size_t>(model.term_id(word.lower))];
    if (term.stop) continue;
    if (!key.empty()) key += ' ';
    key += model.stems()[static_cast<std::size_t>(term.stem)];
  }
  return key;
}

std::string stem_key(const TextModel& model, const Keyword& keyword) {
  std::string key;
  for (std::int32_t node : keyword.nodes) {
    if (static_cast<std::size_t>(node) >= TextModel::kNodeBase) {
      const Term& term = model.terms()[static_cast<std::size_t>(node) - TextModel::kNodeBase];
      if (term.stop) continue;
      if (!key.empty()) key += ' ';
      key += model.stems()[static_cast<std::size_t>(term.stem)];
      continue;
    }
    if (!key.empty()) key += ' ';
    key += model.stems()[static_cast<std::size_t>(node)];
  }
  return key;
}

namespace {

// The stems of a keyword's non-stop words, sorted and unique.
std::vector<std::int32_t> stem_set(const TextModel& model, const Keyword& keyword) {
  std::vector<std::int32_t> out;
  for (std::int32_t node : keyword.nodes) {
    if (static_cast<std::size_t>(node) < TextModel::kNodeBase) {
      out.push_back(node);
      continue;
    }
    const Term& term = model.terms()[static_cast<std::size_t>(node) - TextModel::kNodeBase];
    if (!term.stop) out.push_back(term.stem);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool repeats(const std::vector<std::int32_t>& candidate,
             const std::vector<std::vector<std::int32_t>>& picked) {
  for (const auto& p : picked) {
    std::size_t shared = 0;
    for (std::int32_t s : candidate) shared += std::binary_search(p.begin(), p.end(), s) ? 1 : 0;
    if (shared == candidate.size() || shared >= 2) return true;
  }
  return false;
}

}  // namespace

std::vector<std::size_t> distinct_keywords(const TextModel& model,
                                           const KeywordCandidates& candidates, std::size_t count) {
  std::vector<std::size_t> out;
  std::vector<std::vector<std::int32_t>> picked;
  for (std::size_t c = 0; c < candidates.ranked.size() && out.size() < count; ++c) {
    std::vector<std::int32_t> stems = stem_set(model, candidates.ranked[c]);
    if (repeats(stems, picked)) continue;
    picked.push_back(std::move(stems));
    out.push_back(c);
  }
  return out;
}

std::vector<std::string> choose_keywords(TextModel& model, const KeywordCandidates& candidates,
                                         std::size_t count,
                                         const std::vector<std::string>& taxonomy) {
  std::vector<std::string> out;
  std::vector<std::vector<std::int32_t>> picked;
  if (!taxonomy.empty()) {
    std::map<std::string, std::size_t> terms;  // stem key -> taxonomy index (first wins)
    for (std::size_t i = 0; i < taxonomy.size(); ++i) {
      std::string key = stem_key(model, taxonomy[i]);
      if (!key.empty()) terms.try_emplace(std::move(key), i);
    }
    std::vector<bool> taken(taxonomy.size(), false);
    for (std::size_t c = 0; c < candidates.ranked.size() && out.size() < count; ++c) {
      auto it = terms.find(stem_key(model, candidates.ranked[c]));
      if (it == terms.end() || taken[it->second]) continue;
      taken[it->second] = true;
      picked.push_back(stem_set(model, candidates.ranked[c]));
      out.push_back(collapse_whitespace(taxonomy[it->second]));
    }
  }
  for (std::size_t c = 0; c < candidates.ranked.size() && out.size() < count; ++c) {
    std::vector<std::int32_t> stems = stem_set(model, candidates.ranked[c]);
    if (repeats(stems, picked)) continue;
    picked.push_back(std::move(stems));
    out.push_back(candidates.ranked[c].text);
  }
  return out;
}

}  // namespace gen::meta
