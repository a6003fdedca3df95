#include "text_extraction.hpp"

#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <qpdf/QPDFObjectHandle.hh>
#include <qpdf/QPDFPageObjectHelper.hh>

namespace gen::pdf {
namespace {

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

/// UTF-16BE bytes (a ToUnicode destination) to UTF-8.
std::string utf16be_to_utf8(const std::string& bytes) {
  std::string out;
  for (size_t i = 0; i + 1 < bytes.size(); i += 2) {
    char32_t unit =
        (static_cast<unsigned char>(bytes[i]) << 8) | static_cast<unsigned char>(bytes[i + 1]);
    if (unit >= 0xD800 && unit < 0xDC00 && i + 3 < bytes.size()) {
      const char32_t low = (static_cast<unsigned char>(bytes[i + 2]) << 8) |
                           static_cast<unsigned char>(bytes[i + 3]);
      unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
      i += 2;
    }
    append_utf8(out, unit);
  }
  return out;
}

// Windows-1252 for 0x80-0x9F (WinAnsiEncoding); other bytes map to the same code point.
constexpr char16_t kWinAnsi80[32] = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};

char32_t glyph_name_to_unicode(const std::string& name) {
  static const std::map<std::string, char32_t> kNames = {{"space", ' '},
                                                         {"exclam", '!'},
                                                         {"quotedbl", '"'},
                                                         {"numbersign", '#'},
                                                         {"dollar", '$'},
                                                         {"percent", '%'},
                                                         {"ampersand", '&'},
                                                         {"quotesingle", '\''},
                                                         {"quoteright", 0x2019},
                                                         {"quoteleft", 0x2018},
                                                         {"parenleft", '('},
                                                         {"parenright", ')'},
                                                         {"asterisk", '*'},
                                                         {"plus", '+'},
                                                         {"comma", ','},
                                                         {"hyphen", '-'},
                                                         {"period", '.'},
                                                         {"slash", '/'},
                                                         {"zero", '0'},
                                                         {"one", '1'},
                                                         {"two", '2'},
                                                         {"three", '3'},
                                                         {"four", '4'},
                                                         {"five", '5'},
                                                         {"six", '6'},
                                                         {"seven", '7'},
                                                         {"eight", '8'},
                                                         {"nine", '9'},
                                                         {"colon", ':'},
                                                         {"semicolon", ';'},
                                                         {"less", '<'},
                                                         {"equal", '='},
                                                         {"greater", '>'},
                                                         {"question", '?'},
                                                         {"at", '@'},
                                                         {"bracketleft", '['},
                                                         {"backslash", '\\'},
                                                         {"bracketright", ']'},
                                                         {"underscore", '_'},
                                                         {"braceleft", '{'},
                                                         {"bar", '|'},
                                                         {"braceright", '}'},
                                                         {"endash", 0x2013},
                                                         {"emdash", 0x2014},
                                                         {"bullet", 0x2022},
                                                         {"fi", 0xFB01},
                                                         {"fl", 0xFB02},
                                                         {"quotedblleft", 0x201C},
                                                         {"quotedblright", 0x201D},
                                                         {"ellipsis", 0x2026},
                                                         {"Euro", 0x20AC}};
  if (name.size() == 1 && std::isalpha(static_cast<unsigned char>(name[0]))) return name[0];
  if (name.size() == 7 && name.rfind("uni", 0) == 0) {
    return static_cast<char32_t>(std::stoul(name.substr(3), nullptr, 16));
  }
  auto it = kNames.find(name);
  return it != kNames.end() ? it->second : 0;
}

/// How one font turns string bytes into text and advances.
class FontDecoder {
 public:
  explicit FontDecoder(QPDFObjectHandle font) {
    if (!font.isDictionary()) return;
    const std::string subtype =
        font.getKey("/Subtype").isName() ? font.getKey("/Subtype").getName() : "";
    composite_ = subtype == "/Type0";
    code_bytes_ = composite_ ? 2 : 1;
    if (font.getKey("/ToUnicode").isStream()) read_to_unicode(font.getKey("/ToUnicode"));
    if (composite_) {
      QPDFObjectHandle descendants = font.getKey("/DescendantFonts");
      if (descendants.isArray() && descendants.getArrayNItems() > 0) {
        QPDFObjectHandle cid_font = descendants.getArrayItem(0);
        if (cid_font.getKey("/DW").isNumber())
          default_width_ = cid_font.getKey("/DW").getNumericValue();
        read_w_array(cid_font.getKey("/W"));
      }
    } else {
      read_simple_encoding(font.getKey("/Encoding"));
      QPDFObjectHandle widths = font.getKey("/Widths");
      const int first = font.getKey("/FirstChar").isInteger()
                            ? static_cast<int>(font.getKey("/FirstChar").getIntValue())
                            : 0;
      if (widths.isArray()) {
        for (int i = 0; i < widths.getArrayNItems(); ++i) {
          if (widths.getArrayItem(i).isNumber())
            widths_[static_cast<unsigned>(first + i)] = widths.getArrayItem(i).getNumericValue();
        }
      }
      default_width_ = 500;
    }
  }

  /// Appends the text of `bytes`; returns the advance in thousandths of the font size.
  double decode(const std::string& bytes, std::string& out) const {
    double advance = 0;
    for (size_t i = 0; i + code_bytes_ <= bytes.size(); i += code_bytes_) {
      unsigned code = static_cast<unsigned char>(bytes[i]);
      if (code_bytes_ == 2) code = (code << 8) | static_cast<unsigned char>(bytes[i + 1]);
      auto mapped = to_unicode_.find(code);
      if (mapped != to_unicode_.end()) {
        out += mapped->second;
      } else if (!composite_) {
        append_utf8(out, simple_map_[code & 0xFF]);
      }
      auto width = widths_.find(code);
      advance += width != widths_.end() ? width->second : default_width_;
    }
    return advance;
  }

 private:
  void read_to_unicode(QPDFObjectHandle stream) {
    std::shared_ptr<Buffer> data;
    try {
      data = stream.getStreamData(qpdf_dl_generalized);
    } catch (const std::exception&) {
      return;
    }
    const std::string cmap(reinterpret_cast<const char*>(data->getBuffer()), data->getSize());
    // Tokens: hex strings <...>, arrays [ ... ], and keywords.
    std::vector<std::string> tokens;
    for (size_t i = 0; i < cmap.size();) {
      const char c = cmap[i];
      if (c == '<' && i + 1 < cmap.size() && cmap[i + 1] != '<') {
        const size_t end = cmap.find('>', i);
        if (end == std::string::npos) break;
        tokens.push_back(cmap.substr(i, end - i + 1));
        i = end + 1;
      } else if (c == '[' || c == ']') {
        tokens.emplace_back(1, c);
        ++i;
      } else if (std::isspace(static_cast<unsigned char>(c))) {
        ++i;
      } else {
        size_t end = i;
        while (end < cmap.size() && !std::isspace(static_cast<unsigned char>(cmap[end])) &&
               cmap[end] != '<' && cmap[end] != '[' && cmap[end] != ']') {
          ++end;
        }
        if (end == i) end = i + 1;
        tokens.push_back(cmap.substr(i, end - i));
        i = end;
      }
    }
    auto hex = [](const std::string& token) {
      std::string bytes;
      std::string digits;
      for (char c : token) {
        if (std::isxdigit(static_cast<unsigned char>(c))) digits += c;
      }
      if (digits.size() % 2 != 0) digits += '0';
      for (size_t k = 0; k < digits.size(); k += 2) {
        bytes += static_cast<char>(std::stoi(digits.substr(k, 2), nullptr, 16));
      }
      return bytes;
    };
    auto code_of = [](const std::string& bytes) {
      unsigned code = 0;
      for (unsigned char b : bytes) code = (code << 8) | b;
      return code;
    };
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (tokens[i] == "begincodespacerange" && i + 1 < tokens.size() && tokens[i + 1][0] == '<') {
        code_bytes_ = std::max<size_t>(1, hex(tokens[i + 1]).size());
      } else if (tokens[i] == "beginbfchar") {
        for (++i; i + 1 < tokens.size() && tokens[i] != "endbfchar"; i += 2) {
          to_unicode_[code_of(hex(tokens[i]))] = utf16be_to_utf8(hex(tokens[i + 1]));
        }
      } else if (tokens[i] == "beginbfrange") {
        for (++i; i + 2 < tokens.size() && tokens[i] != "endbfrange";) {
          const unsigned lo = code_of(hex(tokens[i]));
          const unsigned hi = code_of(hex(tokens[i + 1]));
          if (hi < lo || hi - lo > 65535) break;
          if (tokens[i + 2] == "[") {
            size_t k = i + 3;
            for (unsigned code = lo; code <= hi && k < tokens.size() && tokens[k] != "]";
                 ++code, ++k) {
              to_unicode_[code] = utf16be_to_utf8(hex(tokens[k]));
            }
            while (k < tokens.size() && tokens[k] != "]") ++k;
            i = k + 1;
          } else {
            std::string dest = hex(tokens[i + 2]);
            for (unsigned code = lo; code <= hi; ++code) {
              to_unicode_[code] = utf16be_to_utf8(dest);
              if (!dest.empty()) ++dest.back();  // next code, next character
            }
            i += 3;
          }
        }
      }
    }
  }

  void read_w_array(QPDFObjectHandle w) {
    if (!w.isArray()) return;
    const int n = w.getArrayNItems();
    for (int i = 0; i < n;) {
      QPDFObjectHandle first = w.getArrayItem(i);
      if (!first.isInteger() || i + 1 >= n) break;
      const auto start = static_cast<unsigned>(first.getIntValue());
      QPDFObjectHandle next = w.getArrayItem(i + 1);
      if (next.isArray()) {
        for (int k = 0; k < next.getArrayNItems(); ++k) {
          if (next.getArrayItem(k).isNumber())
            widths_[start + static_cast<unsigned>(k)] = next.getArrayItem(k).getNumericValue();
        }
        i += 2;
      } else if (i + 2 < n && next.isInteger() && w.getArrayItem(i + 2).isNumber()) {
        const auto last = static_cast<unsigned>(next.getIntValue());
        const double width = w.getArrayItem(i + 2).getNumericValue();
        for (unsigned code = start; code <= last && code - start < 65536; ++code)
          widths_[code] = width;
        i += 3;
      } else {
        break;
      }
    }
  }

  void read_simple_encoding(QPDFObjectHandle encoding) {
    for (unsigned c = 0; c < 256; ++c) simple_map_[c] = c;
    for (unsigned c = 0x80; c < 0xA0; ++c) simple_map_[c] = kWinAnsi80[c - 0x80];
    QPDFObjectHandle differences;
    if (encoding.isDictionary()) differences = encoding.getKey("/Differences");
    if (differences.isArray()) {
      unsigned code = 0;
      for (int i = 0; i < differences.getArrayNItems(); ++i) {
        QPDFObjectHandle item = differences.getArrayItem(i);
        if (item.isInteger()) {
          code = static_cast<unsigned>(item.getIntValue());
        } else if (item.isName() && code < 256) {
          const char32_t cp = glyph_name_to_unicode(item.getName().substr(1));
          if (cp != 0) simple_map_[code] = cp;
          ++code;
        }
      }
    }
  }

  bool composite_ = false;
  size_t code_bytes_ = 1;
  double default_width_ = 1000;
  std::unordered_map<unsigned, std::string> to_unicode_;
  std::unordered_map<unsigned, double> widths_;
  char32_t simple_map_[256] = {};
};

/// Walks a content stream, keeping just enough text state to place spaces and line breaks.
class TextCollector final : public QPDFObjectHandle::ParserCallbacks {
 public:
  TextCollector(QPDFObjectHandle resources, std::string& out, int depth)
      : resources_(std::move(resources)), out_(out), depth_(depth) {}

  void handleObject(QPDFObjectHandle object) override {
    if (!object.isOperator()) {
      operands_.push_back(object);
      return;
    }
    const std::string op = object.getOperatorValue();
    operator_(op);
    operands_.clear();
  }
  void handleEOF() override {}

 private:
  double number(size_t index) {
    return index < operands_.size() && operands_[index].isNumber()
               ? operands_[index].getNumericValue()
               : 0;
  }

  void operator_(const std::string& op) {
    if (op == "BT") {
      a_ = d_ = 1;
      e_ = f_ = line_e_ = line_f_ = 0;
    } else if (op == "Tf" && operands_.size() >= 2) {
      size_ = number(1);
      font_ = decoder(operands_[0].isName() ? operands_[0].getName() : "");
    } else if (op == "Tm" && operands_.size() >= 6) {
      a_ = number(0);
      d_ = number(3);
      move_to(number(4), number(5));
    } else if ((op == "Td" || op == "TD") && operands_.size() >= 2) {
      if (op == "TD") leading_ = -number(1);
      move_to(line_e_ + number(0) * a_, line_f_ + number(1) * d_);
    } else if (op == "TL") {
      leading_ = number(0);
    } else if (op == "T*") {
      move_to(line_e_, line_f_ - leading_ * d_);
    } else if (op == "Tj" && !operands_.empty()) {
      show(operands_[0]);
    } else if (op == "'" && !operands_.empty()) {
      move_to(line_e_, line_f_ - leading_ * d_);
      show(operands_.back());
    } else if (op == "\"" && operands_.size() >= 3) {
      move_to(line_e_, line_f_ - leading_ * d_);
      show(operands_[2]);
    } else if (op == "TJ" && !operands_.empty() && operands_[0].isArray()) {
      for (QPDFObjectHandle item : operands_[0].getArrayAsVector()) {
        if (item.isString()) {
          show(item);
        } else if (item.isNumber()) {
          const double shift = -item.getNumericValue() / 1000.0 * size_ * a_;
          if (shift > 0.25 * std::abs(size_ * a_)) space();
          e_ += shift;
        }
      }
    } else if (op == "Do" && !operands_.empty() && operands_[0].isName() && depth_ < 8) {
      form(operands_[0].getName());
    }
  }

  void move_to(double e, double f) {
    const double em = std::abs(size_ * (d_ != 0 ? d_ : 1));
    if (shown_) {
      if (std::abs(f - f_) > 0.5 * em) {
        newline();
      } else if (e - e_ > 0.25 * em) {
        space();
      }
    }
    e_ = line_e_ = e;
    f_ = line_f_ = f;
  }

  void show(QPDFObjectHandle string) {
    if (!string.isString() || font_ == nullptr) return;
    const double advance = font_->decode(string.getStringValue(), out_);
    e_ += advance / 1000.0 * size_ * a_;
    shown_ = true;
  }

  void space() {
    if (!out_.empty() && out_.back() != ' ' && out_.back() != '\n') out_ += ' ';
  }
  void newline() {
    while (!out_.empty() && out_.back() == ' ') out_.pop_back();
    if (!out_.empty() && out_.back() != '\n') out_ += '\n';
  }

  const FontDecoder* decoder(const std::string& name) {
    auto found = fonts_.find(name);
    if (found != fonts_.end()) return found->second.get();
    QPDFObjectHandle font;
    if (resources_.isDictionary() && resources_.getKey("/Font").isDictionary()) {
      font = resources_.getKey("/Font").getKey(name);
    }
    return fonts_.emplace(name, std::make_unique<FontDecoder>(font)).first->second.get();
  }

  void form(const std::string& name) {
    if (!resources_.isDictionary() || !resources_.getKey("/XObject").isDictionary()) return;
    QPDFObjectHandle xobject = resources_.getKey("/XObject").getKey(name);
    if (!xobject.isStream()) return;
    QPDFObjectHandle dict = xobject.getDict();
    if (!dict.getKey("/Subtype").isName() || dict.getKey("/Subtype").getName() != "/Form") return;
    QPDFObjectHandle resources = dict.getKey("/Resources");
    TextCollector inner(resources.isDictionary() ? resources : resources_, out_, depth_ + 1);
    xobject.parseAsContents(&inner);
  }

  QPDFObjectHandle resources_;
  std::string& out_;
  int depth_;
  std::vector<QPDFObjectHandle> operands_;
  std::map<std::string, std::unique_ptr<FontDecoder>> fonts_;
  const FontDecoder* font_ = nullptr;
  double size_ = 0;
  double a_ = 1, d_ = 1;            // text matrix scale
  double e_ = 0, f_ = 0;            // pen position
  double line_e_ = 0, line_f_ = 0;  // start of the current line
  double leading_ = 0;
  bool shown_ = false;
};

}  // namespace

std::string extract_page_text(QPDFPageObjectHelper& page) {
  std::string out;
  TextCollector collector(page.getAttribute("/Resources", false), out, 0);
  page.parseContents(&collector);
  while (!out.empty() && (out.back() == ' ' || out.back() == '\n')) out.pop_back();
  if (!out.empty()) out += '\n';
  return out;
}

}  // namespace gen::pdf
