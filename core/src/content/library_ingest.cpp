// Import and field jobs' typed outputs into the library, inside the transaction that completes
// their step (JobStore::complete_many, after the fence): a stale attempt ingests nothing, and a
// retried transaction ingests again from scratch (every write here replaces what it writes).
#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>

#include "content/library_impl.hpp"
#include "gen/analysis/analyzer.hpp"
#include "gen/core/base/clock.hpp"
#include "gen/core/base/log.hpp"
#include "gen/core/content/library.hpp"
#include "gen/core/storage/database.hpp"
#include "storage/record_values.hpp"
#include "storage/session.hpp"

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Statement;

namespace gen::content {
namespace {

using rows::i64;
using rows::str;

struct Binding {
  std::string tenant, content_id;
  int version = 0;
  std::string field;  ///< a field job's field; "" for an import
  bool force = true;
  std::string status;  ///< the version's
};

std::optional<Binding> binding_of(const Database& db, DbSession& s, const std::string& job_id) {
  std::string job = job_id;
  Statement st(s);
  st << db.sql(
      "SELECT b.tenant, b.content_id, b.version, b.field, b.force_regenerate, v.status"
      " FROM content_jobs b JOIN content_versions v ON v.tenant = b.tenant AND"
      " v.content_id = b.content_id AND v.version = b.version WHERE b.job_id = ?"),
      use(job), now;
  RecordSet rs(st);
  if (rs.rowCount() == 0) return std::nullopt;  // not a content job, or its content went
  return Binding{str(rs, 0, 0), str(rs, 1, 0),      static_cast<int>(i64(rs, 2, 0)),
                 str(rs, 3, 0), i64(rs, 4, 0) != 0, str(rs, 5, 0)};
}

void fail_version(const Database& db, DbSession& s, const Binding& b, const std::string& error) {
  std::string t = b.tenant, c = b.content_id, e = error, status = kVersionFailed;
  int v = b.version;
  Poco::Int64 at = now_ms();
  s << db.sql(
      "UPDATE content_versions SET status = ?, error = ?, updated_at_ms = ? WHERE tenant ="
      " ? AND content_id = ? AND version = ? AND status = 'IMPORTING'"),
      use(status), use(e), use(at), use(t), use(c), use(v), now;
}

analysis::Language language_of(const nlohmann::json& doc) {
  if (doc.contains("language") && doc["language"].is_string()) {
    if (auto lang = analysis::parse_language(doc["language"].get<std::string>())) return *lang;
  }
  return analysis::Language::kEnglish;
}

// A segments or index document, checked: segments is an array of objects with string text.
std::optional<std::string> shape_error(const nlohmann::json& doc) {
  if (!doc.is_object()) return "not a JSON object";
  if (!doc.contains("segments") || !doc["segments"].is_array()) return "no segments array";
  for (std::size_t i = 0; i < doc["segments"].size(); ++i) {
    const auto& seg = doc["segments"][i];
    if (!seg.is_object() || !seg.contains("text") || !seg["text"].is_string()) {
      return "segments[" + std::to_string(i) + "] has no text";
    }
  }
  return std::nullopt;
}

std::string string_or(const nlohmann::json& obj, const char* key, const std::string& fallback) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : fallback;
}

// Rows per multi-row INSERT: one round trip per batch instead of one per row (a man page
// is hundreds of paragraph segments; row by row, PostgreSQL took ~0.2 s per document inside
// the completing transaction, long enough for leases to expire under load).
constexpr std::size_t kRowsPerInsert = 200;

std::string values_list(std::size_t rows, const std::string& row) {
  std::string out;
  for (std::size_t i = 0; i < rows; ++i) out += (i ? ", " : "") + row;
  return out;
}

// The version's format, title, language and counts from a segments or index document.
void write_version_facts(const Database& db, DbSession& s, const Binding& b,
                         const nlohmann::json& doc) {
  std::string t = b.tenant, c = b.content_id;
  int v = b.version;
  Poco::Int64 tokens_total = 0;
  int count = 0;
  for (const auto& seg : doc["segments"]) {
    ++count;
    tokens_total +=
        seg.contains("tokens") && seg["tokens"].is_number_integer()
            ? seg["tokens"].get<std::int64_t>()
            : static_cast<std::int64_t>((seg["text"].get_ref<const std::string&>().size() + 3) / 4);
  }
  std::string format = string_or(doc, "format", "");
  std::string title = string_or(doc, "title", "");
  std::string language = string_or(doc, "language", "");
  Poco::Int64 at = now_ms();
  s << db.sql(
      "UPDATE content_versions SET format = ?, title = ?, language = ?, token_count = ?,"
      " segment_count = ?, updated_at_ms = ? WHERE tenant = ? AND content_id = ? AND"
      " version = ?"),
      use(format), use(title), use(language), use(tokens_total), use(count), use(at), use(t),
      use(c), use(v), now;
}

void write_segments(const Database& db, DbSession& s, const Binding& b, const nlohmann::json& doc) {
  delete_index(db, s, b.tenant, b.content_id, b.version, IndexRows::kSegments);
  std::string t = b.tenant, c = b.content_id;
  int v = b.version;
  s << db.sql("DELETE FROM content_segments WHERE tenant = ? AND content_id = ? AND version = ?"),
      use(t), use(c), use(v), now;
  const auto& segments = doc["segments"];
  std::vector<int> seqs, tokens;
  std::vector<std::string> locations, kinds, texts;
  for (const auto& seg : segments) {
    seqs.push_back(static_cast<int>(seqs.size()));
    locations.push_back(string_or(seg, "location", ""));
    kinds.push_back(string_or(seg, "location_kind", ""));
    texts.push_back(seg["text"].get<std::string>());
    tokens.push_back(seg.contains("tokens") && seg["tokens"].is_number_integer()
                         ? seg["tokens"].get<int>()
                         : static_cast<int>((texts.back().size() + 3) / 4));
  }
  for (std::size_t first = 0; first < seqs.size(); first += kRowsPerInsert) {
    const std::size_t n = std::min(kRowsPerInsert, seqs.size() - first);
    Statement st(s);
    st << db.sql(
        "INSERT INTO content_segments (tenant, content_id, version, seq, location,"
        " location_kind, text, tokens) VALUES " +
        values_list(n, "(?, ?, ?, ?, ?, ?, ?, ?)"));
    for (std::size_t i = first; i < first + n; ++i) {
      st, use(t), use(c), use(v), use(seqs[i]), use(locations[i]), use(kinds[i]), use(texts[i]),
          use(tokens[i]);
    }
    st.execute();
  }
  write_version_facts(db, s, b, doc);
}

// A field's row of the search index (segments' rows are written together by write_index),
// after the field's own row (SQLite's index row takes minus its id).
void index_field(const Database& db, DbSession& s, const Binding& b, const std::string& field,
                 analysis::Language lang, const std::string& text) {
  std::string t = b.tenant, c = b.content_id, f = field;
  int v = b.version;
  if (db.dialect() == Dialect::kPostgres) {
    std::string config(analysis::postgres_config(lang));
    std::string body = text;
    s << db.sql(
        "INSERT INTO content_index (tenant, content_id, version, seq, field, config, tsv)"
        " VALUES (?, ?, ?, -1, ?, CAST(? AS regconfig), to_tsvector(CAST(? AS regconfig), ?))"),
        use(t), use(c), use(v), use(f), use(config), use(config), use(body), now;
    return;
  }
  std::string scope = content_token(b.content_id);
  std::string analysed = scoped_terms(kFieldRows, b.tenant, analysis::index_terms(lang, text));
  std::string en, de, fr;
  (lang == analysis::Language::kGerman   ? de
   : lang == analysis::Language::kFrench ? fr
                                         : en) = std::move(analysed);
  s << db.sql(
      "INSERT INTO content_index (rowid, scope, en, de, fr) SELECT -id, ?, ?, ?, ? FROM"
      " content_fields WHERE tenant = ? AND content_id = ? AND version = ? AND field = ?"),
      use(scope), use(en), use(de), use(fr), use(t), use(c), use(v), use(f), now;
}

void write_index(const Database& db, DbSession& s, const Binding& b, const nlohmann::json& doc) {
  write_segments(db, s, b, doc);  // (drops the old index rows first)
  std::string t = b.tenant, c = b.content_id;
  int v = b.version;
  const analysis::Language lang = language_of(doc);
  if (db.dialect() == Dialect::kPostgres) {
    // The text is already in content_segments: one statement, the dictionary stems it.
    std::string config(analysis::postgres_config(lang));
    s << db.sql(
        "INSERT INTO content_index (tenant, content_id, version, seq, field, config, tsv)"
        " SELECT tenant, content_id, version, seq, '', CAST(? AS regconfig),"
        " to_tsvector(CAST(? AS regconfig), text) FROM content_segments WHERE tenant = ?"
        " AND content_id = ? AND version = ?"),
        use(config), use(config), use(t), use(c), use(v), now;
  } else {
    // FTS5 rows under the segments' ids: the terms in the language's column.
    std::vector<int> seqs;
    std::vector<std::string> terms;
    for (const auto& seg : doc["segments"]) {
      seqs.push_back(static_cast<int>(seqs.size()));
      terms.push_back(scoped_terms(
          kSegmentRows, b.tenant,
          seg.contains("terms") && seg["terms"].is_string()
              ? seg["terms"].get<std::string>()
              : analysis::index_terms(lang, seg["text"].get_ref<const std::string&>())));
    }
    std::string scope = content_token(b.content_id);
    const char* columns = lang == analysis::Language::kGerman   ? "'', t.column2, ''"
                          : lang == analysis::Language::kFrench ? "'', '', t.column2"
                                                                : "t.column2, '', ''";
    for (std::size_t first = 0; first < seqs.size(); first += kRowsPerInsert) {
      const std::size_t n = std::min(kRowsPerInsert, seqs.size() - first);
      Statement st(s);
      st << db.sql(std::string("INSERT INTO content_index (rowid, scope, en, de, fr) SELECT"
                               " r.id, ?, ") +
                   columns + " FROM (VALUES " + values_list(n, "(?, ?)") +
                   ") t JOIN content_segments r ON r.tenant = ? AND r.content_id = ? AND"
                   " r.version = ? AND r.seq = t.column1");
      st, use(scope);
      for (std::size_t i = first; i < first + n; ++i) st, use(seqs[i]), use(terms[i]);
      st, use(t), use(c), use(v);
      st.execute();
    }
  }
  // Ready; active if asked (replacing the active version).
  std::string ready = kVersionReady;
  Poco::Int64 at = now_ms();
  s << db.sql(
      "UPDATE content_versions SET status = ?, updated_at_ms = ? WHERE tenant = ? AND"
      " content_id = ? AND version = ?"),
      use(ready), use(at), use(t), use(c), use(v), now;
  s << db.sql(
      "UPDATE content_items SET active_version = ?, updated_at_ms = ? WHERE tenant = ? AND"
      " content_id = ? AND EXISTS (SELECT 1 FROM content_versions WHERE tenant = ? AND"
      " content_id = ? AND version = ? AND activate_when_ready = 1)"),
      use(v), use(at), use(t), use(c), use(t), use(c), use(v), now;
}

void write_field(const Database& db, DbSession& s, const Binding& b, const std::string& job_id,
                 const nlohmann::json& doc) {
  std::string field = string_or(doc, "field", "");
  if (!parse_field(field) || !doc.contains("value")) {
    log::warning("content: job " + job_id + " wrote a field artifact without a known field/value");
    return;
  }
  std::string t = b.tenant, c = b.content_id;
  int v = b.version;
  if (!b.force) {
    int existing = 0;
    s << db.sql(
        "SELECT COUNT(*) FROM content_fields WHERE tenant = ? AND content_id = ? AND"
        " version = ? AND field = ?"),
        use(t), use(c), use(v), use(field), into(existing), now;
    if (existing > 0) return;  // generated meanwhile, and the job did not force
  }
  std::string value = doc["value"].dump();
  std::string method = string_or(doc, "method", "");
  std::string job = job_id;
  Poco::Int64 at = now_ms();
  delete_index(db, s, b.tenant, b.content_id, b.version, IndexRows::kFields, field);
  s << db.sql(
      "DELETE FROM content_fields WHERE tenant = ? AND content_id = ? AND version = ? AND"
      " field = ?"),
      use(t), use(c), use(v), use(field), now;
  s << db.sql(
      "INSERT INTO content_fields (tenant, content_id, version, field, value, method,"
      " job_id, generated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
      use(t), use(c), use(v), use(field), use(value), use(method), use(job), use(at), now;
  std::vector<std::string> languages;
  s << db.sql(
      "SELECT COALESCE(language, '') FROM content_versions WHERE tenant = ? AND"
      " content_id = ? AND version = ?"),
      use(t), use(c), use(v), into(languages), now;
  analysis::Language lang = analysis::Language::kEnglish;
  if (!languages.empty()) lang = analysis::parse_language(languages.front()).value_or(lang);
  index_field(db, s, b, field, lang, field_search_text(doc["value"]));
}

}  // namespace

bool LibraryIngest::wants(const std::string& media_type) const {
  return media_type == kSegmentsMediaType || media_type == kIndexMediaType ||
         media_type == kFieldMediaType;
}

void LibraryIngest::ingest(Database& db, DbSession& s, const ClaimedTask& task,
                           const OutputFile& output) {
  auto binding = binding_of(db, s, task.job_id);
  if (!binding) return;
  const bool is_field = output.media_type == kFieldMediaType;
  if (!is_field && binding->status != kVersionImporting) return;  // the version moved on
  nlohmann::json doc = nlohmann::json::parse(output.data, nullptr, false);
  const std::string where = "step " + std::to_string(task.step) + " (" + task.generator + ")";
  if (is_field) {
    if (!doc.is_object()) {
      log::warning("content: " + where + " of job " + task.job_id + " wrote malformed JSON");
      return;
    }
    write_field(db, s, *binding, task.job_id, doc);
    return;
  }
  if (doc.is_discarded()) {
    fail_version(db, s, *binding, where + " wrote malformed JSON as " + output.media_type);
    return;
  }
  if (auto error = shape_error(doc)) {
    fail_version(db, s, *binding, where + " wrote " + output.media_type + ": " + *error);
    return;
  }
  if (output.media_type == kSegmentsMediaType) {
    // The extract step: the version's facts now; its segments arrive with the index step's
    // output (which carries them), written once. A job without an index step writes them now.
    if (task.step_count > 0 && task.step + 1 < task.step_count) {
      write_version_facts(db, s, *binding, doc);
    } else {
      write_segments(db, s, *binding, doc);
    }
  } else {
    write_index(db, s, *binding, doc);
  }
}

// --- shared ----------------------------------------------------------------------------------

namespace {
std::string fnv_token(char prefix, const std::string& text) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char ch : text) {
    h ^= ch;
    h *= 1099511628211ULL;
  }
  static const char* kHex = "0123456789abcdef";
  std::string out(1, prefix);
  for (int i = 15; i >= 0; --i) out += kHex[(h >> (i * 4)) & 0xF];
  return out;
}
}  // namespace

void delete_index(const Database& db, DbSession& s, const std::string& tenant,
                  const std::string& content_id, std::optional<int> version, IndexRows rows,
                  const std::string& field) {
  std::string t = tenant, c = content_id, f = field;
  int v = version.value_or(0);
  int any_version = version ? 0 : 1;
  int any_field = field.empty() ? 1 : 0;
  const bool segments = rows == IndexRows::kSegments;
  if (db.dialect() == Dialect::kPostgres) {
    if (segments) {
      s << db.sql(
          "DELETE FROM content_index WHERE tenant = ? AND content_id = ? AND (? = 1 OR"
          " version = ?) AND seq >= 0"),
          use(t), use(c), use(any_version), use(v), now;
    } else {
      s << db.sql(
          "DELETE FROM content_index WHERE tenant = ? AND content_id = ? AND (? = 1 OR"
          " version = ?) AND seq < 0 AND (? = 1 OR field = ?)"),
          use(t), use(c), use(any_version), use(v), use(any_field), use(f), now;
    }
    return;
  }
  if (segments) {
    s << db.sql(
        "DELETE FROM content_index WHERE rowid IN (SELECT id FROM content_segments WHERE"
        " tenant = ? AND content_id = ? AND (? = 1 OR version = ?))"),
        use(t), use(c), use(any_version), use(v), now;
  } else {
    s << db.sql(
        "DELETE FROM content_index WHERE rowid IN (SELECT -id FROM content_fields WHERE"
        " tenant = ? AND content_id = ? AND (? = 1 OR version = ?) AND (? = 1 OR field ="
        " ?))"),
        use(t), use(c), use(any_version), use(v), use(any_field), use(f), now;
  }
}

std::string term_prefix(char kind, const std::string& tenant) {
  return std::string(1, kind) + fnv_token('t', tenant).substr(1, 8);
}

std::string scoped_terms(char kind, const std::string& tenant, const std::string& terms) {
  const std::string prefix = term_prefix(kind, tenant);
  std::string out;
  out.reserve(terms.size() + terms.size() / 3);
  std::size_t i = 0;
  while (i < terms.size()) {
    std::size_t end = terms.find(' ', i);
    if (end == std::string::npos) end = terms.size();
    if (end > i) {
      if (!out.empty()) out += ' ';
      out += prefix;
      out.append(terms, i, end - i);
    }
    i = end + 1;
  }
  return out;
}
std::string content_token(const std::string& content_id) {
  return fnv_token('c', content_id);
}

std::string field_search_text(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  std::string out;
  auto add = [&out](const std::string& text) {
    if (!out.empty()) out += '\n';
    out += text;
  };
  if (value.is_array()) {
    for (const auto& item : value) {
      if (item.is_string()) {
        add(item.get<std::string>());
      } else if (item.is_object()) {
        if (auto q = item.find("question"); q != item.end() && q->is_string()) add(*q);
        if (auto ch = item.find("choices"); ch != item.end() && ch->is_array()) {
          for (const auto& choice : *ch) {
            if (choice.is_string()) add(choice.get<std::string>());
          }
        }
      }
    }
  }
  return out;
}

}  // namespace gen::content
