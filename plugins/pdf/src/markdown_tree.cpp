#include "markdown_tree.hpp"

#include <cstring>
#include <string>

#include <cmark-gfm-extension_api.h>
#include <cmark-gfm.h>

#include "cmark_arena.hpp"
#include "markdown_pdf.hpp"

namespace gen::pdf {

cmark_node* parse_markdown(std::string_view markdown) {
  cmark_parser* parser = cmark_parser_new_with_mem(CMARK_OPT_DEFAULT, CmarkArena::allocator());
  for (const char* name : {"table", "strikethrough", "autolink", "tasklist"}) {
    if (cmark_syntax_extension* ext = cmark_find_syntax_extension(name)) {
      cmark_parser_attach_syntax_extension(parser, ext);
    }
  }
  cmark_parser_feed(parser, markdown.data(), markdown.size());
  return cmark_parser_finish(parser);
}

void check_nesting(cmark_node* root) {
  cmark_iter* iter = cmark_iter_new(root);
  int depth = 0;
  bool too_deep = false;
  for (cmark_event_type event; (event = cmark_iter_next(iter)) != CMARK_EVENT_DONE;) {
    // Only nodes with children count (and only they are exited with a matching event).
    if (cmark_node_first_child(cmark_iter_get_node(iter)) == nullptr) continue;
    if (event == CMARK_EVENT_EXIT) {
      --depth;
    } else if (event == CMARK_EVENT_ENTER) {
      if (++depth > kMaxMarkdownNesting) {
        too_deep = true;
        break;
      }
    }
  }
  cmark_iter_free(iter);
  if (too_deep) {
    throw RenderRejected{
        "pdf.render: the Markdown is nested too deeply: block quotes, lists, emphasis or links "
        "more than " +
        std::to_string(kMaxMarkdownNesting) + " levels inside each other (the limit)"};
  }
}

std::string plain_text(cmark_node* node) {
  std::string out;
  for (cmark_node* child = cmark_node_first_child(node); child != nullptr;
       child = cmark_node_next(child)) {
    switch (cmark_node_get_type(child)) {
      case CMARK_NODE_TEXT:
      case CMARK_NODE_CODE:
        out += cmark_node_get_literal(child);
        break;
      case CMARK_NODE_SOFTBREAK:
      case CMARK_NODE_LINEBREAK:
        out += ' ';
        break;
      default:
        out += plain_text(child);
    }
  }
  return out;
}

bool is_page_break_text(cmark_node* text) {
  const char* literal = cmark_node_get_literal(text);
  return literal != nullptr &&
         (std::strcmp(literal, "\\pagebreak") == 0 || std::strcmp(literal, "\\newpage") == 0);
}

bool is_type(cmark_node* node, const char* name) {
  const char* type = cmark_node_get_type_string(node);
  return type != nullptr && std::strcmp(type, name) == 0;
}

}  // namespace gen::pdf
