// The Layouter: typesets a Markdown tree (cmark-gfm) into a Document of pages. One class
// spread over files by concern:
//   layouter_blocks.cpp  pages, block quotes, paragraphs, headings, lists, code blocks
//   layouter_inline.cpp  Markdown inlines -> spans (styles, links, images)
//   layouter_lines.cpp   spans -> words -> lines (breaking), and drawing lines
//   layouter_tables.cpp  GitHub tables: column widths, rows split over pages
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "background_work.hpp"
#include "fonts.hpp"
#include "layout_model.hpp"
#include "markdown_pdf.hpp"
#include "render_options.hpp"

struct cmark_node;

namespace gen::pdf {

class Layouter {
 public:
  /// Pages are handed to `background` for compression as they are finished; `cancelled` is
  /// polled between blocks and table rows (RenderCancelled).
  Layouter(const RenderOptions& options, const ImageLookup& images, FontSet& fonts, Document& doc,
           BackgroundWork& background, const std::function<bool()>& cancelled)
      : options_(options),
        image_lookup_(images),
        fonts_(fonts),
        doc_(doc),
        background_(background),
        cancelled_(cancelled) {
    top_ = options.page_height - options.margin_top;
    bottom_ = options.margin_bottom;
    left_ = options.margin_left;
    right_ = options.page_width - options.margin_right;
    base_ = options.font_size;
  }

  /// Lays out a document: begin(), add() its parts in order (one, or the parts it was cut
  /// into), end(). add() throws RenderRejected for a tree nested deeper than
  /// kMaxMarkdownNesting.
  void begin() { new_page(); }
  void add(cmark_node* document);
  void end() { close_quotes_on_page(); }

 private:
  // ----- pages and vertical space (layouter_blocks.cpp)

  void new_page();
  PageOut& page() { return doc_.pages.back(); }
  int page_index() const { return static_cast<int>(doc_.pages.size()) - 1; }
  bool at_page_top() const { return y_ >= top_ - 0.01; }

  /// Starts a new page unless `height` fits below the cursor (or the page is still empty).
  void need(double height) {
    if (y_ - height < bottom_ && !at_page_top()) new_page();
  }

  void space(double amount) {
    if (!at_page_top()) y_ = std::max(bottom_, y_ - amount);
  }

  // ----- block quotes: a bar on every page the quote touches (layouter_blocks.cpp)

  struct QuoteBar {
    double x;
    double top;
  };

  void close_quotes_on_page();
  void draw_quote_bar(const QuoteBar& bar, double bottom);

  // ----- drawing primitives (graphics wrapped in q/Q so the text colour state survives;
  // layouter_lines.cpp)

  void fill_rect(double x, double y, double w, double h, Color color);
  void stroke_rect(double x, double y, double w, double h, double line_width, Color color);

  // ----- inline content (layouter_inline.cpp)

  void collect_inlines(cmark_node* node, InlineStyle style, std::vector<Span>& out);
  void push_text(std::string_view text, const InlineStyle& style, bool code,
                 std::vector<Span>& out);
  void push_image(cmark_node* node, const InlineStyle& style, std::vector<Span>& out);

  /// Text made during the layout that spans point to: kept for the whole render.
  std::string_view keep_text(std::string text) { return kept_texts_.emplace_back(std::move(text)); }

  /// The index in doc_.images of the image `url` names, or -1 (with a warning) when it is
  /// not among the inputs, cannot be decoded or would pass kMaxImageBytes.
  int image_index(const std::string& url);

  /// The decoded samples of all of a document's images stay in memory until it is written.
  static constexpr size_t kMaxImageBytes = 256 * 1024 * 1024;

  // ----- words and lines (layouter_lines.cpp)

  /// Splits spans into words (break opportunities are spaces and hard breaks).
  std::vector<Word> words_of(const std::vector<Span>& spans);
  /// Breaks a word wider than `max_width` into character chunks that fit.
  std::vector<Word> split_word(const Word& word, double max_width);
  void remember_text(const ShapedText& shaped, std::string_view text) {
    piece_text_.try_emplace(&shaped, std::make_shared<std::string>(text));
  }
  /// Greedy line breaking.
  std::vector<Line> break_lines(const std::vector<Span>& spans, double max_width);
  // The text of a piece, needed only to split over-long words (rare): recovered from the
  // span by re-splitting at whitespace and matching the shaped pointer.
  void note_piece_text(const Piece& piece);
  void finalize_metrics(Line& line, const std::vector<Span>& spans);

  /// Draws `line` with its top at the cursor, starting at `x0`; moves the cursor down.
  void draw_line(const Line& line, double x0);
  void draw_text(const Line& line, double x0, double baseline);
  /// Lays out and draws a paragraph-like block of inline content.
  void draw_paragraph(const std::vector<Span>& spans, Align align = Align::kLeft);

  // ----- list markers: drawn on the baseline of the item's first line (layouter_lines.cpp)

  struct Marker {
    std::string text;
    double x;
    FontStyle font;
    double size;
  };

  void draw_pending_marker(double baseline);

  // ----- blocks (layouter_blocks.cpp)

  void blocks(cmark_node* parent, bool tight);
  void block(cmark_node* node, bool tight);
  void paragraph(cmark_node* node, bool tight);
  void page_break();
  void html_block(cmark_node* node);
  void heading(cmark_node* node);
  void rule();
  void list(cmark_node* node);
  void quote(cmark_node* node);
  void code_block(cmark_node* node);
  /// One source line of code: kept whole when it fits, else cut at characters.
  std::vector<Line> break_code_line(const std::vector<Span>& spans, double width);

  // ----- tables (layouter_tables.cpp)

  struct Cell;
  struct Row;
  void table(cmark_node* node);
  /// Draws a row; a row taller than a page continues on the next page.
  void draw_row(const Row& row, const std::vector<double>& widths, const uint8_t* aligns);

  const RenderOptions& options_;
  const ImageLookup& image_lookup_;
  FontSet& fonts_;
  Document& doc_;
  BackgroundWork& background_;
  const std::function<bool()>& cancelled_;
  double top_ = 0, bottom_ = 0, left_ = 0, right_ = 0, base_ = 11;
  double y_ = 0;
  int list_depth_ = 0;
  int quote_depth_ = 0;
  std::vector<QuoteBar> quotes_;
  std::optional<Marker> marker_;
  std::map<std::string, int> image_cache_;
  std::map<const char*, int> image_by_bytes_;  // input bytes -> image index (or -1)
  size_t image_bytes_ = 0;                     // decoded bytes of doc_.images
  std::map<const ShapedText*, std::shared_ptr<std::string>> piece_text_;
  std::deque<std::string> kept_texts_;  // a deque: its strings never move
};

}  // namespace gen::pdf
