// The Markdown tree pdf.render lays out: parsing with cmark-gfm (GitHub's extensions) and
// the questions the layout asks of its nodes.
#pragma once

#include <string>
#include <string_view>

struct cmark_node;

namespace gen::pdf {

/// Parses `markdown` into the calling thread's current CmarkArena (the tree, and the parser,
/// are freed with the arena). Call cmark_gfm_core_extensions_ensure_registered() first.
cmark_node* parse_markdown(std::string_view markdown);

/// Refuses a tree nested deeper than kMaxMarkdownNesting (throws RenderRejected) before the
/// (recursive) layout sees it. cmark-gfm builds such trees without complaint ('*' x 50000 +
/// "x" + '*' x 50000 is 25,000 nested emphases; ">" x 100000 as many block quotes) and walks
/// them iteratively; this check does too.
void check_nesting(cmark_node* root);

/// The text of `node`'s inlines, line breaks as spaces (a heading's title, an image's alt).
std::string plain_text(cmark_node* node);

/// True for a text node that is `\pagebreak` or `\newpage`.
bool is_page_break_text(cmark_node* text);

/// True when `node` is of the extension type `name` ("table", "strikethrough", "tasklist").
bool is_type(cmark_node* node, const char* name);

}  // namespace gen::pdf
