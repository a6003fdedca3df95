// Where pdf.render may cut a long Markdown document into parts parsed one after another
// (on another thread, while the layout of the parts before goes on).
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace gen::pdf {

/// Where a long document can be cut into parts that parse on their own exactly as they parse
/// together: before an ATX heading at column 0 that follows a blank line outside any fenced
/// code block (such a heading closes every open block). Documents with link reference
/// definitions (global) or lines starting with HTML (HTML blocks can span blank lines) are
/// never cut. Returns the cut offsets, at most one per `step` bytes, ascending.
std::vector<size_t> find_cuts(std::string_view text, size_t step);

}  // namespace gen::pdf
