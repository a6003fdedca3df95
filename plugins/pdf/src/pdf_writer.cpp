#include "pdf_writer.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

#include <qpdf/QPDF.hh>
#include <qpdf/QPDFObjectHandle.hh>
#include <qpdf/QPDFPageDocumentHelper.hh>
#include <qpdf/QPDFPageObjectHelper.hh>
#include <qpdf/QPDFWriter.hh>

#include "content_stream.hpp"
#include "flate.hpp"

namespace gen::pdf {
namespace {

// ---------------------------------------------------------------------------------------
// Header and footer

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

}  // namespace

void draw_headers_and_footers(Document& doc, FontSet& fonts, const RenderOptions& options) {
  const int pages = static_cast<int>(doc.pages.size());
  const double footer_size = std::max(6.0, options.font_size * 0.8);
  for (int i = 0; i < pages; ++i) {
    PageOut& page = doc.pages[i];
    const double center = (options.margin_left + options.page_width - options.margin_right) / 2;
    draw_centered(page, fonts, expand_template(options.header, i + 1, pages), center,
                  options.page_height - options.margin_top / 2 - footer_size / 3, footer_size);
    draw_centered(page, fonts, expand_template(options.footer, i + 1, pages), center,
                  options.margin_bottom / 2 - footer_size / 3, footer_size);
  }
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

}  // namespace gen::pdf
