// Markdown: parsed with cmark-gfm through the pdf plugin's parse_markdown (GitHub's tables,
// strikethrough, autolinks, task lists), into an arena freed at once.
//
// The text of each block, with no markup left:
//  * a paragraph: its inline text; soft line breaks become spaces, hard ones "\n"; links
//    give their text, images their alt text; inline HTML is dropped;
//  * a code block: its code as written (no fence, no info string); an HTML block: dropped;
//  * a list: one line per item (no bullet or number), an item's own blocks joined by "\n";
//  * a block quote: its blocks;
//  * a table: one line per row (the header row first), cells joined by " | ";
//  * a thematic break: nothing.
// Paragraph-level blocks are separated by "\n\n" (SectionBuilder). Headings (ATX or setext,
// at the top level) make the sections; a heading inside a list or quote is text.
#include <string>

#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm.h>

#include "cmark_arena.hpp"
#include "markdown_pdf.hpp"  // RenderRejected, kMaxMarkdownNesting
#include "markdown_tree.hpp"
#include "sources.hpp"

namespace gen::content {

namespace {

// Recursion below is bounded by pdf::check_nesting (kMaxMarkdownNesting levels).
void inline_text(cmark_node* node, std::string& out) {
  for (cmark_node* c = cmark_node_first_child(node); c != nullptr; c = cmark_node_next(c)) {
    switch (cmark_node_get_type(c)) {
      case CMARK_NODE_TEXT:
      case CMARK_NODE_CODE:
        out += cmark_node_get_literal(c);
        break;
      case CMARK_NODE_SOFTBREAK:
        out += ' ';
        break;
      case CMARK_NODE_LINEBREAK:
        out += '\n';
        break;
      case CMARK_NODE_HTML_INLINE:
        break;
      default:  // emphasis, strong, links, images (their alt text), strikethrough
        inline_text(c, out);
    }
  }
}

std::string block_text(cmark_node* node, Job& job);

/// The blocks inside `node`, each block's text joined by `separator`.
std::string blocks_text(cmark_node* node, Job& job, const char* separator) {
  std::string out;
  for (cmark_node* c = cmark_node_first_child(node); c != nullptr; c = cmark_node_next(c)) {
    std::string text = block_text(c, job);
    if (text.empty()) continue;
    if (!out.empty()) out += separator;
    out += text;
  }
  return out;
}

std::string block_text(cmark_node* node, Job& job) {
  job.poll();
  if (pdf::is_type(node, "table")) {
    std::string out;
    for (cmark_node* row = cmark_node_first_child(node); row != nullptr;
         row = cmark_node_next(row)) {
      std::string line;
      bool first = true;
      for (cmark_node* cell = cmark_node_first_child(row); cell != nullptr;
           cell = cmark_node_next(cell)) {
        if (!first) line += " | ";
        first = false;
        inline_text(cell, line);
      }
      if (!out.empty()) out += '\n';
      out += line;
    }
    return out;
  }
  switch (cmark_node_get_type(node)) {
    case CMARK_NODE_PARAGRAPH:
    case CMARK_NODE_HEADING: {  // a heading inside a list or quote
      std::string out;
      inline_text(node, out);
      return std::string(trim(out));
    }
    case CMARK_NODE_CODE_BLOCK: {
      std::string code = cmark_node_get_literal(node);
      while (!code.empty() && code.back() == '\n') code.pop_back();
      return code;
    }
    case CMARK_NODE_LIST:
      return blocks_text(node, job, "\n");
    case CMARK_NODE_ITEM:
      return blocks_text(node, job, "\n");
    case CMARK_NODE_BLOCK_QUOTE:
      return blocks_text(node, job, "\n\n");
    default:  // HTML blocks, thematic breaks, footnote definitions
      return {};
  }
}

}  // namespace

Extraction extract_markdown(Job& job, std::string_view text) {
  cmark_gfm_core_extensions_ensure_registered();
  pdf::CmarkArena arena;
  pdf::CmarkArena::Scope scope(arena);
  cmark_node* root = pdf::parse_markdown(text);
  try {
    pdf::check_nesting(root);
  } catch (const pdf::RenderRejected&) {
    job.fail(
        "the Markdown is nested too deeply: block quotes, lists, emphasis or links more "
        "than " +
        std::to_string(pdf::kMaxMarkdownNesting) +
        " levels inside each other "
        "(the limit)");
  }
  SectionBuilder sections(job);
  for (cmark_node* block = cmark_node_first_child(root); block != nullptr;
       block = cmark_node_next(block)) {
    if (cmark_node_get_type(block) == CMARK_NODE_HEADING) {
      sections.heading(cmark_node_get_heading_level(block), pdf::plain_text(block));
    } else {
      sections.paragraph(block_text(block, job));
    }
  }
  Extraction result;
  result.format = "markdown";
  result.title = sections.first_h1() ? sections.first_h1() : sections.first_heading();
  result.segments = sections.finish();
  return result;
}

}  // namespace gen::content
