// Fonts for pdf.render: the bundled DejaVu faces, shaping with HarfBuzz, and embedding of
// the glyphs a document used as subset CIDFontType2 fonts.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

class QPDF;
class QPDFObjectHandle;
struct hb_face_t;
struct hb_font_t;
struct hb_buffer_t;

namespace gen::pdf {

enum class FontStyle : int { kRegular = 0, kBold = 1, kItalic = 2, kBoldItalic = 3, kMono = 4 };
inline constexpr int kFontStyleCount = 5;

/// One font file, loaded once per process and immutable afterwards (safe to share between
/// threads). Metrics are in font units; `units_per_em` converts them.
struct FontFace {
  std::string postscript_name;
  std::string file_bytes;
  int units_per_em = 1000;
  int ascender = 0;
  int descender = 0;  ///< negative
  int cap_height = 0;
  std::array<int, 4> bbox{};
  double italic_angle = 0;
  bool fixed_pitch = false;
  hb_face_t* hb_face = nullptr;
  /// hb_face with the subsetter's tables precomputed (hb_subset_preprocess): subsetting it
  /// gives the same font program, without rebuilding the cmap and glyph maps per document.
  hb_face_t* subset_source = nullptr;
  hb_font_t* hb_font = nullptr;
};

/// The process-wide faces, loaded on first use from `directory` (the DejaVu fonts). Throws
/// std::runtime_error naming the missing file when a font cannot be loaded.
const FontFace& font_face(FontStyle style);

/// The directory the fonts are read from: $GENERATOR_PDF_FONT_DIR, else Debian's DejaVu path.
std::string font_directory();

/// One shaped glyph. Advances are in 1/1000 text-space units (PDF glyph-space), so a run of
/// size S advances by `advance * S / 1000` points.
struct Glyph {
  uint16_t gid = 0;
  float advance = 0;  ///< shaped advance (includes kerning)
  float nominal = 0;  ///< the glyph's own width (the /W entry)
  /// nominal - advance, rounded: the TJ adjustment that applies the kerning (0: none).
  int kern_adjust = 0;
};

struct ShapedText {
  std::vector<Glyph> glyphs;
  float width = 0;  ///< sum of advances, 1/1000 units
  /// The glyphs as they go inside a TJ array's literal string: two bytes per glyph id
  /// (escaped), kerning as `)adjust(`. Drawing a word is one append.
  std::string encoded;
  /// Per glyph: the text it stands for (empty for the second and later glyphs of a cluster).
  std::vector<std::u32string> glyph_text;
  /// The FontSet (document) that last recorded these glyphs as used.
  mutable std::uint64_t recorded_by = 0;
};

/// Per-document font state: the glyphs used (for subsetting and the ToUnicode map), over a
/// shaping cache shared by the documents one thread renders (a worker thread renders one
/// document after another, and their words repeat: shaping each word with HarfBuzz once per
/// thread, not once per document, is a large part of pdf.render's speed). The shared cache
/// holds texts of at most kMaxCachedTextBytes and is emptied, once no document is being
/// rendered on the thread, when it holds more than 4 MiB (or 20,000 texts) in a style. The glyphs a
/// document uses, and the text recorded for each, depend only on the document. Not
/// thread-safe; one per render.
class FontSet {
 public:
  FontSet();
  ~FontSet();
  FontSet(const FontSet&) = delete;
  FontSet& operator=(const FontSet&) = delete;

  /// Shapes `text` (UTF-8, no line breaks) in `style`. The result stays valid until the
  /// FontSet dies. Missing characters become glyph 0 (.notdef).
  const ShapedText& shape(FontStyle style, std::string_view text);

  /// Width of `text` at `size` points.
  double width(FontStyle style, std::string_view text, double size) {
    return shape(style, text).width * size / 1000.0;
  }

  bool used(FontStyle style) const { return !usage_[static_cast<int>(style)].gids.empty(); }

  /// Builds the Type0 font dictionary (subset font program, /W, ToUnicode) for `style`.
  QPDFObjectHandle embed(QPDF& pdf, FontStyle style) const;

  /// The subset font program of the glyphs in `gids`, deflated: the costly part of embed(),
  /// safe to make on another thread (it reads only the immutable face).
  struct Program {
    std::vector<uint16_t> gids;  ///< sorted
    size_t size = 0;             ///< uncompressed bytes (/Length1)
    std::string deflated;
  };
  /// The glyphs `style` used so far, sorted.
  std::vector<uint16_t> used_gids(FontStyle style) const;
  static Program make_program(FontStyle style, std::vector<uint16_t> gids);
  /// embed() with the program made beforehand from used_gids(style).
  QPDFObjectHandle embed(QPDF& pdf, FontStyle style, Program program) const;

 private:
  /// The shaped words of one style: node-based storage (stable addresses) and an
  /// open-addressing index over it (one probe, no modulo: the lookup runs once per word).
  class Cache {
   public:
    const ShapedText* find(std::string_view text, uint64_t hash) const;
    const ShapedText& insert(std::string_view text, uint64_t hash, ShapedText shaped);
    size_t size() const { return entries_.size(); }
    /// About how much memory the entries hold (text, glyphs, encodings).
    size_t bytes() const { return bytes_; }
    void clear();
    /// FNV-1a, inline: the keys are words, a few bytes each.
    static uint64_t hash(std::string_view text) {
      uint64_t h = 14695981039346656037ULL;
      for (char c : text) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
      return h ^ (h >> 32);
    }

   private:
    struct Entry {
      std::string text;
      ShapedText shaped;
    };
    struct Slot {
      uint64_t hash = 0;
      const Entry* entry = nullptr;
    };
    void grow();
    std::vector<std::unique_ptr<Entry>> entries_;
    std::vector<Slot> slots_;  // size a power of two, at most half full
    size_t bytes_ = 0;
  };
  struct Usage {
    std::unordered_map<uint16_t, std::u32string> gids;  // gid -> text it stands for
  };
  static std::array<Cache, kFontStyleCount>& thread_cache();
  /// Empties the caches past their bounds (see the class comment).
  static void trim(std::array<Cache, kFontStyleCount>& caches);
  void record(Usage& usage, const ShapedText& shaped);
  const ShapedText& lookup_or_shape(FontStyle style, std::string_view text);

  std::array<Usage, kFontStyleCount> usage_;
  std::array<Cache, kFontStyleCount>& cache_;
  /// Texts longer than kMaxCachedTextBytes: shaped once per document, never kept after it.
  std::array<Cache, kFontStyleCount> local_;
  std::array<const ShapedText*, kFontStyleCount> space_{};  // shape(style, " ")
  std::uint64_t id_;
  hb_buffer_t* buffer_ = nullptr;
};

/// Texts longer than this are not kept in the thread's shaping cache (only for the document
/// that shaped them). Callers shape long words in pieces of at most this size.
inline constexpr size_t kMaxCachedTextBytes = 1024;

/// Decodes UTF-8 leniently: invalid bytes become U+FFFD.
std::u32string decode_utf8(std::string_view text);

/// Appends a PDF literal string holding `bytes` (escaping as needed) to `out`.
void append_pdf_literal(std::string& out, std::string_view bytes);

}  // namespace gen::pdf
