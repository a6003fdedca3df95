// What the content library's files share. Private to core/src/content.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gen/core/content/library.hpp"

namespace gen::content {

/// content_versions.status.
inline constexpr const char* kVersionImporting = "IMPORTING";
inline constexpr const char* kVersionReady = "READY";
inline constexpr const char* kVersionFailed = "FAILED";

/// A version's segments in order.
std::vector<Segment> read_segments(const Database& db, DbSession& s, const std::string& tenant,
                                   const std::string& content_id, int version);

/// A version's text as a segments artifact (kSegmentsMediaType): the input of a field job.
nlohmann::json segments_document(const Database& db, DbSession& s, const std::string& tenant,
                                 const std::string& content_id, int version,
                                 const VersionView& view);

/// Deletes search index rows of a content's segments or fields: of one version or all,
/// of one field or all. Called before the rows they index go (SQLite finds them through them).
enum class IndexRows : int { kSegments = 1, kFields = 2 };
void delete_index(const Database& db, DbSession& s, const std::string& tenant,
                  const std::string& content_id, std::optional<int> version, IndexRows rows,
                  const std::string& field = {});

/// SQLite's index keeps each tenant's terms apart: a term is indexed as `scoped_term()`, the
/// kind of row ('s' segment, 'f' field) and 8 hex digits of a hash of the tenant before the
/// stem ("s1a2b3c4drun"). A query then reads only its tenant's doclists: with a tenant token
/// ANDed to the query instead, every search read the doclist of all the tenant's rows (2
/// million entries for 10,000 man pages) and took ~20 ms however rare its words. A hash can
/// collide, so search still compares the tenant column. `scope` holds `content_token()` ("c" +
/// 16 hex digits), which a content_id filter ANDs (one content's rows: a short doclist).
std::string term_prefix(char kind, const std::string& tenant);
/// `terms` (space-separated stems) with each term prefixed by term_prefix(kind, tenant).
std::string scoped_terms(char kind, const std::string& tenant, const std::string& terms);
std::string content_token(const std::string& content_id);
inline constexpr char kSegmentRows = 's';
inline constexpr char kFieldRows = 'f';

/// The text a field's value is searched by: a string as is; keywords joined; questions'
/// texts and choices.
std::string field_search_text(const nlohmann::json& value);

}  // namespace gen::content
