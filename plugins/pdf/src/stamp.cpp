// pdf.stamp: a text watermark typeset with the bundled DejaVu fonts, or a page of another PDF,
// drawn over or under selected pages.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <numbers>
#include <optional>
#include <string>
#include <vector>

#include <qpdf/QPDF.hh>
#include <qpdf/QPDFObjectHandle.hh>
#include <qpdf/QPDFPageDocumentHelper.hh>
#include <qpdf/QPDFPageObjectHelper.hh>

#include "flate.hpp"
#include "fonts.hpp"
#include "toolkit.hpp"
#include "toolkit_common.hpp"

namespace gen::pdf {

using gen::sdk::Context;
using gen::sdk::GeneratorInfo;
using gen::sdk::InputArtifact;
using gen::sdk::ParamSpec;
using gen::sdk::ParamType;
using gen::sdk::Status;
using namespace detail;

namespace {

struct Rgb {
  double r = 0, g = 0, b = 0;
};

/// "#RRGGBB" or "#RGB" (the # optional) -> 0..1 components.
Rgb parse_color(const std::string& text) {
  std::string hex = text;
  if (!hex.empty() && hex[0] == '#') hex.erase(0, 1);
  const bool valid = (hex.size() == 6 || hex.size() == 3) &&
                     std::all_of(hex.begin(), hex.end(), [](char c) { return std::isxdigit(c); });
  if (!valid) {
    throw BadInput{"params.color: '" + text + "' is not a colour; use #RRGGBB or #RGB"};
  }
  if (hex.size() == 3) hex = {hex[0], hex[0], hex[1], hex[1], hex[2], hex[2]};
  auto component = [&](size_t i) { return std::stoi(hex.substr(i, 2), nullptr, 16) / 255.0; };
  return {component(0), component(2), component(4)};
}

double number_param(const nlohmann::json& params, const char* key, double fallback, double min,
                    double max) {
  auto it = params.find(key);
  if (it == params.end() || it->is_null()) return fallback;
  if (!it->is_number()) throw BadInput{std::string("params.") + key + ": must be a number"};
  const double value = it->get<double>();
  if (!(value >= min && value <= max)) {
    char buffer[160];
    std::snprintf(buffer, sizeof(buffer), "params.%s: %g is out of range (%g to %g)", key, value,
                  min, max);
    throw BadInput{buffer};
  }
  return value;
}

void num(std::string& out, double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.4f", std::abs(value) < 5e-5 ? 0.0 : value);
  std::string text(buffer);
  while (!text.empty() && text.back() == '0') text.pop_back();
  if (!text.empty() && text.back() == '.') text.pop_back();
  out += text;
  out += ' ';
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (true) {
    size_t end = text.find('\n', start);
    std::string line =
        text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return lines;
}

/// What is drawn: a form XObject centred on the origin (text) or a page's form (PDF stamp).
struct StampForm {
  QPDFObjectHandle form;
  bool is_page = false;  ///< fitted to the page's trim box rather than centred and rotated
};

/// Typesets `text` (lines centred on each other) into a form XObject of `pdf`, the block
/// centred on (0, 0).
QPDFObjectHandle text_form(QPDF& pdf, const std::string& text, FontStyle style, double size,
                           const Rgb& color) {
  FontSet fonts;
  const std::vector<std::string> lines = split_lines(text);
  std::vector<const ShapedText*> shaped;
  double max_width = 0;
  for (const std::string& line : lines) {
    shaped.push_back(&fonts.shape(style, line));
    max_width = std::max<double>(max_width, shaped.back()->width * size / 1000.0);
  }
  const FontFace& face = font_face(style);
  const double ascent = face.ascender * size / face.units_per_em;
  const double descent = -face.descender * size / face.units_per_em;
  const double cap =
      (face.cap_height > 0 ? face.cap_height : face.ascender * 0.7) * size / face.units_per_em;
  const double leading = size * 1.2;
  const double n = static_cast<double>(lines.size());

  std::string c = "BT\n/F0 ";
  num(c, size);
  c += "Tf\n";
  num(c, color.r);
  num(c, color.g);
  num(c, color.b);
  c += "rg\n";
  static const char* const kHex = "0123456789ABCDEF";
  for (size_t i = 0; i < lines.size(); ++i) {
    const double width = shaped[i]->width * size / 1000.0;
    // The block of lines is centred vertically on the cap height of its middle.
    const double baseline = ((n - 1) / 2 - static_cast<double>(i)) * leading - cap / 2;
    c += "1 0 0 1 ";
    num(c, -width / 2);
    num(c, baseline);
    c += "Tm [<";
    for (const Glyph& g : shaped[i]->glyphs) {
      for (int shift : {12, 8, 4, 0}) c += kHex[(g.gid >> shift) & 0xF];
      if (g.kern_adjust != 0) {
        c += "> ";
        c += std::to_string(g.kern_adjust);
        c += " <";
      }
    }
    c += ">] TJ\n";
  }
  c += "ET\n";

  QPDFObjectHandle font_dict = QPDFObjectHandle::newDictionary();
  font_dict.replaceKey("/F0", fonts.embed(pdf, style));
  QPDFObjectHandle resources = QPDFObjectHandle::newDictionary();
  resources.replaceKey("/Font", font_dict);
  QPDFObjectHandle form = new_flate_stream(pdf, c);
  QPDFObjectHandle dict = form.getDict();
  dict.replaceKey("/Type", QPDFObjectHandle::newName("/XObject"));
  dict.replaceKey("/Subtype", QPDFObjectHandle::newName("/Form"));
  const double top = (n - 1) / 2 * leading - cap / 2 + ascent;
  const double bottom = -((n - 1) / 2 * leading) - cap / 2 - descent;
  dict.replaceKey("/BBox", QPDFObjectHandle::newArray(QPDFObjectHandle::Rectangle(
                               -max_width / 2 - 1, bottom - 1, max_width / 2 + 1, top + 1)));
  dict.replaceKey("/Resources", resources);
  return form;
}

/// The page's resource sub-dictionary `key`, made private to the page (resources and their
/// sub-dictionaries are often shared between pages).
QPDFObjectHandle private_subdict(QPDFObjectHandle& resources, const std::string& key) {
  QPDFObjectHandle sub = resources.getKey(key);
  sub = sub.isDictionary() ? sub.shallowCopy() : QPDFObjectHandle::newDictionary();
  resources.replaceKey(key, sub);
  return sub;
}

void stamp_page(QPDF& pdf, QPDFPageObjectHelper& page, const StampForm& stamp,
                QPDFObjectHandle graphics_state, double rotation, bool over) {
  QPDFObjectHandle page_object = page.getObjectHandle();
  QPDFObjectHandle resources = page.getAttribute("/Resources", true);
  if (!resources.isDictionary()) {
    resources = QPDFObjectHandle::newDictionary();
    page_object.replaceKey("/Resources", resources);
  }
  int suffix = 1;
  const std::string form_name = resources.getUniqueResourceName("/GenStamp", suffix);
  const std::string gs_name = resources.getUniqueResourceName("/GenStampGS", suffix);
  private_subdict(resources, "/XObject").replaceKey(form_name, stamp.form);
  private_subdict(resources, "/ExtGState").replaceKey(gs_name, graphics_state);

  std::string content = "q\n" + gs_name + " gs\n";
  if (stamp.is_page) {
    content += page.placeFormXObject(stamp.form, form_name, page.getTrimBox().getArrayAsRectangle(),
                                     true, true, false);
  } else {
    const auto box = page.getCropBox().getArrayAsRectangle();
    // The viewer turns the page clockwise by /Rotate; turn the stamp with it so that
    // `rotation` is what the reader sees.
    QPDFObjectHandle rotate = page.getAttribute("/Rotate", false);
    const double page_rotate = rotate.isInteger() ? static_cast<double>(rotate.getIntValue()) : 0;
    const double radians = (rotation + page_rotate) * std::numbers::pi / 180.0;
    const double cos = std::cos(radians), sin = std::sin(radians);
    num(content, cos);
    num(content, sin);
    num(content, -sin);
    num(content, cos);
    num(content, (box.llx + box.urx) / 2);
    num(content, (box.lly + box.ury) / 2);
    content += "cm\n" + form_name + " Do\n";
  }
  content += "Q\n";
  if (over) {
    // Whatever state the page's own content leaves behind must not leak into the stamp.
    page.addPageContents(QPDFObjectHandle::newStream(&pdf, "q\n"), true);
    page.addPageContents(QPDFObjectHandle::newStream(&pdf, "\nQ\n" + content), false);
  } else {
    page.addPageContents(QPDFObjectHandle::newStream(&pdf, content), true);
  }
}

}  // namespace

GeneratorInfo StampGenerator::info() const {
  GeneratorInfo info = toolkit_info("pdf.stamp");
  info.description =
      "Stamps a text watermark (typeset in DejaVu Sans) or a page of another PDF over or under "
      "selected pages of each input PDF.";
  info.params = {
      ParamSpec{"text", ParamType::kString, false, nullptr,
                "Watermark text (UTF-8; \\n starts a new line). Give text or stamp_input"},
      ParamSpec{"stamp_input", ParamType::kString, false, nullptr,
                "Name of the input PDF whose page is the stamp (that input is not stamped)"},
      ParamSpec{"stamp_page", ParamType::kInteger, false, 1, "Page of stamp_input to use"},
      ParamSpec{"pages", ParamType::kString, false, nullptr, "Page range to stamp; default all"},
      ParamSpec{"layer",
                ParamType::kString,
                false,
                "over",
                "over or under the page content",
                {"over", "under"}},
      ParamSpec{"font_size", ParamType::kNumber, false, 48, "Text size in points (1-500)"},
      ParamSpec{"bold", ParamType::kBoolean, false, true, "DejaVu Sans Bold instead of Book"},
      ParamSpec{"color", ParamType::kString, false, "#808080", "Text colour, #RRGGBB or #RGB"},
      ParamSpec{"opacity", ParamType::kNumber, false, 0.3,
                "0 (invisible) to 1 (opaque); for text and PDF stamps"},
      ParamSpec{"rotation", ParamType::kNumber, false, 45,
                "Counter-clockwise degrees of the text as the reader sees the page"},
      password_param(),
  };
  return info;
}

Status StampGenerator::run(Context& context) {
  return guarded("pdf.stamp", context, [&] {
    const nlohmann::json& params = context.params();
    const std::string text = optional_string(params, "text");
    const std::string stamp_input = optional_string(params, "stamp_input");
    if (text.empty() == stamp_input.empty()) {
      throw BadInput{text.empty()
                         ? "pdf.stamp: nothing to stamp: set params.text or params.stamp_input"
                         : "pdf.stamp: set params.text or params.stamp_input, not both"};
    }
    std::string layer = optional_string(params, "layer");
    if (layer.empty()) layer = "over";
    if (layer != "over" && layer != "under") {
      throw BadInput{"params.layer: unknown layer '" + layer + "' (use over or under)"};
    }
    const double size = number_param(params, "font_size", 48, 1, 500);
    const double opacity = number_param(params, "opacity", 0.3, 0, 1);
    const double rotation = number_param(params, "rotation", 45, -360, 360);
    std::string color_text = optional_string(params, "color");
    const Rgb color = parse_color(color_text.empty() ? "#808080" : color_text);
    bool bold = true;
    if (auto it = params.find("bold"); it != params.end() && !it->is_null()) {
      if (!it->is_boolean()) throw BadInput{"params.bold: must be true or false"};
      bold = it->get<bool>();
    }
    long long stamp_page_number = 1;
    if (auto it = params.find("stamp_page"); it != params.end() && !it->is_null()) {
      if (!it->is_number_integer() || it->get<long long>() < 1) {
        throw BadInput{"params.stamp_page: must be a page number, 1 or more"};
      }
      stamp_page_number = it->get<long long>();
    }
    const std::string range = optional_string(params, "pages");
    const std::string password = optional_string(params, "password");

    // The stamp PDF, when one is used.
    std::unique_ptr<QPDF> stamp_pdf;
    QPDFObjectHandle stamp_source;
    if (!stamp_input.empty()) {
      const auto& inputs = context.inputs();
      auto found = std::find_if(inputs.begin(), inputs.end(), [&](const InputArtifact& input) {
        return input.name == stamp_input;
      });
      if (found == inputs.end()) {
        throw BadInput{"params.stamp_input: no input named '" + stamp_input + "'"};
      }
      stamp_pdf = open_pdf(*found, password);
      auto pages = QPDFPageDocumentHelper(*stamp_pdf).getAllPages();
      if (stamp_page_number > static_cast<long long>(pages.size())) {
        throw BadInput{"params.stamp_page: " + std::to_string(stamp_page_number) + " but " +
                       input_label(stamp_input) + " has " + std::to_string(pages.size()) +
                       " pages"};
      }
      stamp_source = pages[static_cast<size_t>(stamp_page_number - 1)].getFormXObjectForPage();
    }

    size_t stamped_inputs = 0;
    for (const InputArtifact& input : context.inputs()) {
      if (!stamp_input.empty() && input.name == stamp_input) continue;
      if (context.cancelled()) throw std::runtime_error("cancelled");
      std::unique_ptr<QPDF> pdf = open_pdf(input, password);
      QPDFPageDocumentHelper helper(*pdf);
      helper.pushInheritedAttributesToPage();
      auto pages = helper.getAllPages();
      const std::vector<int> numbers =
          page_numbers(range, static_cast<int>(pages.size()), "params.pages");

      StampForm stamp;
      if (stamp_pdf) {
        stamp.form = pdf->copyForeignObject(stamp_source);
        stamp.is_page = true;
      } else {
        stamp.form =
            text_form(*pdf, text, bold ? FontStyle::kBold : FontStyle::kRegular, size, color);
      }
      QPDFObjectHandle graphics_state = QPDFObjectHandle::newDictionary();
      graphics_state.replaceKey("/Type", QPDFObjectHandle::newName("/ExtGState"));
      graphics_state.replaceKey("/ca", QPDFObjectHandle::newReal(opacity, 3));
      graphics_state.replaceKey("/CA", QPDFObjectHandle::newReal(opacity, 3));
      graphics_state = pdf->makeIndirectObject(graphics_state);

      for (int number : numbers) {
        stamp_page(*pdf, pages[static_cast<size_t>(number - 1)], stamp, graphics_state, rotation,
                   layer == "over");
      }
      context.write_output(input.name, "application/pdf", write_pdf(*pdf));
      ++stamped_inputs;
    }
    if (stamped_inputs == 0) {
      throw BadInput{"pdf.stamp: no PDF to stamp: every input is the stamp_input"};
    }
  });
}

}  // namespace gen::pdf
