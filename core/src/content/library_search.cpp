// Search over a tenant's library with the databases' own full-text engines: SQLite FTS5 over
// terms analysed by gen::analysis, PostgreSQL tsvector through each row's language
// configuration. Same query language on both (docs/content.md): words in any order, all
// required; "quoted phrases" in order; stop words ignored; each row matched with the query
// stemmed in the row's language.
#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>

#include "content/library_impl.hpp"
#include "gen/analysis/analyzer.hpp"
#include "gen/core/base/errors.hpp"
#include "gen/core/content/library.hpp"
#include "gen/core/storage/database.hpp"
#include "storage/record_values.hpp"
#include "storage/session.hpp"

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Statement;

namespace gen::content {
namespace {

using rows::dbl;
using rows::i64;
using rows::str;

constexpr std::size_t kMaxQueryBytes = 1000;
constexpr int kMaxOffset = 10000;
constexpr std::size_t kSnippetBefore = 60;
// PostgreSQL ranks a match by reading its row's tsvector (no index gives ts_rank_cd), so a word
// in most documents costs a read per match: "file" in 10,000 man pages is ~15,000 segments,
// ~90 ms. Each language's query therefore ranks at most this many matches (those the index
// gives first); a query matching more is ranked within them. SQLite's FTS5 ranks from its
// doclists and has no such cap. (bench_search: p99 120 ms uncapped, see docs/content.md.)
constexpr int kMaxRankedPerLanguage = 2000;
constexpr std::size_t kSnippetBytes = 240;

// One part of a query: a word, or a quoted phrase (in order).
struct QueryPart {
  std::string text;
  bool phrase = false;
};

std::vector<QueryPart> parse_query(const std::string& q) {
  std::vector<QueryPart> parts;
  std::size_t i = 0;
  while (i < q.size()) {
    if (q[i] == '"') {
      std::size_t end = q.find('"', i + 1);
      if (end == std::string::npos) end = q.size();  // an open quote runs to the end
      parts.push_back({q.substr(i + 1, end - i - 1), true});
      i = end + 1;
      continue;
    }
    std::size_t end = q.find_first_of(" \t\r\n\"", i);
    if (end == std::string::npos) end = q.size();
    if (end > i) parts.push_back({q.substr(i, end - i), false});
    i = end == i ? i + 1 : end;
  }
  return parts;
}

std::vector<std::string> split_terms(const std::string& terms) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < terms.size()) {
    std::size_t end = terms.find(' ', i);
    if (end == std::string::npos) end = terms.size();
    if (end > i) out.push_back(terms.substr(i, end - i));
    i = end + 1;
  }
  return out;
}

// The query stemmed in one language: each part's stems (a part of stop words only is gone).
struct LanguageQuery {
  analysis::Language language;
  std::vector<std::vector<std::string>> parts;
  std::vector<std::string> sources;  // the parts' original text (for PostgreSQL)
  std::vector<bool> phrases;
};

std::vector<LanguageQuery> analyse(const std::vector<QueryPart>& parts) {
  std::vector<LanguageQuery> out;
  for (analysis::Language lang : analysis::kAllLanguages) {
    LanguageQuery lq{lang, {}, {}, {}};
    for (const QueryPart& part : parts) {
      auto stems = split_terms(analysis::index_terms(lang, part.text));
      if (stems.empty()) continue;
      lq.parts.push_back(std::move(stems));
      lq.sources.push_back(part.text);
      lq.phrases.push_back(part.phrase);
    }
    if (!lq.parts.empty()) out.push_back(std::move(lq));
  }
  return out;
}

// FTS5: `{en} : ("a" AND "b c") OR {de} : (...)`; a word that analyses to several stems
// ("e-mail") is a phrase, as PostgreSQL's plainto_tsquery makes it.
std::string fts5_match(const SearchQuery& query, const std::vector<LanguageQuery>& languages) {
  const std::string prefix =
      term_prefix(query.mode == SearchMode::kField ? kFieldRows : kSegmentRows, query.tenant);
  std::string expr;
  if (query.content_id) expr = "scope : \"" + content_token(*query.content_id) + "\" AND ";
  expr += "(";
  for (std::size_t l = 0; l < languages.size(); ++l) {
    if (l) expr += " OR ";
    expr += "{" + std::string(analysis::language_code(languages[l].language)) + "} : (";
    for (std::size_t p = 0; p < languages[l].parts.size(); ++p) {
      if (p) expr += " AND ";
      expr += '"';
      const auto& stems = languages[l].parts[p];
      for (std::size_t k = 0; k < stems.size(); ++k) expr += (k ? " " : "") + prefix + stems[k];
      expr += '"';
    }
    expr += ")";
  }
  return expr + ")";
}

// The words of `text` to show: where the first word whose stem the query has occurs.
std::string snippet(const std::string& text, const std::vector<LanguageQuery>& languages) {
  std::vector<std::pair<analysis::Language, std::set<std::string>>> stems;
  for (const auto& lq : languages) {
    std::set<std::string> set;
    for (const auto& part : lq.parts) set.insert(part.begin(), part.end());
    stems.emplace_back(lq.language, std::move(set));
  }
  std::size_t hit = 0;
  bool found = false;
  for (const analysis::Word& word : analysis::words(text)) {
    for (const auto& [lang, set] : stems) {
      if (set.count(analysis::stem(lang, word.lower))) {
        hit = word.offset;
        found = true;
        break;
      }
    }
    if (found) break;
  }
  std::size_t start = hit > kSnippetBefore ? hit - kSnippetBefore : 0;
  std::size_t end = std::min(text.size(), start + kSnippetBytes);
  // Whole words and whole UTF-8 characters only.
  if (start > 0) {
    std::size_t space = text.find_first_of(" \n\t", start);
    start = space != std::string::npos && space < hit ? space + 1 : start;
    while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) ++start;
  }
  if (end < text.size()) {
    std::size_t space = text.find_last_of(" \n\t", end);
    if (space != std::string::npos && space > hit) end = space;
    while (end > start && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  }
  std::string out = start > 0 ? "\xE2\x80\xA6" : "";
  bool space = false;
  for (std::size_t i = start; i < end; ++i) {
    char c = text[i];
    if (c == '\n' || c == '\t' || c == '\r' || c == ' ') {
      space = true;
      continue;
    }
    if (space && !out.empty() && out != "\xE2\x80\xA6") out += ' ';
    space = false;
    out += c;
  }
  if (end < text.size()) out += "\xE2\x80\xA6";
  return out;
}

int parse_cursor(const std::string& cursor) {
  if (cursor.empty()) return 0;
  if (cursor.size() > 6 ||
      !std::all_of(cursor.begin(), cursor.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    throw Error(ErrorCode::kValidationFailed, "cursor is not one this API returned", "cursor");
  }
  int offset = std::stoi(cursor);
  if (offset > kMaxOffset) {
    throw Error(
        ErrorCode::kValidationFailed,
        "cursor goes past the first " + std::to_string(kMaxOffset) + " results: narrow the query",
        "cursor");
  }
  return offset;
}

std::string pg_tsquery(const LanguageQuery& lq, std::vector<std::string>& args) {
  std::string config = "'" + std::string(analysis::postgres_config(lq.language)) + "'";
  std::string out;
  for (std::size_t p = 0; p < lq.parts.size(); ++p) {
    if (p) out += " && ";
    // The part's own words: the configuration's dictionary stems them (stop-word-only parts
    // are already gone: gen::analysis has PostgreSQL's stop word lists).
    args.push_back(lq.sources[p]);
    out += (lq.phrases[p] ? "phraseto_tsquery(" : "plainto_tsquery(") + config + ", ?)";
  }
  return "(" + out + ")";
}

}  // namespace

SearchPage Library::search(const SearchQuery& query) {
  if (query.q.empty()) throw Error(ErrorCode::kValidationFailed, "q is required", "q");
  if (query.q.size() > kMaxQueryBytes) {
    throw Error(ErrorCode::kValidationFailed, "q is longer than 1000 bytes", "q");
  }
  if (query.limit < 1 || query.limit > 100) {
    throw Error(ErrorCode::kValidationFailed, "limit must be 1-100", "limit");
  }
  if (query.content_id) check_content_id(*query.content_id);
  const int offset = parse_cursor(query.cursor);
  SearchPage page;
  const auto languages = analyse(parse_query(query.q));
  if (languages.empty()) return page;  // stop words only
  const bool fields = query.mode == SearchMode::kField;
  int fetch = query.limit + 1;
  int skip = offset;
  std::string tenant = query.tenant;
  std::string content_id = query.content_id.value_or("");
  int any_content = query.content_id ? 0 : 1;
  int active_only = query.active_only ? 1 : 0;

  db_.read([&](DbSession& s) {
    Statement st(s);
    if (db_.dialect() == Dialect::kSqlite) {
      std::string match = fts5_match(query, languages);
      const char* row = fields ? "JOIN content_fields r ON -r.id = content_index.rowid"
                               : "JOIN content_segments r ON r.id = content_index.rowid";
      st << db_.sql(std::string("SELECT r.content_id, r.version, ") +
                    (fields ? "-1, '', '', r.value, r.field"
                            : "r.seq, r.location, r.location_kind,"
                              " r.text, ''") +
                    ", bm25(content_index, 0.0, 1.0, 1.0, 1.0) AS score FROM content_index " + row +
                    " JOIN content_items i ON i.tenant = r.tenant AND i.content_id = r.content_id"
                    " WHERE content_index MATCH ? AND r.tenant = ? AND (? = 1 OR r.content_id = ?)"
                    " AND (? = 0 OR i.active_version = r.version) ORDER BY score, r.content_id,"
                    " r.version, 3 LIMIT ? OFFSET ?"),
          use(match), use(tenant), use(any_content), use(content_id), use(active_only), use(fetch),
          use(skip), now;
    } else {
      // Per language: the rows the GIN index finds, at most kMaxRankedPerLanguage of them
      // ranked (see there), then the page; the page's texts in a second, keyed query.
      std::vector<std::string> args;
      std::string sql = "SELECT content_id, version, seq, field, score FROM (";
      for (std::size_t l = 0; l < languages.size(); ++l) {
        std::vector<std::string> q_args;
        std::string tsq = pg_tsquery(languages[l], q_args);
        if (l) sql += " UNION ALL ";
        sql += "(SELECT content_id, version, seq, field, ts_rank_cd(tsv, " + tsq +
               ", 32) AS score FROM content_index c WHERE tenant = ? AND config = '" +
               std::string(analysis::postgres_config(languages[l].language)) + "'::regconfig AND " +
               (fields ? "seq < 0" : "seq >= 0") + " AND tsv @@ " + tsq +
               (query.content_id ? " AND content_id = ?" : "") +
               (query.active_only ? " AND EXISTS (SELECT 1 FROM content_items i WHERE i.tenant ="
                                    " c.tenant AND i.content_id = c.content_id AND"
                                    " i.active_version = c.version)"
                                  : "") +
               " LIMIT " + std::to_string(kMaxRankedPerLanguage) + ")";
        args.insert(args.end(), q_args.begin(), q_args.end());
        args.push_back(tenant);
        args.insert(args.end(), q_args.begin(), q_args.end());
        if (query.content_id) args.push_back(content_id);
      }
      sql += ") x ORDER BY score DESC, content_id, version, seq, field LIMIT ? OFFSET ?";
      Statement top(s);
      top << db_.sql(sql);
      for (std::string& arg : args) top, use(arg);
      top, use(fetch), use(skip), now;
      RecordSet hits(top);
      // The texts of the page's rows.
      std::vector<std::string> ids, names;
      std::vector<int> versions, seqs;
      for (std::size_t r = 0; r < hits.rowCount(); ++r) {
        ids.push_back(str(hits, 0, r));
        versions.push_back(static_cast<int>(i64(hits, 1, r)));
        seqs.push_back(static_cast<int>(i64(hits, 2, r)));
        names.push_back(str(hits, 3, r));
      }
      std::map<std::tuple<std::string, int, int, std::string>, std::array<std::string, 3>> texts;
      if (!ids.empty()) {
        std::string keys;
        for (std::size_t i = 0; i < ids.size(); ++i) keys += i ? ", (?, ?, ?)" : "(?, ?, ?)";
        Statement rows(s);
        rows << db_.sql(fields ? "SELECT content_id, version, -1, field, '', '', value FROM"
                                 " content_fields WHERE tenant = ? AND (content_id, version,"
                                 " field) IN (" +
                                     keys + ")"
                               : "SELECT content_id, version, seq, '', location, location_kind,"
                                 " text FROM content_segments WHERE tenant = ? AND (content_id,"
                                 " version, seq) IN (" +
                                     keys + ")");
        rows, use(tenant);
        for (std::size_t i = 0; i < ids.size(); ++i) {
          rows, use(ids[i]), use(versions[i]);
          if (fields) {
            rows, use(names[i]);
          } else {
            rows, use(seqs[i]);
          }
        }
        rows, now;
        RecordSet rs(rows);
        for (std::size_t r = 0; r < rs.rowCount(); ++r) {
          texts[{str(rs, 0, r), static_cast<int>(i64(rs, 1, r)), static_cast<int>(i64(rs, 2, r)),
                 str(rs, 3, r)}] = {str(rs, 4, r), str(rs, 5, r), str(rs, 6, r)};
        }
      }
      for (std::size_t r = 0; r < hits.rowCount(); ++r) {
        if (static_cast<int>(page.hits.size()) == query.limit) {
          page.next = std::to_string(offset + query.limit);
          break;
        }
        SearchHit hit;
        hit.content_id = ids[r];
        hit.version = versions[r];
        hit.field = names[r];
        const auto& row = texts[{ids[r], versions[r], fields ? -1 : seqs[r], names[r]}];
        std::string text = row[2];
        if (fields) {
          hit.location = hit.field;
          hit.location_kind = "field";
          text = field_search_text(nlohmann::json::parse(text, nullptr, false));
        } else {
          hit.location = row[0];
          hit.location_kind = row[1];
        }
        hit.snippet = snippet(text, languages);
        hit.match_strength = std::clamp(dbl(hits, 4, r), 0.0, 1.0);  // r / (r + 1)
        page.hits.push_back(std::move(hit));
      }
      return;
    }
    RecordSet rs(st);
    for (std::size_t r = 0; r < rs.rowCount(); ++r) {
      if (static_cast<int>(page.hits.size()) == query.limit) {
        page.next = std::to_string(offset + query.limit);
        break;
      }
      SearchHit hit;
      hit.content_id = str(rs, 0, r);
      hit.version = static_cast<int>(i64(rs, 1, r));
      hit.location = str(rs, 3, r);
      hit.location_kind = str(rs, 4, r);
      std::string text = str(rs, 5, r);
      hit.field = str(rs, 6, r);
      if (fields) {
        hit.location = hit.field;
        hit.location_kind = "field";
        text = field_search_text(nlohmann::json::parse(text, nullptr, false));
      }
      hit.snippet = snippet(text, languages);
      double score = dbl(rs, 7, r);
      // SQLite's bm25() is negative, better is lower; ts_rank_cd(..., 32) is already r/(r+1).
      if (db_.dialect() == Dialect::kSqlite) {
        double x = std::max(0.0, -score);
        score = x / (x + 1.0);
      }
      hit.match_strength = std::clamp(score, 0.0, 1.0);
      page.hits.push_back(std::move(hit));
    }
  });
  return page;
}

}  // namespace gen::content
