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

/// Renders `markdown`. Throws std::runtime_error on internal failures (a font that cannot
/// be loaded, QPDF errors) and RenderCancelled when `cancelled()` returns true.
RenderResult render_markdown(std::string_view markdown, const RenderOptions& options,
                             const ImageLookup& images, const std::function<bool()>& cancelled);

}  // namespace gen::pdf
