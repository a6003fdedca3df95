// The content artifacts meta.index and meta.generate read and write (the contract with core
// and content.extract; docs/generators/meta.index.md), parsed with the SDK's bounded parser.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gen/analysis/analyzer.hpp>
#include <gen/sdk/generator.hpp>
#include <nlohmann/json.hpp>

namespace gen::meta {

inline constexpr std::string_view kSegmentsMediaType =
    "application/vnd.generator.content-segments+json";
inline constexpr std::string_view kIndexMediaType = "application/vnd.generator.content-index+json";
inline constexpr std::string_view kFieldMediaType = "application/vnd.generator.content-field+json";

/// Default of both generators' `max_input_bytes`, and its ceiling.
inline constexpr long long kDefaultMaxInputBytes = 128LL * 1024 * 1024;
inline constexpr long long kMaxInputBytesCeiling = 1024LL * 1024 * 1024;
/// Most JSON values an artifact may hold (about 800,000 segments), so that the parsed tree
/// stays within a few hundred MB whatever the text is.
inline constexpr std::size_t kMaxJsonValues = 4'000'000;
inline constexpr std::size_t kMaxJsonDepth = 64;

/// One located piece of text. Views into `Document::json`.
struct Segment {
  std::string_view location;
  std::string_view location_kind;
  std::string_view text;
};

/// A parsed segments (or index) artifact.
struct Document {
  /// The whole artifact, unknown fields included (meta.index writes it back).
  nlohmann::json json;
  /// `title` when it is a non-empty string.
  std::string_view title;
  /// `language` when it names a language gen::analysis knows; otherwise unset (null, absent,
  /// or a language without a stemmer: the text decides).
  std::optional<analysis::Language> language;
  std::vector<Segment> segments;
};

/// "Text/Foo+JSON; charset=utf-8" -> "text/foo+json".
std::string media_type_essence(std::string_view media_type);

/// Parses `data` as a segments or index artifact. The shape checked: an object whose
/// `segments` is a non-empty array of objects, each with a string `text` and, when present, a
/// string `location` and `location_kind` and an integer `tokens`; `title` and `language` a
/// string or null when present. Returns the problem ("segments[3].text: expected a string,
/// got number"), prefixed by the caller with the input's name, or nullopt.
std::optional<std::string> parse_document(std::string_view data, Document& out);

/// The input a generator reads: the first with media type `kIndexMediaType` or
/// `kSegmentsMediaType`; nullptr when there is none.
const sdk::InputArtifact* find_document_input(const std::vector<sdk::InputArtifact>& inputs);

/// The segments' texts joined by blank lines.
std::string joined_text(const Document& document);

/// Calls `fn` with consecutive pieces of `text` of at most `max_bytes` (> 0), each cut after
/// an ASCII byte that is not a letter or digit: such a byte always ends a word, so analysing
/// the pieces one by one finds the words analysing the whole would (gen::analysis builds a
/// vector of every word of its input, some 50 bytes each: for a 100 MB segment, gigabytes).
/// Only a run of letters longer than `max_bytes` is cut inside.
void for_each_piece(std::string_view text, std::size_t max_bytes,
                    const std::function<void(std::string_view)>& fn);

/// analysis::index_terms(language, text), in memory bounded by 1 MiB pieces.
std::string segment_terms(analysis::Language language, std::string_view text);

/// analysis::detect_language over joined_text(document), reading no more of it than the first
/// 5,000 words that function counts (in 1 MiB pieces).
analysis::Language detect_document_language(const Document& document);

/// `params.<name>` as an integer within [low, high], or the problem
/// ("params.max_keywords: must be from 5 to 15, got 20").
std::optional<std::string> check_range(const nlohmann::json& params, std::string_view name,
                                       long long low, long long high, long long& out);

/// The language the `language` param names: nullopt for "auto".
std::optional<analysis::Language> language_param(const nlohmann::json& params);

/// The parameter spec of `language` and `max_input_bytes`, shared by both generators.
sdk::ParamSpec language_param_spec();
sdk::ParamSpec max_input_bytes_param_spec();

}  // namespace gen::meta

namespace gen::meta {

/// Finds, bounds (`params.max_input_bytes`) and parses the document input of a run; returns
/// the problem, naming the input, or nullopt with `document` and `input` set.
std::optional<std::string> load_document(const sdk::Context& ctx, Document& document,
                                         const sdk::InputArtifact*& input);

/// The language of the run: the `language` param unless "auto", else the artifact's
/// `language`, else detected from the text (detect_document_language).
analysis::Language resolve_language(const nlohmann::json& params, const Document& document);

}  // namespace gen::meta
