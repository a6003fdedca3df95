// The content library: a tenant's documents, their located text, generated metadata and
// search index (docs/content.md).
//
// A content item is named by a `content_id` (case-sensitive, unique in its tenant) and has
// numbered versions (1, 2, ... never reused), at most one of them active. Documents come in
// through import jobs: `Library::import()` creates the version (IMPORTING) and submits the
// CONTENT_IMPORT job in one transaction; the job's steps emit typed artifacts (segments, the
// index, fields — the media types below) and `LibraryIngest` takes them into the library in
// the transaction that completes each step, fenced like every completion. Plugins never touch
// the database. The version is READY (and, if asked, active) once its index step completed.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "gen/core/queue/job_store.hpp"

namespace gen {
class Database;
}

namespace gen::content {

/// content.extract's output: `{"format", "title", "language", "segments": [{"location",
/// "location_kind", "text", "tokens"}]}`.
inline constexpr const char* kSegmentsMediaType = "application/vnd.generator.content-segments+json";
/// meta.index's output: the segments with `language` set and each segment's `terms`.
inline constexpr const char* kIndexMediaType = "application/vnd.generator.content-index+json";
/// meta.generate's output: `{"field", "value", "method", "language"}`.
inline constexpr const char* kFieldMediaType = "application/vnd.generator.content-field+json";

inline constexpr const char* kImportJobType = "CONTENT_IMPORT";
inline constexpr const char* kFieldJobType = "CONTENT_FIELD_GENERATION";

/// The metadata fields. Zero is not a valid value.
enum class Field : int { kTitle = 1, kPlug, kBlurb, kSummary, kKeywords, kQuestions };
inline constexpr Field kAllFields[] = {Field::kTitle,   Field::kPlug,     Field::kBlurb,
                                       Field::kSummary, Field::kKeywords, Field::kQuestions};
/// "TITLE", "PLUG", "BLURB", "SUMMARY", "KEYWORDS", "QUESTIONS".
std::string_view field_name(Field field);
std::optional<Field> parse_field(std::string_view name);

/// A content_id: 1-255 bytes of UTF-8 without control characters. Throws Error
/// (kValidationFailed, `field`) otherwise.
void check_content_id(const std::string& content_id, const std::string& field = "content_id");

struct FieldValue {
  std::string field;
  nlohmann::json value;
  std::string method;  ///< how it was generated, e.g. "native:textrank"
  std::string job_id;
  std::int64_t generated_at_ms = 0;
};

struct VersionView {
  int version = 0;
  std::string status;  ///< IMPORTING, READY, FAILED
  bool active = false;
  bool activate_when_ready = false;
  std::string job_id;  ///< the import job
  std::string source_name, source_media_type;
  std::int64_t source_size_bytes = 0;
  std::string format, title, language;
  std::int64_t token_count = 0;
  int segment_count = 0;
  std::string error;
  std::int64_t created_at_ms = 0, updated_at_ms = 0;
  std::vector<FieldValue> fields;
};

struct ContentView {
  std::string content_id;
  std::optional<int> active_version;
  std::int64_t created_at_ms = 0, updated_at_ms = 0;
  std::vector<VersionView> versions;  ///< oldest first
};

struct ContentPage {
  std::vector<ContentView> items;  ///< by content_id; versions without fields
  std::string next;                ///< cursor of the next page; empty at the end
};

struct Segment {
  int seq = 0;
  std::string location, location_kind, text;
  int tokens = 0;
};

/// What an import or field job needs from the library, decided before the job's steps are
/// built (the backend builds and validates steps, the library binds them to a version).
struct ImportRequest {
  std::string tenant;
  std::string content_id;
  bool is_active = true;
  bool may_create_new_version = true;
  JobSpec job;  ///< steps and the one input (the document)
};

struct Imported {
  std::string job_id;
  int version = 0;
};

enum class SearchMode : int { kLexical = 1, kField = 2 };

struct SearchQuery {
  std::string tenant;
  std::string q;
  SearchMode mode = SearchMode::kLexical;
  std::optional<std::string> content_id;
  bool active_only = true;
  int limit = 20;      ///< 1..100
  std::string cursor;  ///< a previous page's `next`
};

struct SearchHit {
  std::string content_id;
  int version = 0;
  std::string location;
  std::string location_kind;
  std::string field;  ///< field search: which field matched
  std::string snippet;
  double match_strength = 0;  ///< 0..1, higher is better
};

struct SearchPage {
  std::vector<SearchHit> hits;
  std::string next;
};

class Library {
 public:
  Library(Database& db, JobStore& jobs) : db_(db), jobs_(jobs) {}

  /// Creates the next version (IMPORTING) and submits its import job, in one transaction.
  /// Throws kConflict (field content_id) when the content exists and !may_create_new_version.
  Imported import(const ImportRequest& request);

  /// Submits a CONTENT_FIELD_GENERATION job for one field of a version (the active one when
  /// `version` is empty): its input is the version's segments. `job` holds the steps (one
  /// meta.generate step). When the field has a value and !force, no job is made and the
  /// existing value is returned in `kept`.
  struct FieldJob {
    std::string job_id;
    int version = 0;
    std::optional<FieldValue> kept;
  };
  FieldJob generate_field(const std::string& tenant, const std::string& content_id,
                          std::optional<int> version, Field field, bool force, JobSpec job);

  ContentPage list(const std::string& tenant, const std::string& cursor, int limit);
  std::optional<ContentView> get(const std::string& tenant, const std::string& content_id);
  /// Activates (deactivating the active one) or deactivates a version. Throws kNotFound for
  /// an unknown version, kConflict to activate one that is not READY.
  ContentView set_active(const std::string& tenant, const std::string& content_id, int version,
                         bool active);
  /// Deletes a version (its segments, fields, index entries and source); false: unknown.
  bool delete_version(const std::string& tenant, const std::string& content_id, int version);
  /// Deletes the content with every version; false: unknown.
  bool delete_content(const std::string& tenant, const std::string& content_id);
  /// A version's segments in order; nullopt for an unknown version.
  std::optional<std::vector<Segment>> segments(const std::string& tenant,
                                               const std::string& content_id, int version);
  /// Throws kValidationFailed (field q, mode, limit or cursor) for a bad query. A query of
  /// stop words only finds nothing.
  SearchPage search(const SearchQuery& query);

 private:
  Database& db_;
  JobStore& jobs_;
};

/// Takes import and field jobs' typed outputs into the library (set on the worker's
/// JobStore). Malformed artifacts do not throw: the version is marked FAILED with the reason.
class LibraryIngest final : public ArtifactIngest {
 public:
  bool wants(const std::string& media_type) const override;
  void ingest(Database& db, DbSession& s, const ClaimedTask& task,
              const OutputFile& output) override;
};

}  // namespace gen::content
