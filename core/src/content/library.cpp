// The content library: import and field jobs, reading, activation and deletion. Search is in
// library_search.cpp, ingestion of job outputs in library_ingest.cpp.
#include "gen/core/content/library.hpp"

#include <algorithm>

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>
#include <Poco/Nullable.h>

#include "content/library_impl.hpp"
#include "gen/core/base/clock.hpp"
#include "gen/core/base/errors.hpp"
#include "gen/core/queue/states.hpp"
#include "gen/core/storage/database.hpp"
#include "gen/sdk/params.hpp"
#include "queue/job_store_impl.hpp"
#include "storage/record_values.hpp"
#include "storage/session.hpp"

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Statement;

namespace gen::content {
namespace {

using rows::i64;
using rows::is_null;
using rows::str;

constexpr std::size_t kMaxContentIdBytes = 255;

// The version's own copy of its source document: chunks under a new blob id that no job
// owns, so retention (which deletes jobs) never takes it.
std::string store_source(const Database& db, DbSession& s, const InputFile& input) {
  std::string blob_id = new_id();
  if (!input.blob_id.empty()) {
    std::string from = input.blob_id;
    s << db.sql(
        "INSERT INTO artifact_chunks (blob_id, seq, offset_bytes, data) SELECT ?, seq,"
        " offset_bytes, data FROM artifact_chunks WHERE blob_id = ?"),
        use(blob_id), use(from), now;
    return blob_id;
  }
  const std::string& data = input.data;
  int seq = 0;
  for (std::size_t off = 0; off < data.size() || seq == 0; off += BlobWriter::kChunkBytes) {
    std::size_t size = std::min(BlobWriter::kChunkBytes, data.size() - off);
    if (size == 0) break;  // an empty document has no chunk
    jobstore::insert_chunk(db, s, blob_id, seq++, static_cast<std::int64_t>(off), data.data() + off,
                           size);
  }
  return blob_id;
}

void bind_job(const Database& db, DbSession& s, const std::string& job_id,
              const std::string& tenant, const std::string& content_id, int version,
              const std::string& field, bool force) {
  std::string job = job_id, t = tenant, c = content_id, f = field;
  int v = version;
  int forced = force ? 1 : 0;
  s << db.sql(
      "INSERT INTO content_jobs (job_id, tenant, content_id, version, field,"
      " force_regenerate) VALUES (?, ?, ?, ?, ?, ?)"),
      use(job), use(t), use(c), use(v), use(f), use(forced), now;
}

// A version's status as clients see it: an import whose job failed, was cancelled or went
// away before its index step completed is FAILED, with the job's error.
const std::string kVersionColumns = [] {
  const std::string importing = std::string("'") + kVersionImporting + "'";
  const std::string ended =
      "(" + sql_literal(JobStatus::kFailed) + ", " + sql_literal(JobStatus::kCancelled) + ")";
  return "v.version, CASE WHEN v.status = " + importing + " AND (j.id IS NULL OR j.status IN " +
         ended + ") THEN '" + kVersionFailed +
         "' ELSE v.status END, CASE WHEN i.active_version = v.version THEN 1 ELSE 0 END,"
         " v.activate_when_ready, v.job_id, v.source_name, v.source_media_type,"
         " v.source_size_bytes, v.format, v.title, v.language, v.token_count, v.segment_count,"
         " COALESCE(v.error, CASE WHEN v.status = " +
         importing +
         " AND j.id IS NULL THEN 'the import job was deleted' WHEN v.status = " + importing +
         " AND j.status IN " + ended +
         " THEN j.status || ': ' || COALESCE(j.error, '') END), v.created_at_ms, v.updated_at_ms";
}();
constexpr const char* kVersionFrom =
    " FROM content_versions v JOIN content_items i ON i.tenant = v.tenant AND i.content_id ="
    " v.content_id LEFT JOIN jobs j ON j.id = v.job_id";

VersionView version_view(const RecordSet& rs, std::size_t row) {
  VersionView v;
  v.version = static_cast<int>(i64(rs, 0, row));
  v.status = str(rs, 1, row);
  v.active = i64(rs, 2, row) != 0;
  v.activate_when_ready = i64(rs, 3, row) != 0;
  v.job_id = str(rs, 4, row);
  v.source_name = str(rs, 5, row);
  v.source_media_type = str(rs, 6, row);
  v.source_size_bytes = i64(rs, 7, row);
  v.format = str(rs, 8, row);
  v.title = str(rs, 9, row);
  v.language = str(rs, 10, row);
  v.token_count = i64(rs, 11, row);
  v.segment_count = static_cast<int>(i64(rs, 12, row));
  v.error = str(rs, 13, row);
  v.created_at_ms = i64(rs, 14, row);
  v.updated_at_ms = i64(rs, 15, row);
  return v;
}

std::vector<FieldValue> fields_of(const Database& db, DbSession& s, const std::string& tenant,
                                  const std::string& content_id, int version) {
  std::string t = tenant, c = content_id;
  int v = version;
  Statement st(s);
  st << db.sql(
      "SELECT field, value, method, job_id, generated_at_ms FROM content_fields WHERE"
      " tenant = ? AND content_id = ? AND version = ? ORDER BY field"),
      use(t), use(c), use(v), now;
  RecordSet rs(st);
  std::vector<FieldValue> out;
  for (std::size_t r = 0; r < rs.rowCount(); ++r) {
    FieldValue f;
    f.field = str(rs, 0, r);
    f.value = nlohmann::json::parse(str(rs, 1, r), nullptr, false);
    f.method = str(rs, 2, r);
    f.job_id = str(rs, 3, r);
    f.generated_at_ms = i64(rs, 4, r);
    out.push_back(std::move(f));
  }
  return out;
}

std::optional<ContentView> read_content(const Database& db, DbSession& s, const std::string& tenant,
                                        const std::string& content_id) {
  std::string t = tenant, c = content_id;
  Statement item(s);
  item << db.sql(
      "SELECT active_version, created_at_ms, updated_at_ms FROM content_items WHERE"
      " tenant = ? AND content_id = ?"),
      use(t), use(c), now;
  RecordSet irs(item);
  if (irs.rowCount() == 0) return std::nullopt;
  ContentView view;
  view.content_id = content_id;
  if (!is_null(irs, 0, 0)) view.active_version = static_cast<int>(i64(irs, 0, 0));
  view.created_at_ms = i64(irs, 1, 0);
  view.updated_at_ms = i64(irs, 2, 0);
  Statement st(s);
  st << db.sql("SELECT " + kVersionColumns + kVersionFrom +
               " WHERE v.tenant = ? AND v.content_id = ? ORDER BY v.version"),
      use(t), use(c), now;
  RecordSet rs(st);
  for (std::size_t r = 0; r < rs.rowCount(); ++r) {
    VersionView v = version_view(rs, r);
    v.fields = fields_of(db, s, tenant, content_id, v.version);
    view.versions.push_back(std::move(v));
  }
  return view;
}

// Deletes one version (or all of a content's) with its source, segments, fields, index rows
// and job bindings.
void delete_versions(const Database& db, DbSession& s, const std::string& tenant,
                     const std::string& content_id, std::optional<int> version) {
  std::string t = tenant, c = content_id;
  int v = version.value_or(0);
  int all = version ? 0 : 1;
  std::vector<std::string> blobs;
  s << db.sql(
      "SELECT source_blob_id FROM content_versions WHERE tenant = ? AND content_id = ?"
      " AND (? = 1 OR version = ?) AND source_blob_id IS NOT NULL"),
      use(t), use(c), use(all), use(v), into(blobs), now;
  for (std::string& blob : blobs) {
    s << db.sql("DELETE FROM artifact_chunks WHERE blob_id = ?"), use(blob), now;
  }
  delete_index(db, s, tenant, content_id, version, IndexRows::kSegments);
  delete_index(db, s, tenant, content_id, version, IndexRows::kFields);
  for (const char* table :
       {"content_segments", "content_fields", "content_jobs", "content_versions"}) {
    s << db.sql(std::string("DELETE FROM ") + table +
                " WHERE tenant = ? AND content_id = ? AND (? = 1 OR version = ?)"),
        use(t), use(c), use(all), use(v), now;
  }
}

}  // namespace

std::string_view field_name(Field field) {
  switch (field) {
    case Field::kTitle:
      return "TITLE";
    case Field::kPlug:
      return "PLUG";
    case Field::kBlurb:
      return "BLURB";
    case Field::kSummary:
      return "SUMMARY";
    case Field::kKeywords:
      return "KEYWORDS";
    case Field::kQuestions:
      return "QUESTIONS";
  }
  return "";
}

std::optional<Field> parse_field(std::string_view name) {
  for (Field f : kAllFields) {
    if (field_name(f) == name) return f;
  }
  return std::nullopt;
}

void check_content_id(const std::string& content_id, const std::string& field) {
  if (content_id.empty() || content_id.size() > kMaxContentIdBytes) {
    throw Error(ErrorCode::kValidationFailed, "content_id must be 1-255 bytes", field);
  }
  for (unsigned char c : content_id) {
    if (c < 0x20 || c == 0x7F) {
      throw Error(ErrorCode::kValidationFailed, "content_id must not contain control characters",
                  field);
    }
  }
  if (!sdk::detail::valid_utf8(content_id)) {
    throw Error(ErrorCode::kValidationFailed, "content_id must be UTF-8", field);
  }
}

Imported Library::import(const ImportRequest& request) {
  check_content_id(request.content_id);
  if (request.job.inputs.size() != 1) {
    throw Error(ErrorCode::kValidationFailed, "an import takes exactly one document", "inputs");
  }
  Imported out;
  JobSpec spec = request.job;
  spec.tenant = request.tenant;
  spec.type = kImportJobType;
  spec.in_transaction = [&](DbSession& s, const std::string& job_id) {
    const Database& db = db_;
    std::string t = request.tenant, c = request.content_id;
    Poco::Int64 at = now_ms();
    std::vector<int> next;
    if (db.dialect() == Dialect::kPostgres) {
      s << db.sql(
          "SELECT next_version FROM content_items WHERE tenant = ? AND content_id = ? FOR"
          " UPDATE"),
          use(t), use(c), into(next), now;
    } else {
      s << db.sql("SELECT next_version FROM content_items WHERE tenant = ? AND content_id = ?"),
          use(t), use(c), into(next), now;
    }
    int version = 1;
    if (next.empty()) {
      // Two first imports of one id race to this insert: the loser conflicts, and its
      // retried transaction (write_transaction retries) finds the row.
      s << db.sql(
          "INSERT INTO content_items (tenant, content_id, next_version, created_at_ms,"
          " updated_at_ms) VALUES (?, ?, 2, ?, ?)"),
          use(t), use(c), use(at), use(at), now;
    } else {
      if (!request.may_create_new_version) {
        throw Error(
            ErrorCode::kConflict,
            "content '" + request.content_id + "' exists and may_create_new_version is false",
            "content_id");
      }
      version = next.front();
      s << db.sql(
          "UPDATE content_items SET next_version = next_version + 1, updated_at_ms = ?"
          " WHERE tenant = ? AND content_id = ?"),
          use(at), use(t), use(c), now;
    }
    const InputFile& input = request.job.inputs.front();
    std::string blob = store_source(db, s, input);
    std::string job = job_id, name = input.name, media_type = input.media_type;
    std::string status = kVersionImporting;
    Poco::Int64 size =
        input.blob_id.empty() ? static_cast<Poco::Int64>(input.data.size()) : input.blob_size;
    int activate = request.is_active ? 1 : 0;
    s << db.sql(
        "INSERT INTO content_versions (tenant, content_id, version, status,"
        " activate_when_ready, job_id, source_name, source_media_type, source_size_bytes,"
        " source_blob_id, created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?,"
        " ?, ?, ?)"),
        use(t), use(c), use(version), use(status), use(activate), use(job), use(name),
        use(media_type), use(size), use(blob), use(at), use(at), now;
    bind_job(db, s, job_id, request.tenant, request.content_id, version, "", true);
    out.version = version;
  };
  out.job_id = jobs_.submit(spec);
  return out;
}

Library::FieldJob Library::generate_field(const std::string& tenant, const std::string& content_id,
                                          std::optional<int> version, Field field, bool force,
                                          JobSpec job) {
  check_content_id(content_id);
  FieldJob out;
  std::string segments_json;
  db_.read([&](DbSession& s) {
    auto content = read_content(db_, s, tenant, content_id);
    if (!content) {
      throw Error(ErrorCode::kNotFound, "no content '" + content_id + "'", "content_id");
    }
    if (!version) {
      if (!content->active_version) {
        throw Error(ErrorCode::kConflict,
                    "content '" + content_id + "' has no active version: name one", "version");
      }
      version = content->active_version;
    }
    auto it = std::find_if(content->versions.begin(), content->versions.end(),
                           [&](const VersionView& v) { return v.version == *version; });
    if (it == content->versions.end()) {
      throw Error(ErrorCode::kNotFound,
                  "content '" + content_id + "' has no version " + std::to_string(*version),
                  "version");
    }
    if (it->status != kVersionReady) {
      throw Error(ErrorCode::kConflict,
                  "version " + std::to_string(*version) + " is " + it->status + ", not READY",
                  "version");
    }
    out.version = *version;
    for (const FieldValue& f : it->fields) {
      if (f.field == field_name(field) && !force) out.kept = f;
    }
    if (out.kept) return;
    segments_json = segments_document(db_, s, tenant, content_id, *version, *it).dump();
  });
  if (out.kept) return out;
  job.tenant = tenant;
  job.type = kFieldJobType;
  job.inputs = {InputFile{"segments.json", kSegmentsMediaType, std::move(segments_json)}};
  const int bound_version = out.version;
  job.in_transaction = [&](DbSession& s, const std::string& job_id) {
    // The version may have gone since it was read: the job would then ingest nothing.
    bind_job(db_, s, job_id, tenant, content_id, bound_version, std::string(field_name(field)),
             force);
  };
  out.job_id = jobs_.submit(job);
  return out;
}

ContentPage Library::list(const std::string& tenant, const std::string& cursor, int limit) {
  if (limit < 1 || limit > 1000) {
    throw Error(ErrorCode::kValidationFailed, "limit must be 1-1000", "limit");
  }
  ContentPage page;
  db_.read([&](DbSession& s) {
    std::string t = tenant, after = cursor;
    int fetch = limit + 1;
    std::vector<std::string> ids;
    s << db_.sql(
        "SELECT content_id FROM content_items WHERE tenant = ? AND content_id > ? ORDER"
        " BY content_id LIMIT ?"),
        use(t), use(after), use(fetch), into(ids), now;
    if (static_cast<int>(ids.size()) > limit) {
      ids.resize(static_cast<std::size_t>(limit));
      page.next = ids.back();
    }
    for (const std::string& id : ids) {
      auto view = read_content(db_, s, tenant, id);
      if (!view) continue;
      for (VersionView& v : view->versions) v.fields.clear();
      page.items.push_back(std::move(*view));
    }
  });
  return page;
}

std::optional<ContentView> Library::get(const std::string& tenant, const std::string& content_id) {
  std::optional<ContentView> out;
  db_.read([&](DbSession& s) { out = read_content(db_, s, tenant, content_id); });
  return out;
}

ContentView Library::set_active(const std::string& tenant, const std::string& content_id,
                                int version, bool active) {
  std::optional<ContentView> out;
  db_.write_transaction([&](DbSession& s) {
    auto content = read_content(db_, s, tenant, content_id);
    if (!content) throw Error(ErrorCode::kNotFound, "no content '" + content_id + "'");
    auto it = std::find_if(content->versions.begin(), content->versions.end(),
                           [&](const VersionView& v) { return v.version == version; });
    if (it == content->versions.end()) {
      throw Error(ErrorCode::kNotFound,
                  "content '" + content_id + "' has no version " + std::to_string(version));
    }
    std::string t = tenant, c = content_id;
    Poco::Int64 at = now_ms();
    if (active) {
      if (it->status == kVersionImporting) {
        // Activated once its import is done.
        int v = version;
        s << db_.sql(
            "UPDATE content_versions SET activate_when_ready = 1, updated_at_ms = ? WHERE"
            " tenant = ? AND content_id = ? AND version = ?"),
            use(at), use(t), use(c), use(v), now;
      } else if (it->status != kVersionReady) {
        throw Error(
            ErrorCode::kConflict,
            "version " + std::to_string(version) + " is " + it->status + " and cannot be active",
            "is_active");
      } else {
        int v = version;
        s << db_.sql(
            "UPDATE content_items SET active_version = ?, updated_at_ms = ? WHERE tenant ="
            " ? AND content_id = ?"),
            use(v), use(at), use(t), use(c), now;
      }
    } else {
      int v = version;
      s << db_.sql(
          "UPDATE content_versions SET activate_when_ready = 0, updated_at_ms = ? WHERE"
          " tenant = ? AND content_id = ? AND version = ?"),
          use(at), use(t), use(c), use(v), now;
      s << db_.sql(
          "UPDATE content_items SET active_version = NULL, updated_at_ms = ? WHERE tenant"
          " = ? AND content_id = ? AND active_version = ?"),
          use(at), use(t), use(c), use(v), now;
    }
    out = read_content(db_, s, tenant, content_id);
  });
  return *out;
}

bool Library::delete_version(const std::string& tenant, const std::string& content_id,
                             int version) {
  bool found = false;
  db_.write_transaction([&](DbSession& s) {
    std::string t = tenant, c = content_id;
    int v = version;
    int count = 0;
    s << db_.sql(
        "SELECT COUNT(*) FROM content_versions WHERE tenant = ? AND content_id = ? AND"
        " version = ?"),
        use(t), use(c), use(v), into(count), now;
    found = count > 0;
    if (!found) return;
    delete_versions(db_, s, tenant, content_id, version);
    Poco::Int64 at = now_ms();
    s << db_.sql(
        "UPDATE content_items SET active_version = NULL, updated_at_ms = ? WHERE tenant ="
        " ? AND content_id = ? AND active_version = ?"),
        use(at), use(t), use(c), use(v), now;
  });
  return found;
}

bool Library::delete_content(const std::string& tenant, const std::string& content_id) {
  bool found = false;
  db_.write_transaction([&](DbSession& s) {
    std::string t = tenant, c = content_id;
    int count = 0;
    s << db_.sql("SELECT COUNT(*) FROM content_items WHERE tenant = ? AND content_id = ?"), use(t),
        use(c), into(count), now;
    found = count > 0;
    if (!found) return;
    delete_versions(db_, s, tenant, content_id, std::nullopt);
    s << db_.sql("DELETE FROM content_items WHERE tenant = ? AND content_id = ?"), use(t), use(c),
        now;
  });
  return found;
}

std::optional<std::vector<Segment>> Library::segments(const std::string& tenant,
                                                      const std::string& content_id, int version) {
  std::optional<std::vector<Segment>> out;
  db_.read([&](DbSession& s) {
    std::string t = tenant, c = content_id;
    int v = version;
    int count = 0;
    s << db_.sql(
        "SELECT COUNT(*) FROM content_versions WHERE tenant = ? AND content_id = ? AND"
        " version = ?"),
        use(t), use(c), use(v), into(count), now;
    if (count == 0) return;
    out = read_segments(db_, s, tenant, content_id, version);
  });
  return out;
}

// --- shared with library_search.cpp and library_ingest.cpp -----------------------------------

std::vector<Segment> read_segments(const Database& db, DbSession& s, const std::string& tenant,
                                   const std::string& content_id, int version) {
  std::string t = tenant, c = content_id;
  int v = version;
  Statement st(s);
  st << db.sql(
      "SELECT seq, location, location_kind, text, tokens FROM content_segments WHERE"
      " tenant = ? AND content_id = ? AND version = ? ORDER BY seq"),
      use(t), use(c), use(v), now;
  RecordSet rs(st);
  std::vector<Segment> out;
  out.reserve(rs.rowCount());
  for (std::size_t r = 0; r < rs.rowCount(); ++r) {
    out.push_back(Segment{static_cast<int>(i64(rs, 0, r)), str(rs, 1, r), str(rs, 2, r),
                          str(rs, 3, r), static_cast<int>(i64(rs, 4, r))});
  }
  return out;
}

nlohmann::json segments_document(const Database& db, DbSession& s, const std::string& tenant,
                                 const std::string& content_id, int version,
                                 const VersionView& view) {
  nlohmann::json segments = nlohmann::json::array();
  for (const Segment& seg : read_segments(db, s, tenant, content_id, version)) {
    segments.push_back({{"location", seg.location},
                        {"location_kind", seg.location_kind},
                        {"text", seg.text},
                        {"tokens", seg.tokens}});
  }
  return {{"format", view.format},
          {"title", view.title.empty() ? nlohmann::json() : nlohmann::json(view.title)},
          {"language", view.language.empty() ? nlohmann::json() : nlohmann::json(view.language)},
          {"segments", std::move(segments)}};
}

}  // namespace gen::content
