#include "fonts.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_TRUETYPE_TABLES_H
#include <harfbuzz/hb-subset.h>
#include <harfbuzz/hb.h>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFObjectHandle.hh>

#include "flate.hpp"

namespace gen::pdf {
namespace {

constexpr std::array<const char*, kFontStyleCount> kFontFiles = {
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf",
    "DejaVuSansMono.ttf"};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("pdf: cannot read font file " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::unique_ptr<FontFace> load_face(const std::string& path) {
  auto face = std::make_unique<FontFace>();
  face->file_bytes = read_file(path);

  FT_Library library = nullptr;
  if (FT_Init_FreeType(&library) != 0) throw std::runtime_error("pdf: FreeType init failed");
  FT_Face ft = nullptr;
  if (FT_New_Memory_Face(library, reinterpret_cast<const FT_Byte*>(face->file_bytes.data()),
                         static_cast<FT_Long>(face->file_bytes.size()), 0, &ft) != 0) {
    FT_Done_FreeType(library);
    throw std::runtime_error("pdf: not a usable font file: " + path);
  }
  face->units_per_em = ft->units_per_EM;
  face->ascender = ft->ascender;
  face->descender = ft->descender;
  face->bbox = {static_cast<int>(ft->bbox.xMin), static_cast<int>(ft->bbox.yMin),
                static_cast<int>(ft->bbox.xMax), static_cast<int>(ft->bbox.yMax)};
  face->fixed_pitch = FT_IS_FIXED_WIDTH(ft);
  face->cap_height = face->ascender;
  if (auto* os2 = static_cast<TT_OS2*>(FT_Get_Sfnt_Table(ft, FT_SFNT_OS2));
      os2 != nullptr && os2->version >= 2) {
    face->cap_height = os2->sCapHeight;
  }
  if (auto* post = static_cast<TT_Postscript*>(FT_Get_Sfnt_Table(ft, FT_SFNT_POST))) {
    face->italic_angle = static_cast<double>(post->italicAngle) / 65536.0;
  }
  const char* ps_name = FT_Get_Postscript_Name(ft);
  face->postscript_name = ps_name != nullptr ? ps_name : "DejaVu";
  FT_Done_Face(ft);
  FT_Done_FreeType(library);

  hb_blob_t* blob =
      hb_blob_create(face->file_bytes.data(), static_cast<unsigned>(face->file_bytes.size()),
                     HB_MEMORY_MODE_READONLY, nullptr, nullptr);
  face->hb_face = hb_face_create(blob, 0);
  hb_blob_destroy(blob);
  hb_face_make_immutable(face->hb_face);
  face->hb_font = hb_font_create(face->hb_face);
  hb_font_set_scale(face->hb_font, face->units_per_em, face->units_per_em);
  hb_font_make_immutable(face->hb_font);
  face->subset_source = hb_subset_preprocess(face->hb_face);
  return face;
}

// Faces live for the whole process (the HarfBuzz objects point into file_bytes).
struct FaceTable {
  std::mutex mutex;
  std::array<std::unique_ptr<FontFace>, kFontStyleCount> faces;
};

FaceTable& face_table() {
  static FaceTable* table = new FaceTable();  // never destroyed: used until process exit
  return *table;
}

void append_hex4(std::string& out, unsigned value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out += kHex[(value >> 12) & 0xF];
  out += kHex[(value >> 8) & 0xF];
  out += kHex[(value >> 4) & 0xF];
  out += kHex[value & 0xF];
}

void append_utf16_hex(std::string& out, const std::u32string& text) {
  for (char32_t c : text) {
    if (c >= 0x10000) {
      const unsigned v = static_cast<unsigned>(c) - 0x10000;
      append_hex4(out, 0xD800 + (v >> 10));
      append_hex4(out, 0xDC00 + (v & 0x3FF));
    } else {
      append_hex4(out, static_cast<unsigned>(c));
    }
  }
}

std::string subset_tag(const std::vector<uint16_t>& gids, FontStyle style) {
  uint64_t hash = 1469598103934665603ULL ^ static_cast<uint64_t>(style);
  for (uint16_t gid : gids) hash = (hash ^ gid) * 1099511628211ULL;
  std::string tag;
  for (int i = 0; i < 6; ++i) {
    tag += static_cast<char>('A' + hash % 26);
    hash /= 26;
  }
  return tag;
}

std::string to_unicode_cmap(const std::vector<uint16_t>& gids,
                            const std::unordered_map<uint16_t, std::u32string>& text_of) {
  std::string cmap =
      "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
      "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
      "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
      "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n";
  std::vector<uint16_t> mapped;
  for (uint16_t gid : gids) {
    if (gid != 0 && !text_of.at(gid).empty()) mapped.push_back(gid);
  }
  for (size_t start = 0; start < mapped.size(); start += 100) {
    const size_t end = std::min(mapped.size(), start + 100);
    cmap += std::to_string(end - start) + " beginbfchar\n";
    for (size_t i = start; i < end; ++i) {
      cmap += '<';
      append_hex4(cmap, mapped[i]);
      cmap += "> <";
      append_utf16_hex(cmap, text_of.at(mapped[i]));
      cmap += ">\n";
    }
    cmap += "endbfchar\n";
  }
  cmap += "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n";
  return cmap;
}

std::string subset_font_program(const FontFace& face, const std::vector<uint16_t>& gids) {
  hb_subset_input_t* input = hb_subset_input_create_or_fail();
  if (input == nullptr) throw std::runtime_error("pdf: out of memory subsetting a font");
  hb_set_t* glyphs = hb_subset_input_glyph_set(input);
  hb_set_add(glyphs, 0);
  for (uint16_t gid : gids) hb_set_add(glyphs, gid);
  // Glyph ids stay as they are, so the PDF's CIDToGIDMap stays /Identity.
  hb_subset_input_set_flags(input, HB_SUBSET_FLAGS_RETAIN_GIDS | HB_SUBSET_FLAGS_NO_HINTING);
  // Text is already shaped: layout tables only cost bytes in the PDF.
  hb_set_t* drop = hb_subset_input_set(input, HB_SUBSET_SETS_DROP_TABLE_TAG);
  for (const char* tag : {"GSUB", "GPOS", "GDEF", "kern", "BASE", "JSTF", "MATH"}) {
    hb_set_add(drop, hb_tag_from_string(tag, 4));
  }
  hb_face_t* subset =
      hb_subset_or_fail(face.subset_source != nullptr ? face.subset_source : face.hb_face, input);
  hb_subset_input_destroy(input);
  if (subset == nullptr) throw std::runtime_error("pdf: font subsetting failed");
  hb_blob_t* blob = hb_face_reference_blob(subset);
  unsigned length = 0;
  const char* data = hb_blob_get_data(blob, &length);
  std::string bytes(data, length);
  hb_blob_destroy(blob);
  hb_face_destroy(subset);
  return bytes;
}

}  // namespace

std::string font_directory() {
  if (const char* dir = std::getenv("GENERATOR_PDF_FONT_DIR"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  return "/usr/share/fonts/truetype/dejavu";
}

const FontFace& font_face(FontStyle style) {
  FaceTable& table = face_table();
  const auto index = static_cast<size_t>(style);
  std::lock_guard lock(table.mutex);
  if (!table.faces[index])
    table.faces[index] = load_face(font_directory() + "/" + kFontFiles[index]);
  return *table.faces[index];
}

namespace {

std::atomic<std::uint64_t> next_font_set_id{1};
/// FontSets alive on this thread: the shared cache is only trimmed when none is.
thread_local int live_font_sets = 0;
/// Empty the cache past this many entries per style (a bound on memory for long-lived workers
/// rendering documents in many languages).
constexpr size_t kMaxCachedPerStyle = 20000;  // a few MB per style and thread
/// ... and past this many bytes (a bound that long words cannot dodge: a 3 MiB "word" once
/// held ~150 MB of glyph data, for good).
constexpr size_t kMaxCachedBytesPerStyle = 4 * 1024 * 1024;

/// What an entry holds in memory, roughly (the bound above needs no more).
size_t entry_bytes(std::string_view text, const ShapedText& shaped) {
  size_t bytes = 2 * sizeof(void*) * 4 + text.size() + shaped.encoded.capacity() +
                 shaped.glyphs.capacity() * sizeof(Glyph) +
                 shaped.glyph_text.capacity() * sizeof(std::u32string);
  for (const std::u32string& t : shaped.glyph_text) {
    if (t.size() > 3) bytes += t.capacity() * sizeof(char32_t);  // past the inline buffer
  }
  return bytes;
}

/// One byte of a PDF literal string, escaped where the syntax needs it.
inline void append_pdf_escaped(std::string& out, char c) {
  switch (c) {
    case '(':
      out += "\\(";
      break;
    case ')':
      out += "\\)";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\r':
      out += "\\r";
      break;
    default:
      out += c;
  }
}

/// The TJ literal-string bytes of `glyphs` (see ShapedText::encoded).
std::string encode_glyphs(const std::vector<Glyph>& glyphs) {
  std::string out;
  out.reserve(glyphs.size() * 2 + 8);
  for (const Glyph& g : glyphs) {
    append_pdf_escaped(out, static_cast<char>(g.gid >> 8));
    append_pdf_escaped(out, static_cast<char>(g.gid & 0xFF));
    // Kerning in whole thousandths of an em: finer is invisible and costs bytes.
    if (g.kern_adjust != 0) {
      out += ')';
      out += std::to_string(g.kern_adjust);
      out += '(';
    }
  }
  return out;
}

}  // namespace

const ShapedText* FontSet::Cache::find(std::string_view text, uint64_t hash) const {
  if (slots_.empty()) return nullptr;
  const size_t mask = slots_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& slot = slots_[i];
    if (slot.entry == nullptr) return nullptr;
    if (slot.hash == hash && slot.entry->text == text) return &slot.entry->shaped;
  }
}

const ShapedText& FontSet::Cache::insert(std::string_view text, uint64_t hash, ShapedText shaped) {
  if ((entries_.size() + 1) * 2 > slots_.size()) grow();
  bytes_ += entry_bytes(text, shaped);
  entries_.push_back(std::make_unique<Entry>(Entry{std::string(text), std::move(shaped)}));
  const size_t mask = slots_.size() - 1;
  size_t i = hash & mask;
  while (slots_[i].entry != nullptr) i = (i + 1) & mask;
  slots_[i] = Slot{hash, entries_.back().get()};
  return entries_.back()->shaped;
}

void FontSet::Cache::grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(std::max<size_t>(1024, old.size() * 2), Slot{});
  const size_t mask = slots_.size() - 1;
  for (const Slot& slot : old) {
    if (slot.entry == nullptr) continue;
    size_t i = slot.hash & mask;
    while (slots_[i].entry != nullptr) i = (i + 1) & mask;
    slots_[i] = slot;
  }
}

void FontSet::Cache::clear() {
  slots_.clear();
  slots_.shrink_to_fit();
  entries_.clear();
  entries_.shrink_to_fit();
  bytes_ = 0;
}

std::array<FontSet::Cache, kFontStyleCount>& FontSet::thread_cache() {
  thread_local std::array<Cache, kFontStyleCount> cache;
  return cache;
}

FontSet::FontSet()
    : cache_(thread_cache()), id_(next_font_set_id.fetch_add(1)), buffer_(hb_buffer_create()) {
  if (live_font_sets++ == 0) trim(cache_);
}

FontSet::~FontSet() {
  // Trimmed as the thread's last document ends too, so an idle worker keeps no more.
  if (--live_font_sets == 0) trim(cache_);
  hb_buffer_destroy(buffer_);
}

void FontSet::trim(std::array<Cache, kFontStyleCount>& caches) {
  for (Cache& cache : caches) {
    if (cache.size() > kMaxCachedPerStyle || cache.bytes() > kMaxCachedBytesPerStyle) {
      cache.clear();
    }
  }
}

void FontSet::record(Usage& usage, const ShapedText& shaped) {
  shaped.recorded_by = id_;
  for (size_t i = 0; i < shaped.glyphs.size(); ++i) {
    usage.gids.try_emplace(shaped.glyphs[i].gid, shaped.glyph_text[i]);
  }
}

const ShapedText& FontSet::shape(FontStyle style, std::string_view text) {
  const bool space = text.size() == 1 && text[0] == ' ';
  if (space && space_[static_cast<int>(style)] != nullptr) return *space_[static_cast<int>(style)];
  const ShapedText& shaped = lookup_or_shape(style, text);
  if (space) space_[static_cast<int>(style)] = &shaped;
  return shaped;
}

const ShapedText& FontSet::lookup_or_shape(FontStyle style, std::string_view text) {
  Usage& usage = usage_[static_cast<int>(style)];
  Cache& cache = text.size() > kMaxCachedTextBytes ? local_[static_cast<int>(style)]
                                                   : cache_[static_cast<int>(style)];
  const uint64_t hash = Cache::hash(text);
  if (const ShapedText* found = cache.find(text, hash)) {
    if (found->recorded_by != id_) record(usage, *found);
    return *found;
  }

  const FontFace& face = font_face(style);
  hb_buffer_clear_contents(buffer_);
  hb_buffer_add_utf8(buffer_, text.data(), static_cast<int>(text.size()), 0,
                     static_cast<int>(text.size()));
  hb_buffer_guess_segment_properties(buffer_);
  // No ligatures: one glyph per character keeps copy-and-paste and search exact.
  static const hb_feature_t kFeatures[] = {{HB_TAG('l', 'i', 'g', 'a'), 0, 0, ~0u},
                                           {HB_TAG('c', 'l', 'i', 'g'), 0, 0, ~0u}};
  hb_shape(face.hb_font, buffer_, kFeatures, 2);
  unsigned count = 0;
  const hb_glyph_info_t* info = hb_buffer_get_glyph_infos(buffer_, &count);
  const hb_glyph_position_t* pos = hb_buffer_get_glyph_positions(buffer_, &count);
  const float scale = 1000.0f / static_cast<float>(face.units_per_em);

  ShapedText shaped;
  shaped.glyphs.reserve(count);
  shaped.glyph_text.reserve(count);
  for (unsigned i = 0; i < count; ++i) {
    const auto gid = static_cast<uint16_t>(info[i].codepoint);
    Glyph glyph;
    glyph.gid = gid;
    glyph.advance = static_cast<float>(pos[i].x_advance) * scale;
    glyph.nominal = static_cast<float>(hb_font_get_glyph_h_advance(face.hb_font, gid)) * scale;
    glyph.kern_adjust = static_cast<int>(std::lround(glyph.nominal - glyph.advance));
    shaped.width += glyph.advance;
    shaped.glyphs.push_back(glyph);
    // The glyph's text: its cluster up to the next cluster (text is left-to-right here).
    const unsigned begin = info[i].cluster;
    unsigned end = static_cast<unsigned>(text.size());
    for (unsigned j = i + 1; j < count; ++j) {
      if (info[j].cluster != begin) {
        end = info[j].cluster > begin ? info[j].cluster : end;
        break;
      }
    }
    const bool first_of_cluster = i == 0 || info[i - 1].cluster != begin;
    shaped.glyph_text.push_back(first_of_cluster && end > begin
                                    ? decode_utf8(text.substr(begin, end - begin))
                                    : std::u32string());
  }
  shaped.encoded = encode_glyphs(shaped.glyphs);
  const ShapedText& cached = cache.insert(text, hash, std::move(shaped));
  record(usage, cached);
  return cached;
}

std::vector<uint16_t> FontSet::used_gids(FontStyle style) const {
  const Usage& usage = usage_[static_cast<int>(style)];
  std::vector<uint16_t> gids;
  gids.reserve(usage.gids.size());
  for (const auto& [gid, text] : usage.gids) gids.push_back(gid);
  std::sort(gids.begin(), gids.end());
  return gids;
}

FontSet::Program FontSet::make_program(FontStyle style, std::vector<uint16_t> gids) {
  Program program;
  program.gids = std::move(gids);
  const std::string bytes = subset_font_program(font_face(style), program.gids);
  program.size = bytes.size();
  program.deflated = deflate_bytes(bytes);
  return program;
}

QPDFObjectHandle FontSet::embed(QPDF& pdf, FontStyle style) const {
  return embed(pdf, style, make_program(style, used_gids(style)));
}

QPDFObjectHandle FontSet::embed(QPDF& pdf, FontStyle style, Program program) const {
  const Usage& usage = usage_[static_cast<int>(style)];
  const FontFace& face = font_face(style);
  const std::vector<uint16_t>& gids = program.gids;

  const double scale = 1000.0 / face.units_per_em;
  const std::string base_font = subset_tag(gids, style) + "+" + face.postscript_name;

  QPDFObjectHandle font_file = new_deflated_stream(pdf, std::move(program.deflated));
  font_file.getDict().replaceKey(
      "/Length1", QPDFObjectHandle::newInteger(static_cast<long long>(program.size)));

  auto scaled = [scale](double v) { return QPDFObjectHandle::newInteger(std::llround(v * scale)); };
  int flags = 32;  // nonsymbolic
  if (face.fixed_pitch) flags |= 1;
  if (face.italic_angle != 0) flags |= 64;
  QPDFObjectHandle descriptor = QPDFObjectHandle::newDictionary();
  descriptor.replaceKey("/Type", QPDFObjectHandle::newName("/FontDescriptor"));
  descriptor.replaceKey("/FontName", QPDFObjectHandle::newName("/" + base_font));
  descriptor.replaceKey("/Flags", QPDFObjectHandle::newInteger(flags));
  descriptor.replaceKey("/FontBBox", QPDFObjectHandle::newArray(std::vector<QPDFObjectHandle>{
                                         scaled(face.bbox[0]), scaled(face.bbox[1]),
                                         scaled(face.bbox[2]), scaled(face.bbox[3])}));
  descriptor.replaceKey("/ItalicAngle", QPDFObjectHandle::newReal(face.italic_angle, 2));
  descriptor.replaceKey("/Ascent", scaled(face.ascender));
  descriptor.replaceKey("/Descent", scaled(face.descender));
  descriptor.replaceKey("/CapHeight", scaled(face.cap_height));
  descriptor.replaceKey(
      "/StemV", QPDFObjectHandle::newInteger(
                    style == FontStyle::kBold || style == FontStyle::kBoldItalic ? 140 : 80));
  descriptor.replaceKey("/FontFile2", font_file);

  // /W: runs of consecutive glyph ids, each `first [w1 w2 ...]`.
  QPDFObjectHandle widths = QPDFObjectHandle::newArray();
  const hb_font_t* hb_font = face.hb_font;
  for (size_t i = 0; i < gids.size();) {
    size_t j = i;
    QPDFObjectHandle run = QPDFObjectHandle::newArray();
    do {
      const double advance =
          hb_font_get_glyph_h_advance(const_cast<hb_font_t*>(hb_font), gids[j]) * scale;
      run.appendItem(QPDFObjectHandle::newInteger(std::llround(advance)));
      ++j;
    } while (j < gids.size() && gids[j] == gids[j - 1] + 1);
    widths.appendItem(QPDFObjectHandle::newInteger(gids[i]));
    widths.appendItem(run);
    i = j;
  }

  QPDFObjectHandle system_info = QPDFObjectHandle::newDictionary();
  system_info.replaceKey("/Registry", QPDFObjectHandle::newString("Adobe"));
  system_info.replaceKey("/Ordering", QPDFObjectHandle::newString("Identity"));
  system_info.replaceKey("/Supplement", QPDFObjectHandle::newInteger(0));

  QPDFObjectHandle cid_font = QPDFObjectHandle::newDictionary();
  cid_font.replaceKey("/Type", QPDFObjectHandle::newName("/Font"));
  cid_font.replaceKey("/Subtype", QPDFObjectHandle::newName("/CIDFontType2"));
  cid_font.replaceKey("/BaseFont", QPDFObjectHandle::newName("/" + base_font));
  cid_font.replaceKey("/CIDSystemInfo", system_info);
  cid_font.replaceKey("/FontDescriptor", pdf.makeIndirectObject(descriptor));
  cid_font.replaceKey("/W", widths);
  cid_font.replaceKey("/CIDToGIDMap", QPDFObjectHandle::newName("/Identity"));

  QPDFObjectHandle to_unicode = new_flate_stream(pdf, to_unicode_cmap(gids, usage.gids));

  QPDFObjectHandle type0 = QPDFObjectHandle::newDictionary();
  type0.replaceKey("/Type", QPDFObjectHandle::newName("/Font"));
  type0.replaceKey("/Subtype", QPDFObjectHandle::newName("/Type0"));
  type0.replaceKey("/BaseFont", QPDFObjectHandle::newName("/" + base_font));
  type0.replaceKey("/Encoding", QPDFObjectHandle::newName("/Identity-H"));
  type0.replaceKey(
      "/DescendantFonts",
      QPDFObjectHandle::newArray(std::vector<QPDFObjectHandle>{pdf.makeIndirectObject(cid_font)}));
  type0.replaceKey("/ToUnicode", to_unicode);
  return pdf.makeIndirectObject(type0);
}

std::u32string decode_utf8(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    int extra = 0;
    char32_t cp = 0;
    if (c < 0x80) {
      cp = c;
    } else if ((c & 0xE0) == 0xC0) {
      cp = c & 0x1F;
      extra = 1;
    } else if ((c & 0xF0) == 0xE0) {
      cp = c & 0x0F;
      extra = 2;
    } else if ((c & 0xF8) == 0xF0) {
      cp = c & 0x07;
      extra = 3;
    } else {
      out += U'\uFFFD';
      ++i;
      continue;
    }
    if (i + static_cast<size_t>(extra) >= text.size()) {  // truncated sequence
      out += U'\uFFFD';
      break;
    }
    bool valid = true;
    for (int k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) {
        valid = false;
        break;
      }
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (!valid) {
      out += U'\uFFFD';
      ++i;
      continue;
    }
    out += cp;
    i += static_cast<size_t>(extra) + 1;
  }
  return out;
}

void append_pdf_literal(std::string& out, std::string_view bytes) {
  out += '(';
  for (char c : bytes) append_pdf_escaped(out, c);
  out += ')';
}

}  // namespace gen::pdf
