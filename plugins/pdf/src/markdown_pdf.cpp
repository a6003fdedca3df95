#include "markdown_pdf.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm.h>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFObjectHandle.hh>
#include <qpdf/QPDFPageDocumentHelper.hh>
#include <qpdf/QPDFPageObjectHelper.hh>
#include <qpdf/QPDFWriter.hh>

#include "cmark_arena.hpp"
#include "flate.hpp"
#include "fonts.hpp"
#include "helper_threads.hpp"
#include "images.hpp"

namespace gen::pdf {
namespace {

constexpr double kLineFactor = 1.3;       // line height / font size
constexpr double kAscentFactor = 0.95;    // baseline below the line top, / font size
constexpr double kCellPadding = 4;        // points
constexpr double kQuoteIndent = 14;       // points
constexpr double kCodePadding = 5;        // points
constexpr double kPixelsToPoints = 0.75;  // images are laid out at 96 dpi

// ---------------------------------------------------------------------------------------
// Content-stream writing helpers

/// Appends `value` with at most two decimals ("12.5", "-3", "0.07"): the hot path of
/// content-stream writing, so no locale or printf machinery.
void num(std::string& out, double value) {
  long long hundredths = std::llround(value * 100);
  char buffer[32];
  char* const end = buffer + sizeof(buffer);
  char* first = end;
  const bool negative = hundredths < 0;
  if (negative) hundredths = -hundredths;
  const int fraction = static_cast<int>(hundredths % 100);
  if (fraction != 0) {  // written backwards: ".5", ".07", ".25"
    if (fraction % 10 != 0) *--first = static_cast<char>('0' + fraction % 10);
    *--first = static_cast<char>('0' + fraction / 10);
    *--first = '.';
  }
  long long whole = hundredths / 100;
  do {
    *--first = static_cast<char>('0' + whole % 10);
    whole /= 10;
  } while (whole != 0);
  if (negative) *--first = '-';
  out.append(first, static_cast<size_t>(end - first));
}

/// The first space, tab or newline in `text` from `from` on (npos: none). A plain loop:
/// string_view::find_first_of calls memchr over the set once per character.
size_t find_break(std::string_view text, size_t from) {
  for (size_t i = from; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n') return i;
  }
  return std::string_view::npos;
}

struct Color {
  float r = 0, g = 0, b = 0;
  bool operator==(const Color&) const = default;
};
constexpr Color kBlack{0, 0, 0};
constexpr Color kLinkColor{0.02f, 0.27f, 0.68f};
constexpr Color kQuoteColor{0.3f, 0.3f, 0.3f};
constexpr Color kFooterColor{0.35f, 0.35f, 0.35f};

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

/// Refuses a tree nested deeper than kMaxMarkdownNesting before the (recursive) layout sees
/// it. cmark-gfm builds such trees without complaint ('*' x 50000 + "x" + '*' x 50000 is
/// 25,000 nested emphases; ">" x 100000 as many block quotes) and walks them iteratively;
/// the iterator here does too.
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

struct InlineStyle {
  bool bold = false;
  bool italic = false;
  bool strike = false;
  int link = -1;
  double size = 11;
  Color color = kBlack;
};

FontStyle font_for(const InlineStyle& style) {
  if (style.bold && style.italic) return FontStyle::kBoldItalic;
  if (style.bold) return FontStyle::kBold;
  if (style.italic) return FontStyle::kItalic;
  return FontStyle::kRegular;
}

// ---------------------------------------------------------------------------------------
// Work off the layout thread: deflating page bodies (the largest single cost of a long
// document) as soon as each page is laid out, and freeing the Markdown tree. One helper
// thread, started when a second page begins (a one-page document never starts it); the
// thread that renders also runs what is still queued when it needs the results.

class BackgroundWork {
 public:
  BackgroundWork() = default;
  ~BackgroundWork() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    if (helper_.joinable()) helper_.join();
    run(/*until_empty=*/true);  // what an exception left queued (freeing the tree, say)
  }
  BackgroundWork(const BackgroundWork&) = delete;
  BackgroundWork& operator=(const BackgroundWork&) = delete;

  /// From now on queued work runs on a helper thread too (a second page has begun; a
  /// one-page document's few tasks are not worth a thread).
  void go_parallel() {
    std::lock_guard lock(mutex_);
    parallel_ = cpu_count() > 1;
  }

  /// Queues the compression of page `index`'s body.
  void compress_page(size_t index, std::string content) {
    post([this, index, content = std::move(content)] {
      std::string deflated = deflate_bytes(content);
      std::lock_guard lock(mutex_);
      if (compressed_.size() <= index) compressed_.resize(index + 1);
      compressed_[index] = std::move(deflated);
    });
  }

  /// Queues `task`; an urgent one runs before what is already queued.
  void post(std::function<void()> task, bool urgent = false) {
    {
      std::lock_guard lock(mutex_);
      if (urgent) {
        tasks_.push_front(std::move(task));
      } else {
        tasks_.push_back(std::move(task));
      }
      if (parallel_ && !helper_.joinable()) {
        helper_ = HelperTask::start([this] { run(/*until_empty=*/false); });
      }
    }
    wake_.notify_one();
  }

  /// Runs what is queued, waits for the task in flight; rethrows a task's exception.
  void drain() {
    run(/*until_empty=*/true);
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [this] { return tasks_.empty() && busy_ == 0; });
    if (error_) std::rethrow_exception(error_);
  }

  /// Page `index`'s compressed body (after drain()).
  std::string take_page(size_t index) {
    std::lock_guard lock(mutex_);
    return index < compressed_.size() ? std::move(compressed_[index]) : std::string();
  }

 private:
  void run(bool until_empty) {
    std::unique_lock lock(mutex_);
    for (;;) {
      if (until_empty) {
        if (tasks_.empty()) return;
      } else {
        wake_.wait(lock, [this] { return stop_ || !tasks_.empty(); });
        if (stop_) return;
      }
      std::function<void()> task = std::move(tasks_.front());
      tasks_.pop_front();
      ++busy_;
      lock.unlock();
      try {
        task();
      } catch (...) {
        std::lock_guard error_lock(error_mutex_);
        if (!error_) error_ = std::current_exception();
      }
      task = nullptr;
      lock.lock();
      --busy_;
      if (tasks_.empty() && busy_ == 0) idle_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<std::function<void()>> tasks_;
  bool parallel_ = false;
  int busy_ = 0;
  bool stop_ = false;
  std::vector<std::string> compressed_;
  std::mutex error_mutex_;
  std::exception_ptr error_;
  HelperTask helper_;
};

// ---------------------------------------------------------------------------------------

class Layouter {
 public:
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
  /// into), end().
  void begin() { new_page(); }
  void add(cmark_node* document) {
    check_nesting(document);
    blocks(document, /*tight=*/false);
  }
  void end() { close_quotes_on_page(); }

 private:
  // ----- pages and vertical space

  void new_page() {
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

  // ----- block quotes: a bar on every page the quote touches

  struct QuoteBar {
    double x;
    double top;
  };

  void close_quotes_on_page() {
    for (const QuoteBar& bar : quotes_) draw_quote_bar(bar, y_);
  }

  void draw_quote_bar(const QuoteBar& bar, double bottom) {
    if (bar.top - bottom < 0.5) return;
    fill_rect(bar.x, bottom, 2.5, bar.top - bottom, Color{0.75f, 0.75f, 0.75f});
  }

  // ----- drawing primitives (graphics wrapped in q/Q so the text colour state survives)

  void fill_rect(double x, double y, double w, double h, Color color) {
    std::string& c = page().content;
    c += "q ";
    append_color(c, color, false);
    num(c, x);
    c += ' ';
    num(c, y);
    c += ' ';
    num(c, w);
    c += ' ';
    num(c, h);
    c += " re f Q\n";
  }

  void stroke_rect(double x, double y, double w, double h, double line_width, Color color) {
    std::string& c = page().content;
    c += "q ";
    num(c, line_width);
    c += " w ";
    append_color(c, color, true);
    num(c, x);
    c += ' ';
    num(c, y);
    c += ' ';
    num(c, w);
    c += ' ';
    num(c, h);
    c += " re S Q\n";
  }

  static void append_color(std::string& c, Color color, bool stroke) {
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

  // ----- inline content

  void collect_inlines(cmark_node* node, InlineStyle style, std::vector<Span>& out) {
    for (cmark_node* child = cmark_node_first_child(node); child != nullptr;
         child = cmark_node_next(child)) {
      switch (cmark_node_get_type(child)) {
        case CMARK_NODE_TEXT:
          push_text(cmark_node_get_literal(child), style, false, out);
          break;
        case CMARK_NODE_CODE:
          push_text(cmark_node_get_literal(child), style, true, out);
          break;
        case CMARK_NODE_SOFTBREAK:
          push_text(" ", style, false, out);
          break;
        case CMARK_NODE_LINEBREAK: {
          Span span;
          span.hard_break = true;
          out.push_back(std::move(span));
          break;
        }
        case CMARK_NODE_EMPH: {
          InlineStyle inner = style;
          inner.italic = true;
          collect_inlines(child, inner, out);
          break;
        }
        case CMARK_NODE_STRONG: {
          InlineStyle inner = style;
          inner.bold = true;
          collect_inlines(child, inner, out);
          break;
        }
        case CMARK_NODE_LINK: {
          InlineStyle inner = style;
          const char* url = cmark_node_get_url(child);
          if (url != nullptr && *url != '\0') {
            doc_.links.emplace_back(url);
            inner.link = static_cast<int>(doc_.links.size()) - 1;
            inner.color = kLinkColor;
          }
          collect_inlines(child, inner, out);
          break;
        }
        case CMARK_NODE_IMAGE:
          push_image(child, style, out);
          break;
        case CMARK_NODE_HTML_INLINE: {
          const std::string html = cmark_node_get_literal(child);
          if (html.rfind("<br", 0) == 0) {
            Span span;
            span.hard_break = true;
            out.push_back(std::move(span));
          }
          break;
        }
        default:
          if (is_type(child, "strikethrough")) {
            InlineStyle inner = style;
            inner.strike = true;
            collect_inlines(child, inner, out);
          } else {
            collect_inlines(child, style, out);
          }
      }
    }
  }

  void push_text(std::string_view text, const InlineStyle& style, bool code,
                 std::vector<Span>& out) {
    Span span;
    span.text = text;
    span.font = code ? FontStyle::kMono : font_for(style);
    span.size = code ? style.size * 0.92 : style.size;
    span.color = style.color;
    span.link = style.link;
    span.code = code;
    span.strike = style.strike;
    out.push_back(std::move(span));
  }

  void push_image(cmark_node* node, const InlineStyle& style, std::vector<Span>& out) {
    const std::string url = cmark_node_get_url(node) != nullptr ? cmark_node_get_url(node) : "";
    std::string alt = plain_text(node);
    int index = image_index(url);
    if (index < 0) {
      InlineStyle alt_style = style;
      alt_style.italic = true;
      push_text(keep_text(alt.empty() ? "[image: " + url + "]" : std::move(alt)), alt_style, false,
                out);
      return;
    }
    const ImageData& image = doc_.images[index].data;
    double width = image.width * kPixelsToPoints;
    double height = image.height * kPixelsToPoints;
    const double max_width = right_ - left_;
    const double max_height = (top_ - bottom_) * 0.9;
    const double scale = std::min({1.0, max_width / width, max_height / height});
    Span span;
    span.image = index;
    span.image_width = width * scale;
    span.image_height = height * scale;
    span.size = style.size;
    span.link = style.link;
    out.push_back(std::move(span));
  }

  /// Text made during the layout that spans point to: kept for the whole render.
  std::string_view keep_text(std::string text) { return kept_texts_.emplace_back(std::move(text)); }

  int image_index(const std::string& url) {
    if (auto it = image_cache_.find(url); it != image_cache_.end()) return it->second;
    int index = -1;
    std::string_view bytes;
    std::string name = url;
    bool found = image_lookup_ && image_lookup_(name, bytes);
    if (!found) {
      const size_t slash = url.find_last_of('/');
      if (slash != std::string::npos) {
        name = url.substr(slash + 1);
        found = image_lookup_ && image_lookup_(name, bytes);
      }
    }
    if (!found) {
      doc_.warnings.push_back("image '" + url + "' is not among the inputs; rendered its alt text");
    } else if (auto same = image_by_bytes_.find(bytes.data()); same != image_by_bytes_.end()) {
      index = same->second;  // another URL for an input already decoded ("a.png", "./a.png")
    } else {
      std::string error;
      if (auto image = decode_image(bytes, error)) {
        const size_t size = image->samples.size() + image->alpha.size();
        if (size > kMaxImageBytes - std::min(image_bytes_, kMaxImageBytes)) {
          doc_.warnings.push_back("image '" + url + "': the document's images pass " +
                                  std::to_string(kMaxImageBytes / (1024 * 1024)) +
                                  " MiB decoded (the limit); rendered its alt text");
        } else {
          image_bytes_ += size;
          doc_.images.push_back(ImageRef{std::move(*image)});
          index = static_cast<int>(doc_.images.size()) - 1;
        }
      } else {
        doc_.warnings.push_back("image '" + url + "': " + error + "; rendered its alt text");
      }
      image_by_bytes_.emplace(bytes.data(), index);
    }
    image_cache_.emplace(url, index);
    return index;
  }

  /// The decoded samples of all of a document's images stay in memory until it is written.
  static constexpr size_t kMaxImageBytes = 256 * 1024 * 1024;

  /// Splits spans into words (break opportunities are spaces and hard breaks).
  std::vector<Word> words_of(const std::vector<Span>& spans) {
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

  /// Breaks a word wider than `max_width` into character chunks that fit.
  std::vector<Word> split_word(const Word& word, double max_width) {
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

  void remember_text(const ShapedText& shaped, std::string_view text) {
    piece_text_.try_emplace(&shaped, std::make_shared<std::string>(text));
  }

  /// Greedy line breaking.
  std::vector<Line> break_lines(const std::vector<Span>& spans, double max_width) {
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

  // The text of a piece, needed only to split over-long words (rare): recovered from the
  // span by re-splitting at whitespace and matching the shaped pointer.
  void note_piece_text(const Piece& piece) {
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

  void finalize_metrics(Line& line, const std::vector<Span>& spans) {
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

  /// Draws `line` with its top at the cursor, starting at `x0`; moves the cursor down.
  void draw_line(const Line& line, double x0) {
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

  void draw_text(const Line& line, double x0, double baseline) {
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
        if (s.image >= 0 || s.font != span.font || s.size != span.size ||
            !(s.color == span.color)) {
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

  static void append_adjust(std::string& c, double amount) {
    c += ')';
    num(c, amount);
    c += '(';
  }

  static void append_glyphs(std::string& c, const ShapedText& shaped) { c += shaped.encoded; }

  /// Lays out and draws a paragraph-like block of inline content.
  void draw_paragraph(const std::vector<Span>& spans, Align align = Align::kLeft) {
    const double width = right_ - left_;
    for (const Line& line : break_lines(spans, width)) {
      need(line.height());
      double x = left_;
      if (align == Align::kCenter) x += (width - line.width) / 2;
      if (align == Align::kRight) x += width - line.width;
      draw_line(line, x);
    }
  }

  // ----- list markers: drawn on the baseline of the item's first line

  struct Marker {
    std::string text;
    double x;
    FontStyle font;
    double size;
  };

  void draw_pending_marker(double baseline) {
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

  // ----- blocks

  void blocks(cmark_node* parent, bool tight) {
    for (cmark_node* node = cmark_node_first_child(parent); node != nullptr;
         node = cmark_node_next(node)) {
      if (cancelled_ && cancelled_()) throw RenderCancelled{};
      block(node, tight);
    }
  }

  void block(cmark_node* node, bool tight) {
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

  void paragraph(cmark_node* node, bool tight) {
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

  void page_break() {
    marker_.reset();
    new_page();
  }

  void html_block(cmark_node* node) {
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

  void heading(cmark_node* node) {
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

  void rule() {
    need(base_);
    space(base_ * 0.4);
    fill_rect(left_, y_ - base_ * 0.3, right_ - left_, 0.8, Color{0.7f, 0.7f, 0.7f});
    y_ -= base_ * 0.6;
    space(base_ * 0.4);
  }

  void list(cmark_node* node) {
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

  void quote(cmark_node* node) {
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

  void code_block(cmark_node* node) {
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

  /// One source line of code: kept whole when it fits, else cut at characters.
  std::vector<Line> break_code_line(const std::vector<Span>& spans, double width) {
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

  // ----- tables

  struct Cell {
    std::vector<Span> spans;
    std::vector<Line> lines;
    double min_width = 0;
    double max_width = 0;
    double height = 0;
  };

  struct Row {
    std::vector<Cell> cells;
    bool header = false;
    double height = 0;
  };

  void table(cmark_node* node) {
    const int columns = cmark_gfm_extensions_get_table_columns(node);
    if (columns <= 0) return;
    const uint8_t* aligns = cmark_gfm_extensions_get_table_alignments(node);
    std::vector<Row> rows;
    for (cmark_node* row_node = cmark_node_first_child(node); row_node != nullptr;
         row_node = cmark_node_next(row_node)) {
      Row row;
      row.header = cmark_gfm_extensions_get_table_row_is_header(row_node) != 0;
      for (cmark_node* cell_node = cmark_node_first_child(row_node); cell_node != nullptr;
           cell_node = cmark_node_next(cell_node)) {
        Cell cell;
        InlineStyle style;
        style.size = base_ * 0.95;
        style.bold = row.header;
        collect_inlines(cell_node, style, cell.spans);
        row.cells.push_back(std::move(cell));
      }
      row.cells.resize(static_cast<size_t>(columns));
      rows.push_back(std::move(row));
    }
    // Column widths from content: each column's longest word and its widest cell.
    std::vector<double> min_w(columns, 0), max_w(columns, 0);
    for (Row& row : rows) {
      for (int c = 0; c < columns; ++c) {
        Cell& cell = row.cells[c];
        double line_width = 0;
        for (const Word& word : words_of(cell.spans)) {
          min_w[c] = std::max(min_w[c], word.width);
          line_width += word.width + word.space_width;
          if (word.hard_break) {
            max_w[c] = std::max(max_w[c], line_width);
            line_width = 0;
          }
        }
        max_w[c] = std::max(max_w[c], line_width);
      }
    }
    const double available = right_ - left_;
    const double padding = 2 * kCellPadding;
    std::vector<double> widths(columns);
    double sum_max = 0, sum_min = 0;
    for (int c = 0; c < columns; ++c) {
      max_w[c] += padding + 0.5;
      min_w[c] = std::min(min_w[c] + padding + 0.5, available / columns);
      min_w[c] = std::max(min_w[c], padding + 12);
      max_w[c] = std::max(max_w[c], min_w[c]);
      sum_max += max_w[c];
      sum_min += min_w[c];
    }
    if (sum_max <= available) {
      widths = max_w;
    } else if (sum_min >= available) {
      for (int c = 0; c < columns; ++c) widths[c] = min_w[c] * available / sum_min;
    } else {
      const double extra = available - sum_min;
      for (int c = 0; c < columns; ++c) {
        widths[c] = min_w[c] + extra * (max_w[c] - min_w[c]) / (sum_max - sum_min);
      }
    }
    for (Row& row : rows) {
      for (int c = 0; c < columns; ++c) {
        Cell& cell = row.cells[c];
        cell.lines = break_lines(cell.spans, widths[c] - padding);
        cell.height = 0;
        for (const Line& line : cell.lines) cell.height += line.height();
        row.height = std::max(row.height, cell.height + padding);
      }
    }
    space(base_ * 0.2);
    const Row* header = rows.empty() || !rows.front().header ? nullptr : &rows.front();
    for (const Row& row : rows) {
      if (cancelled_ && cancelled_()) throw RenderCancelled{};
      // A row that fits on a page starts on a fresh page rather than being split; a row
      // taller than a page is split wherever it starts.
      const bool fits_a_page = row.height <= top_ - bottom_;
      const bool room_for_a_line = y_ - bottom_ >= base_ * kLineFactor * 2 + 2 * kCellPadding;
      if (y_ - row.height < bottom_ && !at_page_top() && (fits_a_page || !room_for_a_line)) {
        new_page();
        if (header != nullptr && &row != header) draw_row(*header, widths, aligns);
      }
      draw_row(row, widths, aligns);
    }
    space(base_ * 0.7);
  }

  /// Draws a row; a row taller than a page continues on the next page.
  void draw_row(const Row& row, const std::vector<double>& widths, const uint8_t* aligns) {
    std::vector<size_t> next_line(row.cells.size(), 0);
    bool first_slice = true;
    while (true) {
      bool remaining = false;
      for (size_t c = 0; c < row.cells.size(); ++c) {
        if (next_line[c] < row.cells[c].lines.size()) remaining = true;
      }
      if (!remaining && !first_slice) break;
      if (!first_slice) new_page();
      const double avail = y_ - bottom_ - 2 * kCellPadding;
      // Lines of each cell that fit into this slice.
      std::vector<size_t> end_line(row.cells.size());
      double slice_height = 0;
      bool complete = true;
      for (size_t c = 0; c < row.cells.size(); ++c) {
        double h = 0;
        size_t l = next_line[c];
        const auto& lines = row.cells[c].lines;
        while (l < lines.size() && (h + lines[l].height() <= avail || l == next_line[c])) {
          h += lines[l].height();
          ++l;
        }
        end_line[c] = l;
        if (l < lines.size()) complete = false;
        slice_height = std::max(slice_height, h);
      }
      const double height = first_slice && complete ? row.height : slice_height + 2 * kCellPadding;
      const double row_top = y_;
      double x = left_;
      for (size_t c = 0; c < row.cells.size(); ++c) {
        if (row.header)
          fill_rect(x, row_top - height, widths[c], height, Color{0.92f, 0.92f, 0.92f});
        stroke_rect(x, row_top - height, widths[c], height, 0.6, Color{0.6f, 0.6f, 0.6f});
        y_ = row_top - kCellPadding;
        const uint8_t align = aligns != nullptr ? aligns[c] : 0;
        for (size_t l = next_line[c]; l < end_line[c]; ++l) {
          const Line& line = row.cells[c].lines[l];
          const double inner = widths[c] - 2 * kCellPadding;
          double lx = x + kCellPadding;
          if (align == 'c') lx += (inner - line.width) / 2;
          if (align == 'r') lx += inner - line.width;
          draw_line(line, lx);
        }
        next_line[c] = end_line[c];
        x += widths[c];
      }
      y_ = row_top - height;
      first_slice = false;
    }
  }

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

// ---------------------------------------------------------------------------------------
// Header and footer, drawn once the page count is known.

std::string expand_template(const std::string& tmpl, int page, int pages) {
  std::string out = tmpl;
  for (auto [key, value] : {std::pair{std::string("{{page}}"), std::to_string(page)},
                            std::pair{std::string("{{pages}}"), std::to_string(pages)}}) {
    for (size_t at; (at = out.find(key)) != std::string::npos;) out.replace(at, key.size(), value);
  }
  return out;
}

void draw_centered(PageOut& page, FontSet& fonts, const std::string& text, double center_x,
                   double baseline, double size) {
  if (text.empty()) return;
  // Shape word by word so the cache serves repeated footers.
  std::string& c = page.footer;
  double width = 0;
  std::vector<const ShapedText*> parts;
  size_t start = 0;
  const ShapedText& space = fonts.shape(FontStyle::kRegular, " ");
  while (start <= text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    const ShapedText& word =
        fonts.shape(FontStyle::kRegular, std::string_view(text).substr(start, end - start));
    parts.push_back(&word);
    width += word.width;
    if (end < text.size()) {
      parts.push_back(&space);
      width += space.width;
    }
    start = end + 1;
  }
  width *= size / 1000.0;
  c += "BT\n/F0 ";
  num(c, size);
  c += " Tf\n";
  num(c, kFooterColor.r);
  c += " g\n1 0 0 1 ";
  num(c, center_x - width / 2);
  c += ' ';
  num(c, baseline);
  c += " Tm [(";
  for (const ShapedText* part : parts) c += part->encoded;
  c += ")] TJ\nET\n";
  page.font = 0;
  page.size = size;
  page.color = kFooterColor;
}

// ---------------------------------------------------------------------------------------
// PDF assembly with QPDF

QPDFObjectHandle rect_array(double x1, double y1, double x2, double y2) {
  return QPDFObjectHandle::newArray(std::vector<QPDFObjectHandle>{
      QPDFObjectHandle::newReal(x1, 2), QPDFObjectHandle::newReal(y1, 2),
      QPDFObjectHandle::newReal(x2, 2), QPDFObjectHandle::newReal(y2, 2)});
}

QPDFObjectHandle image_object(QPDF& pdf, const ImageData& image) {
  QPDFObjectHandle stream = QPDFObjectHandle::newStream(&pdf);
  QPDFObjectHandle dict = QPDFObjectHandle::newDictionary();
  dict.replaceKey("/Type", QPDFObjectHandle::newName("/XObject"));
  dict.replaceKey("/Subtype", QPDFObjectHandle::newName("/Image"));
  dict.replaceKey("/Width", QPDFObjectHandle::newInteger(image.width));
  dict.replaceKey("/Height", QPDFObjectHandle::newInteger(image.height));
  dict.replaceKey("/ColorSpace", QPDFObjectHandle::newName(image.color_space));
  dict.replaceKey("/BitsPerComponent", QPDFObjectHandle::newInteger(8));
  if (image.dct) {
    if (image.invert_cmyk) {
      QPDFObjectHandle decode = QPDFObjectHandle::newArray();
      for (int i = 0; i < 4; ++i) {
        decode.appendItem(QPDFObjectHandle::newInteger(1));
        decode.appendItem(QPDFObjectHandle::newInteger(0));
      }
      dict.replaceKey("/Decode", decode);
    }
    stream.replaceStreamData(image.samples, QPDFObjectHandle::newName("/DCTDecode"),
                             QPDFObjectHandle::newNull());
  } else {
    stream.replaceStreamData(deflate_bytes(image.samples),
                             QPDFObjectHandle::newName("/FlateDecode"),
                             QPDFObjectHandle::newNull());
  }
  if (!image.alpha.empty()) {
    QPDFObjectHandle mask = new_flate_stream(pdf, image.alpha);
    QPDFObjectHandle mask_dict = mask.getDict();
    mask_dict.replaceKey("/Type", QPDFObjectHandle::newName("/XObject"));
    mask_dict.replaceKey("/Subtype", QPDFObjectHandle::newName("/Image"));
    mask_dict.replaceKey("/Width", QPDFObjectHandle::newInteger(image.width));
    mask_dict.replaceKey("/Height", QPDFObjectHandle::newInteger(image.height));
    mask_dict.replaceKey("/ColorSpace", QPDFObjectHandle::newName("/DeviceGray"));
    mask_dict.replaceKey("/BitsPerComponent", QPDFObjectHandle::newInteger(8));
    dict.replaceKey("/SMask", mask);
  }
  QPDFObjectHandle stream_dict = stream.getDict();
  for (const std::string& key : dict.getKeys()) stream_dict.replaceKey(key, dict.getKey(key));
  return stream;
}

void build_outline(QPDF& pdf, const std::vector<OutlineEntry>& entries,
                   const std::vector<QPDFObjectHandle>& pages) {
  if (entries.empty()) return;
  struct Node {
    QPDFObjectHandle item;
    int level;
    std::vector<size_t> children;
    int descendants = 0;
  };
  std::vector<Node> nodes;
  nodes.push_back(Node{pdf.makeIndirectObject(QPDFObjectHandle::newDictionary()), 0, {}, 0});
  std::vector<size_t> stack{0};
  for (const OutlineEntry& entry : entries) {
    while (nodes[stack.back()].level >= entry.level) stack.pop_back();
    QPDFObjectHandle item = pdf.makeIndirectObject(QPDFObjectHandle::newDictionary());
    item.replaceKey("/Title", QPDFObjectHandle::newUnicodeString(
                                  entry.title.empty() ? std::string("(untitled)") : entry.title));
    const size_t page = std::min(static_cast<size_t>(entry.page), pages.size() - 1);
    item.replaceKey("/Dest",
                    QPDFObjectHandle::newArray(std::vector<QPDFObjectHandle>{
                        pages[page], QPDFObjectHandle::newName("/XYZ"), QPDFObjectHandle::newNull(),
                        QPDFObjectHandle::newReal(entry.y, 2), QPDFObjectHandle::newNull()}));
    nodes.push_back(Node{item, entry.level, {}, 0});
    const size_t index = nodes.size() - 1;
    nodes[stack.back()].children.push_back(index);
    stack.push_back(index);
  }
  // Link siblings and count descendants (all open), deepest first.
  for (size_t i = nodes.size(); i-- > 0;) {
    Node& node = nodes[i];
    for (size_t k = 0; k < node.children.size(); ++k) {
      Node& child = nodes[node.children[k]];
      child.item.replaceKey("/Parent", node.item);
      if (k > 0) child.item.replaceKey("/Prev", nodes[node.children[k - 1]].item);
      if (k + 1 < node.children.size()) {
        child.item.replaceKey("/Next", nodes[node.children[k + 1]].item);
      }
      node.descendants += 1 + child.descendants;
    }
    if (!node.children.empty()) {
      node.item.replaceKey("/First", nodes[node.children.front()].item);
      node.item.replaceKey("/Last", nodes[node.children.back()].item);
      node.item.replaceKey("/Count", QPDFObjectHandle::newInteger(node.descendants));
    }
  }
  nodes[0].item.replaceKey("/Type", QPDFObjectHandle::newName("/Outlines"));
  QPDFObjectHandle root = pdf.getRoot();
  root.replaceKey("/Outlines", nodes[0].item);
  root.replaceKey("/PageMode", QPDFObjectHandle::newName("/UseOutlines"));
}

/// 128 bits of `bytes`: two multiply-xorshift lanes over 8-byte words with a final mix, an
/// order of magnitude faster than MD5. The file ID needs uniqueness, not cryptographic
/// strength.
std::array<uint64_t, 2> file_hash(std::string_view bytes) {
  auto mix = [](uint64_t h) {  // MurmurHash3's fmix64
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
  };
  uint64_t a = 0x9e3779b97f4a7c15ULL ^ bytes.size();
  uint64_t b = 0x2545f4914f6cdd1dULL;
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t word = 0;
    std::memcpy(&word, bytes.data() + i, 8);
    a = (a ^ word) * 0x9fb21c651e98df25ULL;
    a ^= a >> 29;
    b = (b + word) * 0xd6e8feb86659fd93ULL;
    b ^= b >> 32;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, bytes.data() + i, bytes.size() - i);
  a = mix(a ^ tail);
  b = mix(b + tail + a);
  return {a, mix(a ^ b)};
}

/// Replaces the fixed ID QPDFWriter::setStaticID() wrote in the trailer (the same length, so
/// no offset moves) with file_hash() of the file.
void set_file_id(std::string& pdf) {
  static constexpr std::string_view kStaticHex = "31415926535897932384626433832795";
  const std::string placeholder =
      "/ID [<" + std::string(kStaticHex) + "><" + std::string(kStaticHex) + ">]";
  const size_t at = pdf.rfind(placeholder);
  if (at == std::string::npos || pdf.size() - at > 4096) {
    throw std::runtime_error("pdf: QPDF wrote no trailer /ID where expected");
  }
  const std::array<uint64_t, 2> hash = file_hash(pdf);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (uint64_t half : hash) {
    for (int shift = 60; shift >= 0; shift -= 4) hex += kHex[(half >> shift) & 0xF];
  }
  pdf.replace(at + 6, hex.size(), hex);
  pdf.replace(at + 6 + hex.size() + 2, hex.size(), hex);
}

std::string write_pdf(Document& doc, FontSet& fonts, const RenderOptions& options,
                      BackgroundWork& background) {
  QPDF pdf;
  pdf.emptyPDF();
  pdf.setSuppressWarnings(true);

  // The subset font programs are made in the background while the page objects are built;
  // the fonts are filled in once they are ready.
  auto programs = std::make_shared<std::array<FontSet::Program, kFontStyleCount>>();
  for (int style = 0; style < kFontStyleCount; ++style) {
    if (!fonts.used(static_cast<FontStyle>(style))) continue;
    // Urgent: ahead of freeing the Markdown tree, which nothing waits for.
    background.post(
        [programs, style, gids = fonts.used_gids(static_cast<FontStyle>(style))] {
          (*programs)[style] = FontSet::make_program(static_cast<FontStyle>(style), gids);
        },
        /*urgent=*/true);
  }
  QPDFObjectHandle font_dict = QPDFObjectHandle::newDictionary();
  QPDFObjectHandle resources = QPDFObjectHandle::newDictionary();
  resources.replaceKey("/Font", font_dict);
  if (!doc.images.empty()) {
    QPDFObjectHandle xobjects = QPDFObjectHandle::newDictionary();
    for (size_t i = 0; i < doc.images.size(); ++i) {
      xobjects.replaceKey("/Im" + std::to_string(i), image_object(pdf, doc.images[i].data));
    }
    resources.replaceKey("/XObject", xobjects);
  }
  resources = pdf.makeIndirectObject(resources);

  QPDFPageDocumentHelper page_helper(pdf);
  std::vector<QPDFObjectHandle> page_objects;
  page_objects.reserve(doc.pages.size());
  QPDFObjectHandle media_box = rect_array(0, 0, options.page_width, options.page_height);
  std::vector<QPDFObjectHandle> bodies;  // filled once the background has compressed them
  bodies.reserve(doc.pages.size());
  for (PageOut& out : doc.pages) {
    QPDFObjectHandle page = QPDFObjectHandle::newDictionary();
    page.replaceKey("/Type", QPDFObjectHandle::newName("/Page"));
    page.replaceKey("/MediaBox", media_box.shallowCopy());
    QPDFObjectHandle body = QPDFObjectHandle::newStream(&pdf);
    bodies.push_back(body);
    if (out.footer.empty()) {
      page.replaceKey("/Contents", body);
    } else {
      // A header or footer is a few dozen bytes: stored as they are (deflating each would
      // cost more than it saves).
      page.replaceKey("/Contents", QPDFObjectHandle::newArray(std::vector<QPDFObjectHandle>{
                                       body, QPDFObjectHandle::newStream(&pdf, out.footer)}));
    }
    page.replaceKey("/Resources", resources);
    if (!out.links.empty()) {
      QPDFObjectHandle annots = QPDFObjectHandle::newArray();
      for (const LinkAnnotation& link : out.links) {
        QPDFObjectHandle action = QPDFObjectHandle::newDictionary();
        action.replaceKey("/S", QPDFObjectHandle::newName("/URI"));
        action.replaceKey("/URI", QPDFObjectHandle::newString(doc.links[link.link]));
        QPDFObjectHandle annot = QPDFObjectHandle::newDictionary();
        annot.replaceKey("/Type", QPDFObjectHandle::newName("/Annot"));
        annot.replaceKey("/Subtype", QPDFObjectHandle::newName("/Link"));
        annot.replaceKey("/Rect", rect_array(link.x1, link.y1, link.x2, link.y2));
        annot.replaceKey("/Border",
                         QPDFObjectHandle::newArray(std::vector<QPDFObjectHandle>{
                             QPDFObjectHandle::newInteger(0), QPDFObjectHandle::newInteger(0),
                             QPDFObjectHandle::newInteger(0)}));
        annot.replaceKey("/A", action);
        annots.appendItem(pdf.makeIndirectObject(annot));
      }
      page.replaceKey("/Annots", annots);
    }
    QPDFObjectHandle indirect = pdf.makeIndirectObject(page);
    page_helper.addPage(QPDFPageObjectHelper(indirect), false);
    page_objects.push_back(indirect);
  }

  if (options.outline) build_outline(pdf, doc.outline, page_objects);

  background.drain();
  for (size_t i = 0; i < bodies.size(); ++i) {
    bodies[i].replaceStreamData(background.take_page(i), QPDFObjectHandle::newName("/FlateDecode"),
                                QPDFObjectHandle::newNull());
  }
  for (int style = 0; style < kFontStyleCount; ++style) {
    if (!fonts.used(static_cast<FontStyle>(style))) continue;
    font_dict.replaceKey(
        "/F" + std::to_string(style),
        fonts.embed(pdf, static_cast<FontStyle>(style), std::move((*programs)[style])));
  }

  QPDFObjectHandle info = QPDFObjectHandle::newDictionary();
  const std::string title = options.title.empty() ? doc.first_h1 : options.title;
  for (auto [key, value] :
       {std::pair{"/Title", &title}, std::pair{"/Author", &options.author},
        std::pair{"/Subject", &options.subject}, std::pair{"/Keywords", &options.keywords}}) {
    if (!value->empty()) info.replaceKey(key, QPDFObjectHandle::newUnicodeString(*value));
  }
  info.replaceKey("/Producer", QPDFObjectHandle::newString("Generator pdf.render"));
  pdf.getTrailer().replaceKey("/Info", pdf.makeIndirectObject(info));
  if (!title.empty()) {
    QPDFObjectHandle prefs = QPDFObjectHandle::newDictionary();
    prefs.replaceKey("/DisplayDocTitle", QPDFObjectHandle::newBool(true));
    pdf.getRoot().replaceKey("/ViewerPreferences", prefs);
  }

  QPDFWriter writer(pdf);
  writer.setOutputMemory();
  // Our streams are compressed already, each as it should be; the short header and footer
  // streams stay as they are.
  writer.setCompressStreams(false);
  writer.setDecodeLevel(qpdf_dl_none);
  // QPDF's deterministic /ID is an MD5 of the whole file (~5% of this thread's time): the
  // file is written with QPDF's fixed test ID instead, which is then overwritten in place
  // with a fast 128-bit hash of the file. Same input, same bytes; another file, another ID.
  writer.setStaticID(true);
  writer.setMinimumPDFVersion("1.5");
  writer.write();
  auto buffer = writer.getBufferSharedPointer();
  std::string bytes(reinterpret_cast<const char*>(buffer->getBuffer()), buffer->getSize());
  set_file_id(bytes);
  return bytes;
}

}  // namespace

/// Where a long document can be cut into parts that parse on their own exactly as they parse
/// together: before an ATX heading at column 0 that follows a blank line outside any fenced
/// code block (such a heading closes every open block). Documents with link reference
/// definitions (global) or lines starting with HTML (HTML blocks can span blank lines) are
/// never cut. Returns the cut offsets, at most one per `step` bytes, ascending.
std::vector<size_t> find_cuts(std::string_view text, size_t step) {
  std::vector<size_t> cuts;
  char fence = 0;
  size_t fence_length = 0;
  bool previous_blank = true;
  size_t next_cut = step;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    size_t indent = 0;
    while (indent < line.size() && indent < 4 && line[indent] == ' ') ++indent;
    const std::string_view body = line.substr(indent);
    const bool blank = line.find_first_not_of(" \t\r") == std::string_view::npos;
    if (indent < 4 && !body.empty() && (body[0] == '<' || body[0] == '[')) return {};
    if (indent < 4 && body.size() >= 3 && (body[0] == '`' || body[0] == '~')) {
      size_t run = 0;
      while (run < body.size() && body[run] == body[0]) ++run;
      if (run >= 3) {
        if (fence == 0) {
          fence = body[0];
          fence_length = run;
        } else if (body[0] == fence && run >= fence_length &&
                   body.find_first_not_of(" \t\r", run) == std::string_view::npos) {
          fence = 0;
        }
      }
    }
    if (fence == 0 && previous_blank && start >= next_cut && indent == 0 && !body.empty() &&
        body[0] == '#') {
      size_t hashes = 0;
      while (hashes < body.size() && body[hashes] == '#') ++hashes;
      if (hashes <= 6 && (hashes == body.size() || body[hashes] == ' ' || body[hashes] == '\t')) {
        cuts.push_back(start);
        next_cut = start + step;
      }
    }
    previous_blank = blank;
    start = end + 1;
  }
  if (fence != 0) {
    // An unclosed fence runs to the end: no cut may fall after its opening. Rare; give up.
    return {};
  }
  return cuts;
}

/// Parses `markdown` into the calling thread's current CmarkArena (the tree, and the parser,
/// are freed with the arena).
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

RenderResult render_markdown(std::string_view markdown, const RenderOptions& options,
                             const ImageLookup& images, const std::function<bool()>& cancelled) {
  cmark_gfm_core_extensions_ensure_registered();
  // A long document is cut into parts where that is safe; another thread parses them in turn
  // while this one lays out each part as soon as it is parsed (parsing and layout overlap).
  constexpr size_t kCutFrom = 64 * 1024;    // bytes
  constexpr size_t kPartBytes = 32 * 1024;  // about; small parts start the layout early
  std::vector<size_t> cuts;
  if (markdown.size() >= kCutFrom && cpu_count() > 1) {
    cuts = find_cuts(markdown, kPartBytes);
  }
  std::vector<std::string_view> texts;
  for (size_t i = 0, begin = 0; i <= cuts.size(); ++i) {
    const size_t end = i < cuts.size() ? cuts[i] : markdown.size();
    texts.push_back(markdown.substr(begin, end - begin));
    begin = end;
  }
  std::vector<cmark_node*> parts(texts.size());
  // The trees live in two arenas: the parser thread's, and this thread's for what reading
  // them allocates (a text node's C string). Both are freed at once after the layout.
  auto arenas = std::make_shared<std::array<CmarkArena, 2>>();
  std::optional<CmarkArena::Scope> arena_scope(std::in_place, (*arenas)[0]);
  std::mutex parsed_mutex;
  std::condition_variable parsed_cv;
  size_t parsed = 0;  // parts[0, parsed) are ready
  std::atomic<bool> stop_parsing = false;
  struct Parser {
    std::atomic<bool>& stop;
    HelperTask task;
    ~Parser() { stop = true; }  // then `task` is joined
  } parser{stop_parsing, {}};   // declared after the arenas: stopped and joined before they go
  if (parts.size() > 1) {
    parser.task = HelperTask::start([&] {
      CmarkArena::Scope scope((*arenas)[1]);
      for (size_t i = 0; i < texts.size() && !stop_parsing; ++i) {
        cmark_node* part = parse_markdown(texts[i]);
        std::lock_guard lock(parsed_mutex);
        parts[i] = part;
        parsed = i + 1;
        parsed_cv.notify_one();
      }
    });
  } else {
    parts[0] = parse_markdown(markdown);
    parsed = 1;
  }
  auto root_of = [&](size_t i) {
    std::unique_lock lock(parsed_mutex);
    parsed_cv.wait(lock, [&] { return parsed > i; });
    if (parts[i] == nullptr) throw std::runtime_error("pdf: the Markdown parser failed");
    return parts[i];
  };

  FontSet fonts;
  Document doc;
  BackgroundWork background;
  Layouter layouter(options, images, fonts, doc, background, cancelled);
  layouter.begin();
  for (size_t i = 0; i < parts.size(); ++i) layouter.add(root_of(i));
  if (parser.task.joinable()) parser.task.join();
  layouter.end();
  arena_scope.reset();
  background.post([to_free = std::move(arenas)] {});

  // Drop a trailing empty page (a page break at the very end).
  while (doc.pages.size() > 1 && doc.pages.back().empty()) doc.pages.pop_back();
  const int pages = static_cast<int>(doc.pages.size());
  if (doc.pages.back().handed_over == 0) {
    background.compress_page(doc.pages.size() - 1, std::move(doc.pages.back().content));
  }
  const double footer_size = std::max(6.0, options.font_size * 0.8);
  for (int i = 0; i < pages; ++i) {
    PageOut& page = doc.pages[i];
    const double center = (options.margin_left + options.page_width - options.margin_right) / 2;
    draw_centered(page, fonts, expand_template(options.header, i + 1, pages), center,
                  options.page_height - options.margin_top / 2 - footer_size / 3, footer_size);
    draw_centered(page, fonts, expand_template(options.footer, i + 1, pages), center,
                  options.margin_bottom / 2 - footer_size / 3, footer_size);
  }

  RenderResult result;
  result.pdf = write_pdf(doc, fonts, options, background);
  result.page_count = pages;
  result.warnings = std::move(doc.warnings);
  return result;
}

}  // namespace gen::pdf
