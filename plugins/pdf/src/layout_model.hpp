// The layout model of pdf.render: what the Layouter makes of Markdown (spans of one style,
// words, lines) and what it hands to the PDF writer (pages of content-stream text, links,
// images, the outline). Private to the plugin.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fonts.hpp"
#include "images.hpp"

namespace gen::pdf {

inline constexpr double kLineFactor = 1.3;       // line height / font size
inline constexpr double kAscentFactor = 0.95;    // baseline below the line top, / font size
inline constexpr double kCellPadding = 4;        // points
inline constexpr double kQuoteIndent = 14;       // points
inline constexpr double kCodePadding = 5;        // points
inline constexpr double kPixelsToPoints = 0.75;  // images are laid out at 96 dpi

struct Color {
  float r = 0, g = 0, b = 0;
  bool operator==(const Color&) const = default;
};
inline constexpr Color kBlack{0, 0, 0};
inline constexpr Color kLinkColor{0.02f, 0.27f, 0.68f};
inline constexpr Color kQuoteColor{0.3f, 0.3f, 0.3f};
inline constexpr Color kFooterColor{0.35f, 0.35f, 0.35f};

// ---------------------------------------------------------------------------------------
// Inline content: spans of one style, split into words, broken into lines.

struct Span {
  /// Points into the Markdown tree (its arena), or Layouter::keep_text() for text we made.
  std::string_view text;
  FontStyle font = FontStyle::kRegular;
  double size = 11;
  Color color = kBlack;
  int link = -1;  // index into Document::links
  bool code = false;
  bool strike = false;
  bool hard_break = false;
  int image = -1;  // index into Document::images
  double image_width = 0;
  double image_height = 0;
};

struct Piece {
  const Span* span = nullptr;
  const ShapedText* shaped = nullptr;  // null for images
  double width = 0;
};

/// The pieces of one word: almost always one or two, so kept inline.
class PieceList {
 public:
  void push_back(const Piece& piece) {
    if (count_ < kInline) {
      inline_[count_] = piece;
    } else {
      if (count_ == kInline) heap_.assign(inline_, inline_ + kInline);
      heap_.push_back(piece);
    }
    ++count_;
  }
  const Piece* begin() const { return count_ <= kInline ? inline_ : heap_.data(); }
  const Piece* end() const { return begin() + count_; }
  bool empty() const { return count_ == 0; }

 private:
  static constexpr size_t kInline = 2;
  Piece inline_[kInline];
  std::vector<Piece> heap_;
  size_t count_ = 0;
};

struct Word {
  PieceList pieces;
  double width = 0;
  const ShapedText* space = nullptr;  // the space after the word, if any
  double space_width = 0;
  bool hard_break = false;
};

struct LinePiece {
  Piece piece;
  double x = 0;  // relative to the line start
  const ShapedText* trailing_space = nullptr;
};

struct Line {
  std::vector<LinePiece> pieces;
  double width = 0;
  double ascent = 0;
  double descent = 0;
  double height() const { return ascent + descent; }
};

enum class Align { kLeft, kCenter, kRight };

/// The style Markdown inlines (emphasis, links...) give the text inside them.
struct InlineStyle {
  bool bold = false;
  bool italic = false;
  bool strike = false;
  int link = -1;
  double size = 11;
  Color color = kBlack;
};

inline FontStyle font_for(const InlineStyle& style) {
  if (style.bold && style.italic) return FontStyle::kBoldItalic;
  if (style.bold) return FontStyle::kBold;
  if (style.italic) return FontStyle::kItalic;
  return FontStyle::kRegular;
}

// ---------------------------------------------------------------------------------------
// The laid-out document, ready to become PDF objects.

struct ImageRef {
  ImageData data;
};

struct OutlineEntry {
  int level = 1;
  std::string title;
  int page = 0;
  double y = 0;
};

struct LinkAnnotation {
  double x1, y1, x2, y2;
  int link;
};

struct PageOut {
  std::string content;
  /// Header and footer, drawn once the page count is known: a second content stream, so the
  /// body can be compressed as soon as the page is laid out.
  std::string footer;
  /// The body's size when it was handed to the compressor (content is empty afterwards).
  size_t handed_over = 0;
  bool empty() const { return content.empty() && handed_over == 0 && links.empty(); }
  std::vector<LinkAnnotation> links;
  // Text state carried across BT/ET within the content stream.
  int font = -1;
  double size = 0;
  std::optional<Color> color;
};

/// Everything the layout produced, ready to become PDF objects.
struct Document {
  std::vector<PageOut> pages;
  std::vector<std::string> links;
  std::vector<ImageRef> images;
  std::vector<OutlineEntry> outline;
  std::string first_h1;
  std::vector<std::string> warnings;
};

}  // namespace gen::pdf
