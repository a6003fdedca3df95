#include "text_extraction.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <qpdf/Buffer.hh>
#include <qpdf/BufferInputSource.hh>
#include <qpdf/QPDFExc.hh>
#include <qpdf/QPDFObjGen.hh>
#include <qpdf/QPDFObjectHandle.hh>
#include <qpdf/QPDFPageObjectHelper.hh>
#include <qpdf/QPDFTokenizer.hh>

#include "bounded_decode.hpp"
#include "gen/sdk/utf8.hpp"

namespace gen::pdf {
namespace {

using sdk::append_utf8;

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
    unsigned value = 0;  // not std::stoul: "uniZZZZ" must not throw
    const auto [end, ec] = std::from_chars(name.data() + 3, name.data() + 7, value, 16);
    return ec == std::errc{} && end == name.data() + 7 ? static_cast<char32_t>(value) : 0;
  }
  auto it = kNames.find(name);
  return it != kNames.end() ? it->second : 0;
}

/// Codes a font maps: a font has at most 65,536 glyphs; a CMap or /W array claiming more is
/// not worth reading further. And the assignments made while reading (ranges can repeat).
constexpr std::size_t kMaxCodes = 1 << 17;
constexpr std::size_t kMaxCodeAssignments = 1 << 22;

/// How one font turns string bytes into text and advances.
class FontDecoder {
 public:
  /// `to_unicode` holds the decoded ToUnicode CMap (empty if none).
  FontDecoder(QPDFObjectHandle font, const std::string& to_unicode) {
    if (!font.isDictionary()) return;
    const std::string subtype =
        font.getKey("/Subtype").isName() ? font.getKey("/Subtype").getName() : "";
    composite_ = subtype == "/Type0";
    code_bytes_ = composite_ ? 2 : 1;
    if (!to_unicode.empty()) read_to_unicode(to_unicode);
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
        const int n = std::min(widths.getArrayNItems(), 65536);
        for (int i = 0; i < n; ++i) {
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
  /// Records one code; false once the budget is spent (stop reading).
  bool assign(unsigned code, std::string text) {
    if (++assignments_ > kMaxCodeAssignments) return false;
    if (to_unicode_.size() >= kMaxCodes && to_unicode_.count(code) == 0) return false;
    to_unicode_[code] = std::move(text);
    return true;
  }
  bool assign_width(unsigned code, double width) {
    if (++assignments_ > kMaxCodeAssignments) return false;
    if (widths_.size() >= kMaxCodes && widths_.count(code) == 0) return false;
    widths_[code] = width;
    return true;
  }

  void read_to_unicode(const std::string& cmap) {
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
        code_bytes_ = std::clamp<size_t>(hex(tokens[i + 1]).size(), 1, 4);
      } else if (tokens[i] == "beginbfchar") {
        for (++i; i + 1 < tokens.size() && tokens[i] != "endbfchar"; i += 2) {
          if (!assign(code_of(hex(tokens[i])), utf16be_to_utf8(hex(tokens[i + 1])))) return;
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
              if (!assign(code, utf16be_to_utf8(hex(tokens[k])))) return;
            }
            while (k < tokens.size() && tokens[k] != "]") ++k;
            i = k + 1;
          } else {
            std::string dest = hex(tokens[i + 2]);
            for (unsigned code = lo; code <= hi; ++code) {
              if (!assign(code, utf16be_to_utf8(dest))) return;
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
        const int count = next.getArrayNItems();
        for (int k = 0; k < count; ++k) {
          if (next.getArrayItem(k).isNumber() &&
              !assign_width(start + static_cast<unsigned>(k),
                            next.getArrayItem(k).getNumericValue())) {
            return;
          }
        }
        i += 2;
      } else if (i + 2 < n && next.isInteger() && w.getArrayItem(i + 2).isNumber()) {
        const auto last = static_cast<unsigned>(next.getIntValue());
        const double width = w.getArrayItem(i + 2).getNumericValue();
        for (unsigned code = start; code <= last && code - start < 65536; ++code) {
          if (!assign_width(code, width)) return;
        }
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
      const int n = std::min(differences.getArrayNItems(), 1024);
      for (int i = 0; i < n; ++i) {
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
  std::size_t assignments_ = 0;
  std::unordered_map<unsigned, std::string> to_unicode_;
  std::unordered_map<unsigned, double> widths_;
  char32_t simple_map_[256] = {};
};

}  // namespace

/// Per document: the limits and what has been spent of them, and the fonts read so far.
struct TextExtractor::State {
  std::function<bool()> cancelled;
  ExtractionLimits limits;
  std::size_t document_bytes = 0;
  std::size_t form_invocations = 0;
  std::size_t text_bytes = 0;                                // of earlier pages
  std::map<QPDFObjGen, std::unique_ptr<FontDecoder>> fonts;  // indirect font dictionaries
  std::vector<std::unique_ptr<FontDecoder>> direct_fonts;    // the others, per use

  /// Appends `stream`'s decoded data to `out` (which holds `out.size()` bytes of the same
  /// unit already) within the per-stream and per-document limits.
  void decode(QPDFObjectHandle stream, std::string& out, const char* what) {
    const std::size_t room =
        limits.max_stream_bytes - std::min(out.size(), limits.max_stream_bytes);
    const std::size_t before = out.size();
    const DecodeEnd end = decode_bounded(stream, room, out, cancelled);
    document_bytes += out.size() - before;
    if (end == DecodeEnd::kCancelled) throw ExtractionCancelled{};
    if (end == DecodeEnd::kTooLarge) {
      throw ExtractionRefused{std::string(what) + " decodes to more than " +
                              describe_size(limits.max_stream_bytes) +
                              " (the limit per stream): refusing a likely decompression bomb"};
    }
    if (end == DecodeEnd::kFailed) {
      throw QPDFExc(qpdf_e_damaged_pdf, "", what, 0,
                    "stream " + stream.getObjGen().unparse(' ') + " cannot be decoded");
    }
    if (document_bytes > limits.max_document_bytes) {
      throw ExtractionRefused{"more than " + describe_size(limits.max_document_bytes) +
                              " of content to read in the document (the limit; a form XObject "
                              "counts each time it is drawn)"};
    }
  }

  const FontDecoder* font(QPDFObjectHandle dict) {
    const bool indirect = dict.isIndirect();
    if (indirect) {
      if (auto found = fonts.find(dict.getObjGen()); found != fonts.end()) {
        return found->second.get();
      }
    }
    std::string to_unicode;
    if (dict.isDictionary() && dict.getKey("/ToUnicode").isStream()) {
      try {
        decode(dict.getKey("/ToUnicode"), to_unicode, "a ToUnicode CMap");
      } catch (const QPDFExc&) {
        to_unicode.clear();  // an unreadable CMap: decode by the encoding instead
      }
    }
    auto decoder = std::make_unique<FontDecoder>(dict, to_unicode);
    const FontDecoder* result = decoder.get();
    if (indirect) {
      fonts.emplace(dict.getObjGen(), std::move(decoder));
    } else {
      direct_fonts.push_back(std::move(decoder));
    }
    return result;
  }
};

namespace {

/// One operand of a content-stream operator. Arrays (only TJ's matter) are kept flat.
struct Operand {
  enum class Kind : int { kNumber = 1, kString = 2, kName = 3, kArray = 4, kOther = 5 };
  Kind kind = Kind::kOther;
  double number = 0;
  std::string text;  // string bytes, or a name with its slash
};

double to_number(const std::string& text) {
  const char* first = text.data();
  const char* last = text.data() + text.size();
  if (first != last && *first == '+') ++first;
  double value = 0;
  std::from_chars(first, last, value);
  return std::isfinite(value) ? value : 0;
}

/// Walks a content stream token by token (QPDF's tokenizer, no object tree: operands cost
/// what they hold, and a hostile stream of a million numbers builds nothing), keeping just
/// enough text state to place spaces and line breaks.
class TextCollector {
 public:
  TextCollector(TextExtractor::State& state, QPDFObjectHandle resources, std::string& out,
                int depth)
      : state_(state), resources_(std::move(resources)), out_(out), depth_(depth) {}

  void run(const std::string& content, const std::string& description) {
    // The tokenizer reads the bytes in place (a Buffer over them, not a copy).
    Buffer buffer(reinterpret_cast<unsigned char*>(const_cast<char*>(content.data())),
                  content.size());
    std::shared_ptr<InputSource> input = std::make_shared<BufferInputSource>(description, &buffer);
    QPDFTokenizer tokenizer;
    tokenizer.allowEOF();
    int array_depth = 0;
    int dict_depth = 0;
    for (std::size_t count = 1;; ++count) {
      if ((count & 0xFFF) == 0 && state_.cancelled && state_.cancelled()) {
        throw ExtractionCancelled{};
      }
      const QPDFTokenizer::Token token = tokenizer.readToken(input, description, true);
      const auto type = token.getType();
      if (type == QPDFTokenizer::tt_eof) break;
      if (type == QPDFTokenizer::tt_bad) continue;
      if (type == QPDFTokenizer::tt_dict_open) {
        ++dict_depth;
        continue;
      }
      if (type == QPDFTokenizer::tt_dict_close) {
        if (dict_depth > 0) --dict_depth;
        if (dict_depth == 0) push({Operand::Kind::kOther, 0, {}});
        continue;
      }
      if (dict_depth > 0) continue;  // dictionaries (marked content) carry no text state
      if (type == QPDFTokenizer::tt_array_open) {
        if (array_depth++ == 0) array_.clear();
        continue;
      }
      if (type == QPDFTokenizer::tt_array_close) {
        if (array_depth > 0 && --array_depth == 0) push({Operand::Kind::kArray, 0, {}});
        continue;
      }
      Operand operand;
      switch (type) {
        case QPDFTokenizer::tt_integer:
        case QPDFTokenizer::tt_real:
          operand = {Operand::Kind::kNumber, to_number(token.getValue()), {}};
          break;
        case QPDFTokenizer::tt_string:
          operand = {Operand::Kind::kString, 0, token.getValue()};
          break;
        case QPDFTokenizer::tt_name:
          operand = {Operand::Kind::kName, 0, token.getValue()};
          break;
        case QPDFTokenizer::tt_word:
          if (array_depth > 0) {  // an operator inside an array: damaged; drop the array
            array_depth = 0;
            array_.clear();
          }
          operator_(token.getValue());
          operands_.clear();
          if (token.getValue() == "ID") {
            // Inline image data follows the space after ID, up to EI.
            char space;
            input->read(&space, 1);
            tokenizer.expectInlineImage(input);
            tokenizer.readToken(input, description, true);
          }
          continue;
        default:
          operand = {Operand::Kind::kOther, 0, {}};
      }
      if (array_depth > 0) {
        if (array_.size() < kMaxArrayItems) array_.push_back(std::move(operand));
      } else {
        push(std::move(operand));
      }
    }
  }

 private:
  static constexpr std::size_t kMaxOperands = 64;  // operators take at most a few dozen
  static constexpr std::size_t kMaxArrayItems = 1 << 16;

  void push(Operand operand) {
    if (operands_.size() >= kMaxOperands) operands_.erase(operands_.begin());
    operands_.push_back(std::move(operand));
  }

  double number(size_t index) const {
    return index < operands_.size() && operands_[index].kind == Operand::Kind::kNumber
               ? operands_[index].number
               : 0;
  }

  void operator_(const std::string& op) {
    if (op == "BT") {
      a_ = d_ = 1;
      e_ = f_ = line_e_ = line_f_ = 0;
    } else if (op == "Tf" && operands_.size() >= 2) {
      size_ = number(1);
      font_ = decoder(operands_[0].kind == Operand::Kind::kName ? operands_[0].text : "");
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
    } else if (op == "TJ" && !operands_.empty() && operands_[0].kind == Operand::Kind::kArray) {
      for (const Operand& item : array_) {
        if (item.kind == Operand::Kind::kString) {
          show(item);
        } else if (item.kind == Operand::Kind::kNumber) {
          const double shift = -item.number / 1000.0 * size_ * a_;
          if (shift > 0.25 * std::abs(size_ * a_)) space();
          e_ += shift;
        }
      }
    } else if (op == "Do" && !operands_.empty() && operands_[0].kind == Operand::Kind::kName &&
               depth_ < 8) {
      form(operands_[0].text);
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

  void show(const Operand& string) {
    if (string.kind != Operand::Kind::kString || font_ == nullptr) return;
    const double advance = font_->decode(string.text, out_);
    e_ += advance / 1000.0 * size_ * a_;
    shown_ = true;
    if (state_.text_bytes + out_.size() > state_.limits.max_text_bytes) {
      throw ExtractionRefused{"the extracted text passes " +
                              describe_size(state_.limits.max_text_bytes) + " (the limit)"};
    }
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
    if (found != fonts_.end()) return found->second;
    QPDFObjectHandle font;
    if (resources_.isDictionary() && resources_.getKey("/Font").isDictionary()) {
      font = resources_.getKey("/Font").getKey(name);
    }
    return fonts_.emplace(name, state_.font(font)).first->second;
  }

  void form(const std::string& name) {
    if (!resources_.isDictionary() || !resources_.getKey("/XObject").isDictionary()) return;
    QPDFObjectHandle xobject = resources_.getKey("/XObject").getKey(name);
    if (!xobject.isStream()) return;
    QPDFObjectHandle dict = xobject.getDict();
    if (!dict.getKey("/Subtype").isName() || dict.getKey("/Subtype").getName() != "/Form") return;
    if (++state_.form_invocations > state_.limits.max_form_invocations) {
      throw ExtractionRefused{"form XObjects are drawn more than " +
                              std::to_string(state_.limits.max_form_invocations) +
                              " times in the document (the limit): refusing a likely XObject "
                              "bomb (forms drawing each other many times)"};
    }
    std::string content;
    state_.decode(xobject, content, "a form XObject");
    QPDFObjectHandle resources = dict.getKey("/Resources");
    TextCollector inner(state_, resources.isDictionary() ? resources : resources_, out_,
                        depth_ + 1);
    inner.run(content, "form XObject " + xobject.getObjGen().unparse(' '));
  }

  TextExtractor::State& state_;
  QPDFObjectHandle resources_;
  std::string& out_;
  int depth_;
  std::vector<Operand> operands_;
  std::vector<Operand> array_;  // the last array operand's items
  std::map<std::string, const FontDecoder*> fonts_;
  const FontDecoder* font_ = nullptr;
  double size_ = 0;
  double a_ = 1, d_ = 1;            // text matrix scale
  double e_ = 0, f_ = 0;            // pen position
  double line_e_ = 0, line_f_ = 0;  // start of the current line
  double leading_ = 0;
  bool shown_ = false;
};

}  // namespace

TextExtractor::TextExtractor(std::function<bool()> cancelled, ExtractionLimits limits)
    : state_(std::make_unique<State>()) {
  state_->cancelled = std::move(cancelled);
  state_->limits = limits;
}

TextExtractor::~TextExtractor() = default;

std::string TextExtractor::page_text(QPDFPageObjectHelper& page) {
  // The page's content streams, concatenated (a newline between, as QPDF does), decoded
  // within the limits.
  std::string content;
  QPDFObjectHandle contents = page.getObjectHandle().getKey("/Contents");
  std::vector<QPDFObjectHandle> streams;
  if (contents.isStream()) {
    streams.push_back(contents);
  } else if (contents.isArray()) {
    for (QPDFObjectHandle item : contents.getArrayAsVector()) {
      if (item.isStream()) streams.push_back(item);
    }
  }
  for (QPDFObjectHandle& stream : streams) {
    if (!content.empty() && content.back() != '\n') content += '\n';
    state_->decode(stream, content, "the page's content");
  }
  std::string out;
  TextCollector collector(*state_, page.getAttribute("/Resources", false), out, 0);
  collector.run(content, "page content");
  while (!out.empty() && (out.back() == ' ' || out.back() == '\n')) out.pop_back();
  if (!out.empty()) out += '\n';
  state_->text_bytes += out.size();
  return out;
}

}  // namespace gen::pdf
