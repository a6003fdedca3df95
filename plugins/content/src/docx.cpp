// DOCX (Office Open XML, transitional or strict): word/document.xml, with word/styles.xml to
// know which paragraphs are headings and docProps/core.xml for the title.
//
// A paragraph is a heading of level N when, first match wins:
//  * its own w:pPr/w:outlineLvl is N-1 (0-8; 9 makes it body text whatever its style);
//  * its style (w:pStyle, followed through w:basedOn) is named "heading N" or has the id
//    "HeadingN" (Word writes the English name even in localised documents, whose ids differ);
//  * its style, or one it is based on, has w:outlineLvl N-1.
// A paragraph styled "Title" is a heading above level 1 (level 0). Text: w:t as is, w:tab
// "\t", w:br and w:cr "\n", w:noBreakHyphen "-"; deleted text (w:del), field instructions and
// mc:Fallback copies are skipped. Paragraphs are separated by "\n\n"; a table is one line per
// row, cells joined by " | ", a cell's paragraphs by " ". Content controls (w:sdt) and text
// boxes are read in document order. Headers, footers, footnotes and comments are not read.
// word/document.xml is streamed (any size up to Limits::max_docx_body_bytes, memory bounded
// by its largest paragraph or table); the small parts are read into trees.
//
// Title: docProps/core.xml dc:title, else the first Title-styled paragraph, else none.
#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <string>
#include <vector>

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

/// Reads word/document.xml as a stream of elements (xml.hpp's stream_xml): its memory is
/// the current paragraph and table, whatever the size of the part.
class BodyReader final : public XmlHandler {
 public:
  BodyReader(Job& job, const StyleTable& styles) : job_(job), styles_(styles), sections_(job) {}

  SectionBuilder& sections() { return sections_; }
  const std::optional<std::string>& first_title() const { return first_title_; }

  void start(std::string_view name, const XmlAttributes& attributes) override {
    if (++elements_ % 4096 == 0) job_.poll();
    open_.emplace_back(name);
    // After the emplace: a view taken before it would dangle when the vector grows.
    const std::string_view parent =
        open_.size() >= 2 ? std::string_view(open_[open_.size() - 2]) : std::string_view();
    if (skipping_ > 0 || name == "del" || name == "instrText" || name == "delText" ||
        name == "Fallback") {
      ++skipping_;
      return;
    }
    if (name == "p") {
      if (paragraph_depth_++ == 0) {
        text_.clear();
        style_.clear();
        outline_.reset();
      } else if (!text_.empty()) {
        text_ += ' ';  // a paragraph in a text box inside this one
      }
    } else if (name == "pStyle" && parent == "pPr" && paragraph_depth_ == 1) {
      style_ = attributes.value("val");
    } else if (name == "outlineLvl" && parent == "pPr" && paragraph_depth_ == 1) {
      const std::string value = attributes.value("val");
      if (value.size() == 1 && value[0] >= '0' && value[0] <= '9') outline_ = value[0] - '0';
    } else if (name == "t") {
      in_text_ = true;
    } else if (parent == "r" && name == "tab") {
      text_ += '\t';
    } else if (parent == "r" && (name == "br" || name == "cr")) {
      text_ += '\n';
    } else if (parent == "r" && name == "noBreakHyphen") {
      text_ += '-';
    } else if (name == "tbl") {
      tables_.emplace_back();
    } else if (name == "tr" && !tables_.empty()) {
      tables_.back().row.clear();
      tables_.back().cells = 0;
    } else if (name == "tc" && !tables_.empty()) {
      tables_.back().cell.clear();
    }
  }

  void end(std::string_view name) override {
    if (!open_.empty()) open_.pop_back();
    if (skipping_ > 0) {
      --skipping_;
      return;
    }
    if (name == "t") {
      in_text_ = false;
    } else if (name == "p" && paragraph_depth_ > 0 && --paragraph_depth_ == 0) {
      end_paragraph();
    } else if (name == "tc" && !tables_.empty()) {
      Table& table = tables_.back();
      if (table.cells++ > 0) table.row += " | ";
      table.row += trim(table.cell);
    } else if (name == "tr" && !tables_.empty()) {
      Table& table = tables_.back();
      if (!table.text.empty()) table.text += '\n';
      table.text += table.row;
      // Counted when the table ends; this only stops one that grows past the whole budget.
      if (table.text.size() > job_.limits().max_text_bytes) job_.count_text(table.text.size());
    } else if (name == "tbl" && !tables_.empty()) {
      std::string text = std::move(tables_.back().text);
      tables_.pop_back();
      if (tables_.empty()) {
        sections_.paragraph(text);
      } else {
        add_to_cell(text);  // a nested table is text of its cell
      }
    }
  }

  void text(std::string_view characters) override {
    if (!in_text_ || skipping_ > 0 || paragraph_depth_ == 0) return;
    text_ += characters;
    if (text_.size() > job_.limits().max_text_bytes) job_.count_text(text_.size());
  }

 private:
  struct Table {
    std::string text;  // finished rows
    std::string row;
    std::string cell;
    int cells = 0;
  };

  void add_to_cell(std::string_view text) {
    text = trim(text);
    if (text.empty()) return;
    std::string& cell = tables_.back().cell;
    if (!cell.empty()) cell += ' ';
    cell += text;
  }

  void end_paragraph() {
    if (!tables_.empty()) {
      add_to_cell(text_);
      return;
    }
    std::optional<int> level;
    if (outline_) {
      if (*outline_ <= 8) level = *outline_ + 1;  // 9: body text, whatever the style says
    } else if (!style_.empty()) {
      level = styles_.level(style_);
    }
    if (level) {
      std::string title(trim(text_));
      if (*level == 0 && !first_title_ && !title.empty()) first_title_ = title;
      sections_.heading(*level, std::move(title));
    } else {
      sections_.paragraph(text_);
    }
  }

  Job& job_;
  const StyleTable& styles_;
  SectionBuilder sections_;
  std::optional<std::string> first_title_;
  std::vector<std::string> open_;  // local names of the open elements (libxml2: <= 256 deep)
  std::vector<Table> tables_;      // open tables, innermost last
  std::string text_;               // the paragraph being read
  std::string style_;
  std::optional<int> outline_;
  int paragraph_depth_ = 0;
  int skipping_ = 0;
  bool in_text_ = false;
  std::size_t elements_ = 0;
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
  BodyReader reader(job, styles);
  stream_xml(job, zip.read(*name, job.limits().max_docx_body_bytes), *name, reader);

  Extraction result;
  result.format = "docx";
  result.title = core_title ? core_title : reader.first_title();
  result.segments = reader.sections().finish();
  return result;
}

}  // namespace gen::content
