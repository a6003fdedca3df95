// Layouter, lines: spans split into words, greedy line breaking (over-long words cut at
// characters), and drawing lines into the page's content stream.
#include "layouter.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "content_stream.hpp"

namespace gen::pdf {
namespace {

/// The first space, tab or newline in `text` from `from` on (npos: none). A plain loop:
/// string_view::find_first_of calls memchr over the set once per character.
size_t find_break(std::string_view text, size_t from) {
  for (size_t i = from; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n') return i;
  }
  return std::string_view::npos;
}

void append_color(std::string& c, Color color, bool stroke) {
  if (color.r == color.g && color.g == color.b) {
    num(c, color.r);
    c += stroke ? " G " : " g ";
  } else {
    num(c, color.r);
    c += ' ';
    num(c, color.g);
    c += ' ';
    num(c, color.b);
    c += stroke ? " RG " : " rg ";
  }
}

void append_adjust(std::string& c, double amount) {
  c += ')';
  num(c, amount);
  c += '(';
}

void append_glyphs(std::string& c, const ShapedText& shaped) {
  c += shaped.encoded;
}

}  // namespace

std::vector<Word> Layouter::words_of(const std::vector<Span>& spans) {
  std::vector<Word> words;
  words.reserve(spans.size() * 4);
  Word current;
  auto close_word = [&](const Span* space_span) {
    if (space_span != nullptr && !current.pieces.empty()) {
      // The space is drawn in the font of the word it follows (same text run).
      const Span& last = *(current.pieces.end() - 1)->span;
      if (last.image < 0) {
        current.space = &fonts_.shape(last.font, " ");
        current.space_width = current.space->width * last.size / 1000.0;
      } else {
        current.space = nullptr;
        current.space_width = fonts_.width(space_span->font, " ", space_span->size);
      }
    }
    if (!current.pieces.empty() || current.hard_break) words.push_back(std::move(current));
    current = Word();
  };
  for (const Span& span : spans) {
    if (span.hard_break) {
      current.hard_break = true;
      close_word(nullptr);
      continue;
    }
    if (span.image >= 0) {
      Piece piece{&span, nullptr, span.image_width};
      current.pieces.push_back(piece);
      current.width += piece.width;
      continue;
    }
    std::string_view text = span.text;
    size_t start = 0;
    while (start <= text.size()) {
      size_t end = find_break(text, start);
      const bool has_space = end != std::string_view::npos;
      if (!has_space) end = text.size();
      if (end > start) {
        // A very long word is shaped in pieces of at most kMaxCachedTextBytes (cut at
        // character boundaries), so the shaping cache never holds a huge entry.
        std::string_view word = text.substr(start, end - start);
        const bool long_word = word.size() > kMaxCachedTextBytes;
        while (!word.empty()) {
          size_t take = word.size();
          if (take > kMaxCachedTextBytes) {
            take = kMaxCachedTextBytes;
            while (take > 1 && (static_cast<unsigned char>(word[take]) & 0xC0) == 0x80) --take;
          }
          const std::string_view chunk = word.substr(0, take);
          const ShapedText& shaped = fonts_.shape(span.font, chunk);
          if (long_word) remember_text(shaped, chunk);  // split_word() needs it
          Piece piece{&span, &shaped, shaped.width * span.size / 1000.0};
          current.pieces.push_back(piece);
          current.width += piece.width;
          word.remove_prefix(take);
        }
      }
      if (!has_space) break;
      if (!current.pieces.empty()) close_word(&span);
      start = end + 1;
    }
  }
  close_word(nullptr);
  return words;
}

std::vector<Word> Layouter::split_word(const Word& word, double max_width) {
  std::vector<Word> parts;
  Word current;
  for (const Piece& piece : word.pieces) {
    if (piece.shaped == nullptr) {  // an image: keep whole
      if (!current.pieces.empty() && current.width + piece.width > max_width) {
        parts.push_back(std::move(current));
        current = Word();
      }
      current.pieces.push_back(piece);
      current.width += piece.width;
      continue;
    }
    const Span& span = *piece.span;
    // Find the piece's text again: it is the shaped text's cache key; re-derive by
    // splitting the span text at codepoint boundaries.
    const std::string& text = *piece_text_.at(piece.shaped);
    size_t begin = 0;
    while (begin < text.size()) {
      size_t end = begin;
      double width = 0;
      while (end < text.size()) {
        size_t next = end + 1;
        while (next < text.size() && (static_cast<unsigned char>(text[next]) & 0xC0) == 0x80) {
          ++next;
        }
        const double w =
            fonts_.width(span.font, std::string_view(text).substr(end, next - end), span.size);
        if (current.width + width + w > max_width && (end > begin || !current.pieces.empty())) {
          break;
        }
        width += w;
        end = next;
      }
      if (end == begin) {  // nothing fits beside what we have: start a new part
        parts.push_back(std::move(current));
        current = Word();
        continue;
      }
      const ShapedText& shaped =
          fonts_.shape(span.font, std::string_view(text).substr(begin, end - begin));
      remember_text(shaped, std::string_view(text).substr(begin, end - begin));
      Piece part{&span, &shaped, shaped.width * span.size / 1000.0};
      current.pieces.push_back(part);
      current.width += part.width;
      begin = end;
      if (begin < text.size()) {
        parts.push_back(std::move(current));
        current = Word();
      }
    }
  }
  current.space = word.space;
  current.space_width = word.space_width;
  current.hard_break = word.hard_break;
  parts.push_back(std::move(current));
  return parts;
}

std::vector<Line> Layouter::break_lines(const std::vector<Span>& spans, double max_width) {
  std::vector<Word> words = words_of(spans);
  std::vector<Line> lines;
  Line line;
  // A body line holds about a dozen words: room up front instead of regrowing per line.
  constexpr size_t kPiecesPerLine = 24;
  line.pieces.reserve(kPiecesPerLine);
  double x = 0;
  auto finish = [&]() {
    if (!line.pieces.empty()) line.pieces.back().trailing_space = nullptr;
    finalize_metrics(line, spans);
    lines.push_back(std::move(line));
    line = Line();
    line.pieces.reserve(kPiecesPerLine);
    x = 0;
  };
  auto place = [&](const Word& word) {
    if (!line.pieces.empty() && x + word.width > max_width) finish();
    for (const Piece& piece : word.pieces) {
      line.pieces.push_back(LinePiece{piece, x, nullptr});
      x += piece.width;
    }
    line.width = x;
    if (!line.pieces.empty()) {
      line.pieces.back().trailing_space = word.space;
      x += word.space_width;
    }
    if (word.hard_break) finish();
  };
  for (const Word& word : words) {
    if (word.width > max_width && !word.pieces.empty()) {
      for (const Piece& piece : word.pieces) {
        if (piece.shaped != nullptr) note_piece_text(piece);
      }
      for (const Word& part : split_word(word, max_width)) place(part);
    } else {
      place(word);
    }
  }
  if (!line.pieces.empty() || lines.empty()) finish();
  return lines;
}

void Layouter::note_piece_text(const Piece& piece) {
  if (piece_text_.count(piece.shaped) != 0) return;
  std::string_view text = piece.span->text;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = find_break(text, start);
    if (end == std::string_view::npos) end = text.size();
    if (end > start) {
      std::string_view word = text.substr(start, end - start);
      if (&fonts_.shape(piece.span->font, word) == piece.shaped) {
        remember_text(*piece.shaped, word);
        return;
      }
    }
    start = end + 1;
  }
}

void Layouter::finalize_metrics(Line& line, const std::vector<Span>& spans) {
  double size = base_;
  if (!spans.empty()) size = spans.front().size;
  line.ascent = size * kAscentFactor;
  line.descent = size * (kLineFactor - kAscentFactor);
  for (const LinePiece& lp : line.pieces) {
    const Span& span = *lp.piece.span;
    if (span.image >= 0) {
      line.ascent = std::max(line.ascent, span.image_height + 2);
    } else {
      line.ascent = std::max(line.ascent, span.size * kAscentFactor);
      line.descent = std::max(line.descent, span.size * (kLineFactor - kAscentFactor));
    }
  }
}

namespace {

// "x y w h", the operands of the re operator.
void append_rect(std::string& c, double x, double y, double w, double h) {
  num(c, x);
  c += ' ';
  num(c, y);
  c += ' ';
  num(c, w);
  c += ' ';
  num(c, h);
}

}  // namespace

void Layouter::fill_rect(double x, double y, double w, double h, Color color) {
  std::string& c = page().content;
  c += "q ";
  append_color(c, color, false);
  append_rect(c, x, y, w, h);
  c += " re f Q\n";
}

void Layouter::stroke_rect(double x, double y, double w, double h, double line_width, Color color) {
  std::string& c = page().content;
  c += "q ";
  num(c, line_width);
  c += " w ";
  append_color(c, color, true);
  append_rect(c, x, y, w, h);
  c += " re S Q\n";
}

void Layouter::draw_line(const Line& line, double x0) {
  const double baseline = y_ - line.ascent;
  draw_pending_marker(baseline);
  std::string& c = page().content;
  // Backgrounds of code spans, then images, then text, then decorations.
  for (const LinePiece& lp : line.pieces) {
    const Span& span = *lp.piece.span;
    if (span.code) {
      fill_rect(x0 + lp.x - 1, baseline - span.size * 0.25, lp.piece.width + 2, span.size * 1.15,
                Color{0.93f, 0.93f, 0.93f});
    }
    if (span.image >= 0) {
      c += "q ";
      num(c, span.image_width);
      c += " 0 0 ";
      num(c, span.image_height);
      c += ' ';
      num(c, x0 + lp.x);
      c += ' ';
      num(c, baseline);
      c += " cm /Im" + std::to_string(span.image) + " Do Q\n";
    }
  }
  draw_text(line, x0, baseline);
  std::optional<LinkAnnotation> pending;
  for (const LinePiece& lp : line.pieces) {
    const Span& span = *lp.piece.span;
    if (span.strike) {
      fill_rect(x0 + lp.x, baseline + span.size * 0.28, lp.piece.width, span.size * 0.06,
                span.color);
    }
    if (span.link >= 0) {
      const double x1 = x0 + lp.x;
      const double x2 = x1 + lp.piece.width;
      const double y1 = baseline - span.size * 0.25;
      const double y2 = baseline + (span.image >= 0 ? span.image_height : span.size * 0.9);
      if (pending && pending->link == span.link) {
        pending->x2 = x2;
        pending->y1 = std::min(pending->y1, y1);
        pending->y2 = std::max(pending->y2, y2);
      } else {
        if (pending) page().links.push_back(*pending);
        pending = LinkAnnotation{x1, y1, x2, y2, span.link};
      }
    } else if (pending) {
      page().links.push_back(*pending);
      pending.reset();
    }
  }
  if (pending) page().links.push_back(*pending);
  y_ -= line.height();
}

void Layouter::draw_text(const Line& line, double x0, double baseline) {
  PageOut& out = page();
  std::string& c = out.content;
  bool in_text = false;
  size_t i = 0;
  while (i < line.pieces.size()) {
    const Span& span = *line.pieces[i].piece.span;
    if (span.image >= 0) {
      ++i;
      continue;
    }
    if (!in_text) {
      c += "BT\n";
      in_text = true;
    }
    const int font = static_cast<int>(span.font);
    if (out.font != font || out.size != span.size) {
      c += "/F";
      c += static_cast<char>('0' + font);  // kFontStyleCount < 10
      c += ' ';
      num(c, span.size);
      c += " Tf\n";
      out.font = font;
      out.size = span.size;
    }
    if (!out.color || !(*out.color == span.color)) {
      append_color(c, span.color, false);
      c += '\n';
      out.color = span.color;
    }
    c += "1 0 0 1 ";
    num(c, x0 + line.pieces[i].x);
    c += ' ';
    num(c, baseline);
    c += " Tm [(";
    double pen = line.pieces[i].x;
    // One TJ for the run of pieces sharing font, size and colour.
    size_t j = i;
    for (; j < line.pieces.size(); ++j) {
      const LinePiece& lp = line.pieces[j];
      const Span& s = *lp.piece.span;
      if (s.image >= 0 || s.font != span.font || s.size != span.size || !(s.color == span.color)) {
        break;
      }
      const double gap = lp.x - pen;
      if (std::abs(gap) > 0.01) append_adjust(c, -gap * 1000.0 / s.size);
      append_glyphs(c, *lp.piece.shaped);
      pen = lp.x + lp.piece.width;
      if (lp.trailing_space != nullptr) {
        append_glyphs(c, *lp.trailing_space);
        pen += lp.trailing_space->width * s.size / 1000.0;
      }
    }
    c += ")] TJ\n";
    i = j;
  }
  if (in_text) c += "ET\n";
}

void Layouter::draw_paragraph(const std::vector<Span>& spans, Align align) {
  const double width = right_ - left_;
  for (const Line& line : break_lines(spans, width)) {
    need(line.height());
    double x = left_;
    if (align == Align::kCenter) x += (width - line.width) / 2;
    if (align == Align::kRight) x += width - line.width;
    draw_line(line, x);
  }
}

void Layouter::draw_pending_marker(double baseline) {
  if (!marker_) return;
  Marker marker = std::move(*marker_);
  marker_.reset();
  Span span;
  span.text = marker.text;
  span.font = marker.font;
  span.size = marker.size;
  std::vector<Span> spans{span};
  Line line = break_lines(spans, 1e9).front();
  draw_text(line, marker.x - line.width, baseline);
}

}  // namespace gen::pdf
