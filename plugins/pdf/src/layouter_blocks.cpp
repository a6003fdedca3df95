// Layouter, blocks: pages and vertical space, block quotes, paragraphs, headings, rules,
// lists, code blocks and page breaks.
#include "layouter.hpp"

#include <algorithm>
#include <cctype>
#include <memory>
#include <string>
#include <vector>

#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm.h>

#include "markdown_tree.hpp"

namespace gen::pdf {

void Layouter::add(cmark_node* document) {
  check_nesting(document);
  blocks(document, /*tight=*/false);
}

void Layouter::new_page() {
  if (!doc_.pages.empty()) {
    close_quotes_on_page();
    // The page is done: nothing is drawn on an earlier page once a new one begins.
    PageOut& done = page();
    done.handed_over = done.content.size();
    background_.go_parallel();
    background_.compress_page(doc_.pages.size() - 1, std::move(done.content));
    done.content = std::string();
  }
  doc_.pages.emplace_back();
  page().content.reserve(16384);
  y_ = top_;
  for (QuoteBar& bar : quotes_) bar.top = y_;
}

void Layouter::close_quotes_on_page() {
  for (const QuoteBar& bar : quotes_) draw_quote_bar(bar, y_);
}

void Layouter::draw_quote_bar(const QuoteBar& bar, double bottom) {
  if (bar.top - bottom < 0.5) return;
  fill_rect(bar.x, bottom, 2.5, bar.top - bottom, Color{0.75f, 0.75f, 0.75f});
}

void Layouter::blocks(cmark_node* parent, bool tight) {
  for (cmark_node* node = cmark_node_first_child(parent); node != nullptr;
       node = cmark_node_next(node)) {
    if (cancelled_ && cancelled_()) throw RenderCancelled{};
    block(node, tight);
  }
}

void Layouter::block(cmark_node* node, bool tight) {
  switch (cmark_node_get_type(node)) {
    case CMARK_NODE_PARAGRAPH:
      paragraph(node, tight);
      break;
    case CMARK_NODE_HEADING:
      heading(node);
      break;
    case CMARK_NODE_LIST:
      list(node);
      break;
    case CMARK_NODE_BLOCK_QUOTE:
      quote(node);
      break;
    case CMARK_NODE_CODE_BLOCK:
      code_block(node);
      break;
    case CMARK_NODE_THEMATIC_BREAK:
      rule();
      break;
    case CMARK_NODE_HTML_BLOCK:
      html_block(node);
      break;
    default:
      if (is_type(node, "table")) {
        table(node);
      } else {
        blocks(node, tight);
      }
  }
}

void Layouter::paragraph(cmark_node* node, bool tight) {
  cmark_node* only = cmark_node_first_child(node);
  if (only != nullptr && cmark_node_next(only) == nullptr &&
      cmark_node_get_type(only) == CMARK_NODE_TEXT && is_page_break_text(only)) {
    page_break();
    return;
  }
  InlineStyle style;
  style.size = base_;
  style.color = quote_depth_ > 0 ? kQuoteColor : kBlack;
  std::vector<Span> spans;
  collect_inlines(node, style, spans);
  draw_paragraph(spans);
  space(tight ? base_ * 0.2 : base_ * 0.6);
}

void Layouter::page_break() {
  marker_.reset();
  new_page();
}

void Layouter::html_block(cmark_node* node) {
  std::string html = cmark_node_get_literal(node) != nullptr ? cmark_node_get_literal(node) : "";
  std::transform(html.begin(), html.end(), html.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  if (html.find("page-break-after") != std::string::npos ||
      html.find("page-break-before") != std::string::npos ||
      html.find("break-after: page") != std::string::npos) {
    page_break();
  }
  // Other raw HTML is not rendered (like GitHub does with unknown tags).
}

void Layouter::heading(cmark_node* node) {
  static constexpr double kScale[] = {2.0, 1.6, 1.3, 1.15, 1.0, 0.9};
  const int level = std::clamp(cmark_node_get_heading_level(node), 1, 6);
  const double size = base_ * kScale[level - 1];
  InlineStyle style;
  style.bold = true;
  style.size = size;
  std::vector<Span> spans;
  collect_inlines(node, style, spans);
  if (!at_page_top()) space(size * 0.7);
  // Keep the heading with the first line of what follows.
  need(size * kLineFactor + base_ * kLineFactor * 2);
  const std::string title = plain_text(node);
  if (level == 1 && doc_.first_h1.empty()) doc_.first_h1 = title;
  doc_.outline.push_back(OutlineEntry{level, title, page_index(), y_});
  draw_paragraph(spans);
  if (level <= 2) {
    fill_rect(left_, y_ - 2, right_ - left_, 0.6, Color{0.8f, 0.8f, 0.8f});
    y_ -= 4;
  }
  space(size * 0.35);
}

void Layouter::rule() {
  need(base_);
  space(base_ * 0.4);
  fill_rect(left_, y_ - base_ * 0.3, right_ - left_, 0.8, Color{0.7f, 0.7f, 0.7f});
  y_ -= base_ * 0.6;
  space(base_ * 0.4);
}

void Layouter::list(cmark_node* node) {
  const bool ordered = cmark_node_get_list_type(node) == CMARK_ORDERED_LIST;
  const bool tight = cmark_node_get_list_tight(node) != 0;
  int number = cmark_node_get_list_start(node);
  const int depth = list_depth_++;
  static const char* kBullets[] = {"\u2022", "\u25E6", "\u25AA"};
  const double indent = ordered ? base_ * 2.0 : base_ * 1.5;
  const double saved_left = left_;
  left_ += indent;
  for (cmark_node* item = cmark_node_first_child(node); item != nullptr;
       item = cmark_node_next(item)) {
    Marker marker;
    marker.x = left_ - base_ * 0.45;
    marker.size = base_;
    marker.font = FontStyle::kRegular;
    if (is_type(item, "tasklist")) {
      marker.text = cmark_gfm_extensions_get_tasklist_item_checked(item) ? "\u2611" : "\u2610";
    } else if (ordered) {
      marker.text = std::to_string(number) +
                    (cmark_node_get_list_delim(node) == CMARK_PAREN_DELIM ? ")" : ".");
    } else {
      marker.text = kBullets[std::min(depth, 2)];
    }
    ++number;
    marker_ = marker;
    blocks(item, tight);
    marker_.reset();  // an empty item draws no marker
  }
  left_ = saved_left;
  --list_depth_;
  if (list_depth_ == 0 || !tight) space(base_ * 0.4);
}

void Layouter::quote(cmark_node* node) {
  const double saved_left = left_;
  quotes_.push_back(QuoteBar{left_ + 2, y_});
  left_ += kQuoteIndent;
  ++quote_depth_;
  blocks(node, false);
  --quote_depth_;
  // The last paragraph's spacing belongs below the bar.
  draw_quote_bar(quotes_.back(), y_ + base_ * 0.6);
  quotes_.pop_back();
  left_ = saved_left;
  space(base_ * 0.3);
}

void Layouter::code_block(cmark_node* node) {
  std::string code = cmark_node_get_literal(node) != nullptr ? cmark_node_get_literal(node) : "";
  if (!code.empty() && code.back() == '\n') code.pop_back();
  const double size = base_ * 0.88;
  const double width = right_ - left_ - 2 * kCodePadding;
  std::vector<Line> lines;
  size_t start = 0;
  // Lines point at their spans until drawn: keep each source line's span alive.
  std::vector<std::unique_ptr<std::vector<Span>>> keep;
  while (start <= code.size()) {
    size_t end = code.find('\n', start);
    if (end == std::string::npos) end = code.size();
    std::string text = code.substr(start, end - start);
    for (size_t tab; (tab = text.find('\t')) != std::string::npos;) text.replace(tab, 1, "    ");
    // Code keeps its spaces; a line breaks only when too long, and then at any character.
    auto line_spans = std::make_unique<std::vector<Span>>(1);
    Span& span = line_spans->front();
    span.text = text.empty() ? std::string_view(" ") : keep_text(std::move(text));
    span.font = FontStyle::kMono;
    span.size = size;
    for (Line& line : break_code_line(*line_spans, width)) lines.push_back(std::move(line));
    keep.push_back(std::move(line_spans));
    start = end + 1;
  }
  space(base_ * 0.2);
  size_t i = 0;
  while (i < lines.size()) {
    need(lines[i].height() + 2 * kCodePadding);
    // As many lines as fit on this page, drawn over one background.
    const double box_top = y_;
    double bottom = y_ - kCodePadding;
    size_t j = i;
    while (j < lines.size() && (bottom - lines[j].height() >= bottom_ + kCodePadding || j == i)) {
      bottom -= lines[j].height();
      ++j;
    }
    fill_rect(left_, bottom - kCodePadding, right_ - left_, box_top - bottom + kCodePadding,
              Color{0.95f, 0.95f, 0.95f});
    y_ -= kCodePadding;
    for (; i < j; ++i) draw_line(lines[i], left_ + kCodePadding);
    y_ -= kCodePadding;
    if (i < lines.size()) new_page();
  }
  space(base_ * 0.6);
}

std::vector<Line> Layouter::break_code_line(const std::vector<Span>& spans, double width) {
  const Span& span = spans.front();
  const ShapedText& shaped = fonts_.shape(span.font, span.text);
  remember_text(shaped, span.text);
  Word word;
  word.pieces.push_back(Piece{&span, &shaped, shaped.width * span.size / 1000.0});
  word.width = word.pieces.begin()->width;
  std::vector<Word> parts;
  if (word.width > width) {
    parts = split_word(word, width);
  } else {
    parts.push_back(word);
  }
  std::vector<Line> lines;
  for (const Word& part : parts) {
    Line line;
    for (const Piece& piece : part.pieces) line.pieces.push_back(LinePiece{piece, 0, nullptr});
    double x = 0;
    for (LinePiece& lp : line.pieces) {
      lp.x = x;
      x += lp.piece.width;
    }
    line.width = x;
    finalize_metrics(line, spans);
    lines.push_back(std::move(line));
  }
  return lines;
}

}  // namespace gen::pdf
