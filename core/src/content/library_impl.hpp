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

/// SQLite's index: the tokens of `content_index.scope` that make the tenant, the content and
/// the kind of row (segment or field) part of the full-text match: "t" / "c" + 16 hex digits
/// of a 64-bit FNV-1a hash, "ks" / "kf". A hash can collide, so search also compares the
/// tenant and content_id columns; the tokens only narrow the match cheaply.
std::string tenant_token(const std::string& tenant);
std::string content_token(const std::string& content_id);
inline constexpr const char* kSegmentRowToken = "ks";
inline constexpr const char* kFieldRowToken = "kf";

/// The text a field's value is searched by: a string as is; keywords joined; questions'
/// texts and choices.
std::string field_search_text(const nlohmann::json& value);

}  // namespace gen::content
