// Markdown (GitHub-flavoured) to PDF: parse with cmark-gfm, typeset with the DejaVu fonts,
// write with QPDF.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "render_options.hpp"

namespace gen::pdf {

/// Finds an image's bytes by the name used in `![alt](name)`; returns false if unknown.
using ImageLookup = std::function<bool(std::string_view name, std::string_view& bytes)>;

struct RenderResult {
  std::string pdf;
  int page_count = 0;
  /// Things the author should know about (a missing image, an unreadable image...).
  std::vector<std::string> warnings;
};

/// Thrown when `cancelled` turned true mid-render.
struct RenderCancelled {};

/// Thrown for Markdown the renderer refuses (a permanent failure): `message` says why.
struct RenderRejected {
  std::string message;
};

/// Block quotes, lists, list items, emphasis, links... nest at most this deep (counted from
/// the document down to the innermost inline). The layout recurses once per level.
inline constexpr int kMaxMarkdownNesting = 256;

/// Renders `markdown`. Throws std::runtime_error on internal failures (a font that cannot
/// be loaded, QPDF errors), RenderCancelled when `cancelled()` returns true, and
/// RenderRejected for Markdown nested deeper than kMaxMarkdownNesting.
RenderResult render_markdown(std::string_view markdown, const RenderOptions& options,
                             const ImageLookup& images, const std::function<bool()>& cancelled);

}  // namespace gen::pdf
