#include "html.hpp"

#include <algorithm>
#include <cctype>
#include <csetjmp>
#include <cstdlib>
#include <memory>
#include <utility>

#include <gumbo.h>

#include "bounded_decode.hpp"  // gen::pdf::describe_size

// Measured (RelWithDebInfo, this 2-core machine shared with other builds; figures printed by
// content_plugin_tests ContentHtml.TenMegabytePageSucceeds): a generated 10 MB page of
// 49,155 sections (h2, p with inline markup, a list, a table row: ~540,000 start tags)
// extracts in 1.2-2.0 s on a quiet machine, 2.1-3.5 s at a load average of 7, with the peak
// RSS ~333 MB higher (~254 MB before gumbo's allocations carried the budget's 32-byte
// header); gumbo's tree is ~25x the page. Worst cases tried: "<p>x" x 1.9 million (7.4 MB)
// took 2.1 s and 654 MB, hence the 1,000,000 start-tag limit; 500 open <b>/<font>/<table>
// then 600,000 paragraphs 1.2-1.7 s; 100,000 nested <div>s 65 s and 50,000 attributes on one
// tag 14.5 s, hence the nesting and attribute limits (refused in milliseconds); cloned
// formatting elements 1.5 GB from 120 kB, hence the memory budget (refused at 768 MiB in
// ~1.2 s).

namespace gen::content {

namespace {

/// How an element separates its text from what surrounds it. Zero is not a valid value.
enum class Display : int {
  kInline = 1,
  kLine = 2,       ///< starts and ends a line
  kParagraph = 3,  ///< starts and ends a paragraph (a blank line around it)
  kDropped = 4,    ///< not shown: its subtree is skipped
};

Display display_of(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_SCRIPT:
    case GUMBO_TAG_STYLE:
    case GUMBO_TAG_NOSCRIPT:
    case GUMBO_TAG_TEMPLATE:
    case GUMBO_TAG_HEAD:
    case GUMBO_TAG_TITLE:
    case GUMBO_TAG_IFRAME:
    case GUMBO_TAG_OBJECT:
    case GUMBO_TAG_EMBED:
    case GUMBO_TAG_CANVAS:
    case GUMBO_TAG_SVG:
    case GUMBO_TAG_MATH:
    case GUMBO_TAG_NOFRAMES:
    case GUMBO_TAG_NOEMBED:
    case GUMBO_TAG_SELECT:
      return Display::kDropped;
    case GUMBO_TAG_P:
    case GUMBO_TAG_H1:
    case GUMBO_TAG_H2:
    case GUMBO_TAG_H3:
    case GUMBO_TAG_H4:
    case GUMBO_TAG_H5:
    case GUMBO_TAG_H6:
    case GUMBO_TAG_PRE:
    case GUMBO_TAG_LISTING:
    case GUMBO_TAG_XMP:
    case GUMBO_TAG_PLAINTEXT:
    case GUMBO_TAG_TEXTAREA:
    case GUMBO_TAG_BLOCKQUOTE:
    case GUMBO_TAG_UL:
    case GUMBO_TAG_OL:
    case GUMBO_TAG_DL:
    case GUMBO_TAG_MENU:
    case GUMBO_TAG_TABLE:
    case GUMBO_TAG_FIGURE:
    case GUMBO_TAG_HR:
    case GUMBO_TAG_ADDRESS:
    case GUMBO_TAG_SECTION:
    case GUMBO_TAG_ARTICLE:
    case GUMBO_TAG_ASIDE:
    case GUMBO_TAG_HEADER:
    case GUMBO_TAG_FOOTER:
    case GUMBO_TAG_NAV:
    case GUMBO_TAG_MAIN:
    case GUMBO_TAG_FORM:
    case GUMBO_TAG_FIELDSET:
    case GUMBO_TAG_DETAILS:
    case GUMBO_TAG_CENTER:
    case GUMBO_TAG_HGROUP:
      return Display::kParagraph;
    case GUMBO_TAG_DIV:
    case GUMBO_TAG_LI:
    case GUMBO_TAG_DT:
    case GUMBO_TAG_DD:
    case GUMBO_TAG_TR:
    case GUMBO_TAG_CAPTION:
    case GUMBO_TAG_FIGCAPTION:
    case GUMBO_TAG_LEGEND:
    case GUMBO_TAG_SUMMARY:
    case GUMBO_TAG_BODY:
    case GUMBO_TAG_HTML:
      return Display::kLine;
    default:
      return Display::kInline;
  }
}

int heading_level(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_H1:
      return 1;
    case GUMBO_TAG_H2:
      return 2;
    case GUMBO_TAG_H3:
      return 3;
    case GUMBO_TAG_H4:
      return 4;
    case GUMBO_TAG_H5:
      return 5;
    case GUMBO_TAG_H6:
      return 6;
    default:
      return 0;
  }
}

bool preformatted(GumboTag tag) {
  return tag == GUMBO_TAG_PRE || tag == GUMBO_TAG_LISTING || tag == GUMBO_TAG_XMP ||
         tag == GUMBO_TAG_PLAINTEXT || tag == GUMBO_TAG_TEXTAREA;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/// Collapses whitespace in `text` as a browser does in normal flow, trimmed.
std::string collapse(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (is_space(c)) {
      space = !out.empty();
    } else {
      if (space) out += ' ';
      space = false;
      out += c;
    }
  }
  return out;
}

/// The text the walk produces, in document order: paragraphs go to the SectionBuilder,
/// a heading's text is captured and handed over as a heading when the heading ends.
class Flow {
 public:
  explicit Flow(SectionBuilder& sections) : sections_(sections) {}

  void text(std::string_view s) {
    std::string& out = heading_level_ > 0 ? heading_ : line_;
    if (pre_depth_ > 0 && heading_level_ == 0) {
      if (s.empty()) return;
      apply_pending();
      out += s;
      return;
    }
    for (char c : s) {
      if (is_space(c)) {
        space_ = true;
        continue;
      }
      if (heading_level_ == 0) apply_pending();
      if (cell_separator_ && heading_level_ == 0) {
        if (!line_.empty() && line_.back() != '\n') line_ += " | ";
        cell_separator_ = false;
        space_ = false;
      }
      if (space_ && !out.empty() && out.back() != '\n' && out.back() != ' ') out += ' ';
      space_ = false;
      out += c;
    }
  }

  /// A line (1) or paragraph (2) boundary before the next text.
  void boundary(int level) {
    pending_ = std::max(pending_, level);
    space_ = false;
  }

  void line_break() {
    apply_pending();
    line_ += '\n';
    space_ = false;
  }

  void enter_pre() { ++pre_depth_; }
  void exit_pre() { --pre_depth_; }
  void start_row() { cell_separator_ = false; }
  void start_cell(bool first_in_row) { cell_separator_ = !first_in_row; }

  bool in_heading() const { return heading_level_ > 0; }
  void start_heading(int level) {
    flush_paragraph();
    heading_level_ = level;
    heading_.clear();
    space_ = false;
  }
  void end_heading() {
    sections_.heading(heading_level_, collapse(heading_));
    heading_level_ = 0;
    heading_.clear();
    pending_ = 2;
    space_ = false;
  }

  void flush_paragraph() {
    sections_.paragraph(line_);
    line_.clear();
    pending_ = 0;
    space_ = false;
  }

 private:
  void apply_pending() {
    if (pending_ == 2) {
      flush_paragraph();
    } else if (pending_ == 1 && !line_.empty()) {
      while (!line_.empty() && line_.back() == ' ') line_.pop_back();
      if (!line_.empty() && line_.back() != '\n') line_ += '\n';
      space_ = false;
    }
    pending_ = 0;
  }

  SectionBuilder& sections_;
  std::string line_;  // the paragraph being built
  std::string heading_;
  int heading_level_ = 0;
  int pending_ = 0;
  bool space_ = false;
  bool cell_separator_ = false;
  int pre_depth_ = 0;
};

std::string child_text(const GumboNode* element) {
  std::string out;
  const GumboVector& kids = element->v.element.children;
  for (unsigned i = 0; i < kids.length; ++i) {
    const auto* kid = static_cast<const GumboNode*>(kids.data[i]);
    if (kid->type == GUMBO_NODE_TEXT || kid->type == GUMBO_NODE_WHITESPACE ||
        kid->type == GUMBO_NODE_CDATA) {
      out += kid->v.text.text;
    }
  }
  return out;
}

/// The text of <title> in <head>, collapsed; "" when none.
std::string head_title(const GumboNode* html) {
  if (html == nullptr || html->type != GUMBO_NODE_ELEMENT) return {};
  const GumboVector& kids = html->v.element.children;
  for (unsigned i = 0; i < kids.length; ++i) {
    const auto* head = static_cast<const GumboNode*>(kids.data[i]);
    if (head->type != GUMBO_NODE_ELEMENT || head->v.element.tag != GUMBO_TAG_HEAD) continue;
    const GumboVector& items = head->v.element.children;
    for (unsigned k = 0; k < items.length; ++k) {
      const auto* item = static_cast<const GumboNode*>(items.data[k]);
      if (item->type == GUMBO_NODE_ELEMENT && item->v.element.tag == GUMBO_TAG_TITLE) {
        return collapse(child_text(item));
      }
    }
  }
  return {};
}

std::string lower_name(std::string_view html, std::size_t& i) {
  std::string name;
  while (i < html.size() && (std::isalnum(static_cast<unsigned char>(html[i])) || html[i] == '-')) {
    name += static_cast<char>(std::tolower(static_cast<unsigned char>(html[i])));
    ++i;
  }
  return name;
}

bool is_void_or_auto_closed(std::string_view name) {
  // Void elements never open; the others are closed by their next sibling (or a start tag
  // of their own kind: a, nobr, button, form, headings), so unclosed ones do not nest.
  static constexpr std::string_view kNames[] = {
      "area", "base",   "br",     "col",      "embed",   "hr",     "img",   "input",  "link",
      "meta", "param",  "source", "track",    "wbr",     "keygen", "p",     "li",     "dt",
      "dd",   "tr",     "td",     "th",       "tbody",   "thead",  "tfoot", "option", "optgroup",
      "rb",   "rt",     "rp",     "colgroup", "caption", "html",   "head",  "body",   "a",
      "nobr", "button", "form",   "h1",       "h2",      "h3",     "h4",    "h5",     "h6"};
  return std::find(std::begin(kNames), std::end(kNames), name) != std::end(kNames);
}

/// The end of the tag whose attributes start at `i` (the offset of its '>', or npos), as
/// the HTML tokenizer finds it: a '>' inside a quoted attribute value does not end it.
/// `attributes` counts the attribute names seen (stopping past `max_attributes`).
std::size_t tag_end(std::string_view html, std::size_t i, std::size_t max_attributes,
                    std::size_t& attributes) {
  attributes = 0;
  bool in_name = false;
  bool after_equals = false;
  for (; i < html.size(); ++i) {
    const char c = html[i];
    if (c == '>') return i;
    if (after_equals) {
      if (is_space(c)) continue;
      after_equals = false;
      if (c == '"' || c == '\'') {
        i = html.find(c, i + 1);
        if (i == std::string_view::npos) return i;
      } else {
        while (i + 1 < html.size() && !is_space(html[i + 1]) && html[i + 1] != '>') ++i;
      }
      continue;
    }
    if (c == '=') {
      after_equals = true;
      in_name = false;
    } else if (is_space(c) || c == '/') {
      in_name = false;
    } else if (!in_name) {
      in_name = true;
      if (++attributes > max_attributes) return i;
    }
  }
  return std::string_view::npos;
}

/// What scan_tags() found: an upper estimate of how deeply elements nest, and the most
/// attributes on one tag; the scan stops once either passes its limit.
struct TagScan {
  std::size_t depth = 0;
  std::size_t attributes = 0;
};

/// Scans the tags of `html` the way the HTML tokenizer reads them. gumbo checks the stack of
/// open elements on most start tags ("has an element in scope"), so its time grows with tags
/// x depth: 100,000 nested <div>s (500 kB) took 65 s. Nesting counted: start tags minus end
/// tags, ignoring void elements, those closed implicitly by a sibling (p, li, td ...),
/// self-closed tags in SVG and MathML, comments and the text of raw-text elements (script,
/// style ...).
TagScan scan_tags(std::string_view html, const Limits& limits) {
  TagScan scan;
  std::size_t depth = 0;
  int foreign = 0;  // open svg/math elements
  std::size_t i = 0;
  while ((i = html.find('<', i)) != std::string_view::npos && scan.depth <= limits.max_html_depth &&
         scan.attributes <= limits.max_html_attributes) {
    ++i;
    if (html.substr(i, 3) == "!--") {
      const std::size_t end = html.find("-->", i + 3);
      i = end == std::string_view::npos ? html.size() : end + 3;
      continue;
    }
    const bool closing = i < html.size() && html[i] == '/';
    if (closing) ++i;
    if (i >= html.size() || !std::isalpha(static_cast<unsigned char>(html[i]))) continue;
    const std::string name = lower_name(html, i);
    std::size_t attributes = 0;
    const std::size_t end = tag_end(html, i, limits.max_html_attributes, attributes);
    scan.attributes = std::max(scan.attributes, attributes);
    if (end == std::string_view::npos || attributes > limits.max_html_attributes) break;
    const bool self_closed = end > i && html[end - 1] == '/';
    i = end + 1;
    if (closing) {
      if (name == "svg" || name == "math") foreign = std::max(0, foreign - 1);
      if (!is_void_or_auto_closed(name) && depth > 0) --depth;
      continue;
    }
    if (name == "script" || name == "style" || name == "textarea" || name == "title" ||
        name == "xmp" || name == "iframe" || name == "noembed" || name == "noframes") {
      // Raw text up to the matching end tag (case-insensitively).
      const std::string close = "</" + name;
      std::size_t k = i;
      for (; (k = html.find("</", k)) != std::string_view::npos; k += 2) {
        std::string candidate(html.substr(k, close.size()));
        for (char& c : candidate) {
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        if (candidate == close) break;
      }
      i = k == std::string_view::npos ? html.size() : k;
      continue;
    }
    if (name == "plaintext") break;  // everything after it is text
    if (is_void_or_auto_closed(name) || (self_closed && foreign > 0)) continue;
    if (name == "svg" || name == "math") ++foreign;
    scan.depth = std::max(scan.depth, ++depth);
  }
  return scan;
}

/// gumbo's memory, counted and bounded: every allocation goes through budget_allocate. The
/// HTML5 algorithm can amplify: formatting elements closed by an ancestor's end tag stay in
/// the list of active formatting elements and are cloned again before every later text
/// ("<div>" + 400 distinct <b>s + "</div>" then "<div>x</div>" x 10,000: 120 kB took 1.5 GB
/// and 9.8 s). Past the budget, or once the run is cancelled (checked every 4,096
/// allocations), the parse is abandoned by longjmp back to parse_bounded() and everything
/// gumbo allocated is freed from the list of live blocks. Only C frames (gumbo's) and
/// budget_allocate, which holds nothing to destroy, lie between setjmp and longjmp.
struct alignas(16) Block {
  Block* previous;
  Block* next;
  std::size_t size;
};

struct Budget {
  std::size_t live = 0;
  std::size_t limit = 0;
  std::size_t calls = 0;
  const Job* job = nullptr;
  Block* blocks = nullptr;  // live allocations, newest first
  int escaped = 0;          // 1: over the limit, 2: cancelled
  std::jmp_buf escape;
};

void* budget_allocate(void* userdata, std::size_t size) {
  auto* budget = static_cast<Budget*>(userdata);
  if (budget->live + size + sizeof(Block) > budget->limit) {
    budget->escaped = 1;
    std::longjmp(budget->escape, 1);
  }
  if (++budget->calls % 4096 == 0 && budget->job->cancelled()) {
    budget->escaped = 2;
    std::longjmp(budget->escape, 1);
  }
  auto* block = static_cast<Block*>(std::malloc(sizeof(Block) + size));
  if (block == nullptr) {
    budget->escaped = 1;
    std::longjmp(budget->escape, 1);
  }
  block->previous = nullptr;
  block->next = budget->blocks;
  block->size = size;
  if (budget->blocks != nullptr) budget->blocks->previous = block;
  budget->blocks = block;
  budget->live += size + sizeof(Block);
  return block + 1;
}

void budget_free(void* userdata, void* pointer) {
  if (pointer == nullptr) return;
  auto* budget = static_cast<Budget*>(userdata);
  Block* block = static_cast<Block*>(pointer) - 1;
  if (block->previous != nullptr) block->previous->next = block->next;
  if (block->next != nullptr) block->next->previous = block->previous;
  if (budget->blocks == block) budget->blocks = block->next;
  budget->live -= block->size + sizeof(Block);
  std::free(block);
}

void free_all(Budget& budget) {
  for (Block* block = budget.blocks; block != nullptr;) {
    Block* next = block->next;
    std::free(block);
    block = next;
  }
  budget.blocks = nullptr;
  budget.live = 0;
}

/// gumbo_parse_with_options, or nullptr when budget_allocate escaped (budget.escaped).
/// No local here has a destructor: longjmp may land in it.
GumboOutput* parse_bounded(const GumboOptions* options, Budget* budget, const char* data,
                           std::size_t size) {
  if (setjmp(budget->escape) != 0) return nullptr;
  return gumbo_parse_with_options(options, data, size);
}

struct OutputDeleter {
  const GumboOptions* options;
  void operator()(GumboOutput* output) const { gumbo_destroy_output(options, output); }
};

}  // namespace

HtmlText extract_html_text(Job& job, std::string_view html, bool headings_inline,
                           const std::string& what) {
  const Limits& limits = job.limits();
  if (html.size() > limits.max_html_bytes) {
    job.fail(what + " is " + std::to_string(html.size()) + " bytes, more than " +
             pdf::describe_size(limits.max_html_bytes) + " (the limit for one HTML page)");
  }
  std::size_t tags = 0;  // start tags: '<' and a letter
  for (std::size_t i = html.find('<'); i != std::string_view::npos; i = html.find('<', i + 1)) {
    tags += i + 1 < html.size() && std::isalpha(static_cast<unsigned char>(html[i + 1]));
  }
  if (tags > limits.max_html_tags) {
    job.fail(what + " has " + std::to_string(tags) + " start tags, more than " +
             std::to_string(limits.max_html_tags) + " (the limit for one HTML page)");
  }
  const TagScan scan = scan_tags(html, limits);
  if (scan.depth > limits.max_html_depth) {
    job.fail(what + " nests elements more than " + std::to_string(limits.max_html_depth) +
             " deep (the limit; browsers flatten deeper trees too)");
  }
  if (scan.attributes > limits.max_html_attributes) {
    job.fail(what + " has a tag with more than " + std::to_string(limits.max_html_attributes) +
             " attributes (the limit)");
  }
  job.poll();

  Budget budget;
  budget.limit = limits.max_html_tree_bytes;
  budget.job = &job;
  GumboOptions options = kGumboDefaultOptions;
  options.max_errors = 0;  // parse errors are not reported: recording them only costs memory
  options.allocator = &budget_allocate;
  options.deallocator = &budget_free;
  options.userdata = &budget;
  GumboOutput* parsed = parse_bounded(&options, &budget, html.data(), html.size());
  if (parsed == nullptr) {
    free_all(budget);
    if (budget.escaped == 2) throw Cancelled{};
    job.fail(what + " builds a document tree larger than " +
             pdf::describe_size(limits.max_html_tree_bytes) +
             " (the limit): markup that makes the HTML5 parser clone elements over and over");
  }
  std::unique_ptr<GumboOutput, OutputDeleter> output(parsed, OutputDeleter{&options});

  SectionBuilder sections(job, headings_inline);
  Flow flow(sections);

  struct Frame {
    const GumboNode* node;
    unsigned next_child;
  };
  std::vector<Frame> stack;
  std::vector<int> row_cells;  // cells seen in the open table rows, innermost last
  const GumboNode* heading = nullptr;
  std::size_t visited = 0;

  // Enter: returns false when the node's subtree is skipped.
  auto enter = [&](const GumboNode* node) -> bool {
    if (++visited % 4096 == 0) job.poll();
    switch (node->type) {
      case GUMBO_NODE_TEXT:
      case GUMBO_NODE_WHITESPACE:
      case GUMBO_NODE_CDATA:
        flow.text(node->v.text.text);
        return false;
      case GUMBO_NODE_ELEMENT:
        break;
      default:  // comments, template contents
        return false;
    }
    const GumboTag tag = node->v.element.tag;
    const Display display = display_of(tag);
    if (display == Display::kDropped) return false;
    if (tag == GUMBO_TAG_BR) {
      if (!flow.in_heading()) flow.line_break();
      return false;
    }
    if (const int level = heading_level(tag); level > 0 && heading == nullptr) {
      heading = node;
      flow.start_heading(level);
      return true;
    }
    if (display == Display::kParagraph) flow.boundary(2);
    if (display == Display::kLine) flow.boundary(1);
    if (preformatted(tag)) flow.enter_pre();
    if (tag == GUMBO_TAG_TR) {
      row_cells.push_back(0);
      flow.start_row();
    } else if ((tag == GUMBO_TAG_TD || tag == GUMBO_TAG_TH) && !row_cells.empty()) {
      flow.start_cell(row_cells.back()++ == 0);
    }
    return true;
  };
  auto leave = [&](const GumboNode* node) {
    if (node->type != GUMBO_NODE_ELEMENT) return;
    const GumboTag tag = node->v.element.tag;
    if (node == heading) {
      heading = nullptr;
      flow.end_heading();
      return;
    }
    const Display display = display_of(tag);
    if (display == Display::kParagraph) flow.boundary(2);
    if (display == Display::kLine) flow.boundary(1);
    if (preformatted(tag)) flow.exit_pre();
    if (tag == GUMBO_TAG_TR && !row_cells.empty()) row_cells.pop_back();
  };

  if (enter(output->root)) stack.push_back(Frame{output->root, 0});
  while (!stack.empty()) {
    Frame& top = stack.back();
    const GumboVector& kids = top.node->v.element.children;
    if (top.next_child < kids.length) {
      const auto* kid = static_cast<const GumboNode*>(kids.data[top.next_child++]);
      if (enter(kid) && kid->type == GUMBO_NODE_ELEMENT) stack.push_back(Frame{kid, 0});
    } else {
      const GumboNode* done = top.node;
      stack.pop_back();
      leave(done);
    }
  }
  flow.flush_paragraph();

  HtmlText result;
  std::string title = head_title(output->root);
  if (!title.empty()) {
    result.title = std::move(title);
  } else if (sections.first_h1()) {
    result.title = sections.first_h1();
  }
  if (headings_inline) {
    result.text = sections.finish_text();
  } else {
    result.segments = sections.finish();
  }
  return result;
}

}  // namespace gen::content
