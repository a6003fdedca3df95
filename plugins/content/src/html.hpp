// The text of an HTML page, with gumbo (the HTML5 parsing algorithm: the tree a browser
// builds, however broken the markup).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "segments.hpp"

namespace gen::content {

struct HtmlText {
  /// <title>, else the first <h1>, else nullopt.
  std::optional<std::string> title;
  /// Heading sections (kind "heading"), when not `headings_inline`.
  std::vector<Segment> segments;
  /// The whole text, headings as paragraphs, when `headings_inline`.
  std::string text;
};

/// Extracts the visible text of `html` (valid UTF-8; gumbo replaces anything else with
/// U+FFFD). Dropped: script, style, noscript, template, iframe, object, embed, canvas, svg,
/// math, and head but its <title>. Block elements (p, div, li, tr, section, ...) break
/// lines, paragraphs (p, headings, lists, tables, pre, blockquote ...) are separated by a
/// blank line; whitespace collapses as a browser collapses it, except in <pre> and
/// <textarea>; <br> is a line break; table cells are separated by " | ". Headings h1-h6
/// make sections (SectionBuilder), or paragraphs with `headings_inline`.
///
/// `what` names the page in messages ("page 'lesson1/index.html'" or "the HTML"). Before
/// parsing, refuses (BadInput) a page over Limits::max_html_bytes, with more than
/// Limits::max_html_tags start tags, a tag with more than Limits::max_html_attributes
/// attributes, or elements nested deeper than Limits::max_html_depth (estimated from the
/// tags): gumbo's time grows with tags x depth and with attributes squared. gumbo's parse
/// runs on a counting allocator that abandons it past Limits::max_html_tree_bytes (the
/// HTML5 algorithm clones elements, so tags alone do not bound the tree) or on
/// cancellation. The walk over the tree is iterative and polls cancellation every 4,096
/// nodes. Figures in html.cpp.
HtmlText extract_html_text(Job& job, std::string_view html, bool headings_inline,
                           const std::string& what);

}  // namespace gen::content
