// DOCX (Office Open XML, transitional or strict): word/document.xml, with word/styles.xml to
// know which paragraphs are headings and docProps/core.xml for the title.
//
// A paragraph is a heading of level N when, first match wins:
//  * its own w:pPr/w:outlineLvl is N-1 (0-8; 9 means body text);
//  * its style (w:pStyle, followed through w:basedOn) is named "heading N" or has the id
//    "HeadingN" (Word writes the English name even in localised documents, whose ids differ);
//  * its style, or one it is based on, has w:outlineLvl N-1.
// A paragraph styled "Title" is a heading above level 1 (level 0). Text: w:t as is, w:tab
// "\t", w:br and w:cr "\n", w:noBreakHyphen "-"; deleted text (w:del), field instructions and
// mc:Fallback copies are skipped. Paragraphs are separated by "\n\n"; a table is one line per
// row, cells joined by " | ", a cell's paragraphs by " ". Content controls (w:sdt) and text
// boxes are read in document order. Headers, footers, footnotes and comments are not read.
//
// Title: docProps/core.xml dc:title, else the first Title-styled paragraph, else none.
#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <string>

#include <libxml/tree.h>

#include "sources.hpp"
#include "xml.hpp"
#include "zip.hpp"

namespace gen::content {

namespace {

struct Style {
  std::string name;  // lowercase
  std::string based_on;
  std::optional<int> outline_level;  // 0-8
};

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::optional<int> outline_level(const XmlNode* ppr) {
  if (ppr == nullptr) return std::nullopt;
  const XmlNode* level = child(ppr, "outlineLvl");
  if (level == nullptr) return std::nullopt;
  const std::string value = attribute(level, "val");
  if (value.size() != 1 || value[0] < '0' || value[0] > '9') return std::nullopt;
  return value[0] - '0';
}

/// The heading level a style name or id gives: 0 for Title, N for "heading N" / "HeadingN".
std::optional<int> level_from_name(const std::string& lower) {
  if (lower == "title") return 0;
  for (std::string_view prefix : {"heading ", "heading"}) {
    if (lower.size() == prefix.size() + 1 && lower.starts_with(prefix)) {
      const char digit = lower.back();
      if (digit >= '1' && digit <= '9') return digit - '0';
    }
  }
  return std::nullopt;
}

class StyleTable {
 public:
  void add(const XmlNode* style) {
    if (attribute(style, "type") != "paragraph") return;
    Style entry;
    if (const XmlNode* name = child(style, "name")) entry.name = lowercase(attribute(name, "val"));
    if (const XmlNode* based = child(style, "basedOn")) entry.based_on = attribute(based, "val");
    entry.outline_level = outline_level(child(style, "pPr"));
    styles_[attribute(style, "styleId")] = std::move(entry);
  }

  /// The heading level of paragraphs of style `id` (see the file comment), or nullopt.
  std::optional<int> level(const std::string& id) const {
    if (auto by_id = level_from_name(lowercase(id))) return by_id;
    auto it = styles_.find(id);
    if (it == styles_.end()) return std::nullopt;
    if (auto by_name = level_from_name(it->second.name)) return by_name;
    // w:outlineLvl, inherited through basedOn (a chain of at most 16: loops exist in the wild).
    std::string current = id;
    for (int hops = 0; hops < 16; ++hops) {
      auto style = styles_.find(current);
      if (style == styles_.end()) break;
      if (style->second.outline_level) {
        const int level = *style->second.outline_level;
        return level <= 8 ? std::optional<int>(level + 1) : std::nullopt;
      }
      current = style->second.based_on;
    }
    return std::nullopt;
  }

 private:
  std::map<std::string, Style, std::less<>> styles_;
};

class DocxReader {
 public:
  DocxReader(Job& job, const StyleTable& styles) : job_(job), styles_(styles), sections_(job) {}

  void body(const XmlNode* body) {
    for (const XmlNode* node = body->children; node != nullptr; node = node->next) block(node);
  }

  SectionBuilder& sections() { return sections_; }
  const std::optional<std::string>& first_title() const { return first_title_; }

 private:
  void block(const XmlNode* node) {
    if (node->type != XML_ELEMENT_NODE) return;
    if (++blocks_ % 256 == 0) job_.poll();
    if (is_element(node, "p")) {
      paragraph(node);
    } else if (is_element(node, "tbl")) {
      sections_.paragraph(table(node));
    } else if (is_element(node, "sdt")) {  // a content control around blocks
      if (const XmlNode* content = child(node, "sdtContent")) {
        for (const XmlNode* c = content->children; c != nullptr; c = c->next) block(c);
      }
    }
  }

  void paragraph(const XmlNode* p) {
    std::string text;
    runs(p, text);
    const XmlNode* ppr = child(p, "pPr");
    std::optional<int> level;
    if (auto own = outline_level(ppr); own && *own <= 8) level = *own + 1;
    if (!level && ppr != nullptr) {
      if (const XmlNode* style = child(ppr, "pStyle"))
        level = styles_.level(attribute(style, "val"));
    }
    if (level) {
      std::string title(trim(text));
      if (*level == 0 && !first_title_ && !title.empty()) first_title_ = title;
      sections_.heading(*level, std::move(title));
    } else {
      sections_.paragraph(text);
    }
  }

  std::string table(const XmlNode* tbl) {
    std::string out;
    for (const XmlNode* row : children(tbl, "tr")) {
      std::string line;
      bool first = true;
      for (const XmlNode* cell : children(row, "tc")) {
        std::string cell_text;
        for (const XmlNode* c = cell->children; c != nullptr; c = c->next) {
          std::string part;
          if (is_element(c, "p")) {
            runs(c, part);
          } else if (is_element(c, "tbl")) {
            part = table(c);  // nested: depth bounded by libxml2's 256 levels
          }
          std::string_view trimmed = trim(part);
          if (trimmed.empty()) continue;
          if (!cell_text.empty()) cell_text += ' ';
          cell_text += trimmed;
        }
        if (!first) line += " | ";
        first = false;
        line += cell_text;
      }
      if (!out.empty()) out += '\n';
      out += line;
    }
    return out;
  }

  /// Appends the text of the runs under `node` (depth-first, document order).
  void runs(const XmlNode* node, std::string& out) {
    for (const XmlNode* c = node->children; c != nullptr; c = c->next) {
      if (c->type != XML_ELEMENT_NODE) continue;
      if (is_element(c, "t")) {
        out += text_of(c);
      } else if (is_element(c, "tab")) {
        if (!is_element(node, "tabs")) out += '\t';
      } else if (is_element(c, "br") || is_element(c, "cr")) {
        out += '\n';
      } else if (is_element(c, "noBreakHyphen")) {
        out += '-';
      } else if (is_element(c, "p")) {  // a paragraph in a text box inside this one
        if (!out.empty()) out += ' ';
        runs(c, out);
      } else if (is_element(c, "del") || is_element(c, "instrText") || is_element(c, "Fallback") ||
                 is_element(c, "pPr") || is_element(c, "rPr")) {
        continue;
      } else {
        runs(c, out);  // runs, hyperlinks, insertions, fields, smart tags, content controls
      }
    }
  }

  Job& job_;
  const StyleTable& styles_;
  SectionBuilder sections_;
  std::optional<std::string> first_title_;
  std::size_t blocks_ = 0;
};

}  // namespace

Extraction extract_docx(Job& job, ZipArchive& zip) {
  const std::size_t max_part = job.limits().max_xml_part_bytes;
  StyleTable styles;
  if (auto name = zip.find("word/styles.xml")) {
    XmlDocument doc = parse_xml(job, zip.read(*name, max_part), *name);
    for (const XmlNode* style : children(doc.root(), "style")) styles.add(style);
  }

  std::optional<std::string> core_title;
  if (auto name = zip.find("docProps/core.xml")) {
    XmlDocument doc = parse_xml(job, zip.read(*name, max_part), *name);
    if (const XmlNode* title = child(doc.root(), "title")) {
      std::string text(trim(text_of(title)));
      if (!text.empty()) core_title = std::move(text);
    }
  }

  const std::optional<std::string> name = zip.find("word/document.xml");
  if (!name) job.fail("not a DOCX file: the zip has no word/document.xml");
  XmlDocument doc = parse_xml(job, zip.read(*name, max_part), *name);
  const XmlNode* body = child(doc.root(), "body");
  if (!is_element(doc.root(), "document") || body == nullptr) {
    job.fail(*name + " is not a WordprocessingML document (no w:document/w:body)");
  }
  DocxReader reader(job, styles);
  reader.body(body);

  Extraction result;
  result.format = "docx";
  result.title = core_title ? core_title : reader.first_title();
  result.segments = reader.sections().finish();
  return result;
}

}  // namespace gen::content
