#include "render_options.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

namespace gen::pdf {
namespace {

struct NamedSize {
  const char* name;
  double width_mm;
  double height_mm;
};

constexpr NamedSize kSizes[] = {
    {"A3", 297, 420},         {"A4", 210, 297},        {"A5", 148, 210},
    {"LETTER", 215.9, 279.4}, {"LEGAL", 215.9, 355.6},
};

std::string upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return text;
}

bool parse_mm(std::string_view text, double& out) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.size() > 2 && upper(std::string(text.substr(text.size() - 2))) == "MM") {
    text.remove_suffix(2);
  }
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && std::isfinite(out);
}

std::optional<std::string> read_string(const nlohmann::json& params, const char* key,
                                       std::string& out) {
  auto it = params.find(key);
  if (it == params.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) return std::string("params.") + key + ": must be a string";
  out = it->get<std::string>();
  return std::nullopt;
}

std::optional<std::string> read_margin(const nlohmann::json& value, const std::string& field,
                                       double& out) {
  if (!value.is_number()) return field + ": must be a number (millimetres)";
  const double mm = value.get<double>();
  if (!(mm >= 0 && mm <= 200)) return field + ": must be between 0 and 200 mm";
  out = mm * kPointsPerMm;
  return std::nullopt;
}

}  // namespace

std::optional<std::string> parse_render_options(const nlohmann::json& params, RenderOptions& out) {
  if (!params.is_object() && !params.is_null()) return "params: must be an object";
  if (params.is_null()) return std::nullopt;

  std::string page_size;
  if (auto error = read_string(params, "page_size", page_size)) return error;
  if (!page_size.empty()) {
    const std::string key = upper(page_size);
    bool found = false;
    for (const NamedSize& size : kSizes) {
      if (key == size.name) {
        out.page_width = size.width_mm * kPointsPerMm;
        out.page_height = size.height_mm * kPointsPerMm;
        found = true;
      }
    }
    if (!found) {
      const size_t x = key.find('X');
      double width_mm = 0;
      double height_mm = 0;
      if (x == std::string::npos || !parse_mm(std::string_view(key).substr(0, x), width_mm) ||
          !parse_mm(std::string_view(key).substr(x + 1), height_mm)) {
        return "params.page_size: unknown size '" + page_size +
               "' (use A3, A4, A5, Letter, Legal or WIDTHxHEIGHT in mm, e.g. 210x297)";
      }
      if (width_mm < 50 || height_mm < 50 || width_mm > 5000 || height_mm > 5000) {
        return "params.page_size: '" + page_size + "' must be between 50 and 5000 mm each way";
      }
      out.page_width = width_mm * kPointsPerMm;
      out.page_height = height_mm * kPointsPerMm;
    }
  }

  if (auto it = params.find("margins_mm"); it != params.end() && !it->is_null()) {
    if (it->is_number()) {
      double margin = 0;
      if (auto error = read_margin(*it, "params.margins_mm", margin)) return error;
      out.margin_top = out.margin_right = out.margin_bottom = out.margin_left = margin;
    } else if (it->is_object()) {
      for (const auto& [name, value] : it->items()) {
        double* target = name == "top"      ? &out.margin_top
                         : name == "right"  ? &out.margin_right
                         : name == "bottom" ? &out.margin_bottom
                         : name == "left"   ? &out.margin_left
                                            : nullptr;
        if (target == nullptr) {
          return "params.margins_mm: unknown side '" + name + "' (use top, right, bottom, left)";
        }
        if (auto error = read_margin(value, "params.margins_mm." + name, *target)) return error;
      }
    } else {
      return "params.margins_mm: must be a number or an object {top, right, bottom, left}";
    }
  }
  if (out.page_width - out.margin_left - out.margin_right < 72 ||
      out.page_height - out.margin_top - out.margin_bottom < 72) {
    return "params.margins_mm: margins leave less than 1 inch for the text on the page";
  }

  for (auto [key, target] :
       {std::pair{"title", &out.title}, std::pair{"author", &out.author},
        std::pair{"subject", &out.subject}, std::pair{"keywords", &out.keywords},
        std::pair{"header", &out.header}, std::pair{"footer", &out.footer},
        std::pair{"output_name", &out.output_name}}) {
    if (auto error = read_string(params, key, *target)) return error;
  }
  if (out.output_name.empty()) return "params.output_name: must not be empty";

  if (auto it = params.find("font_size"); it != params.end() && !it->is_null()) {
    if (!it->is_number()) return "params.font_size: must be a number (points)";
    out.font_size = it->get<double>();
    if (!(out.font_size >= 4 && out.font_size <= 72)) {
      return "params.font_size: must be between 4 and 72 points";
    }
  }
  if (auto it = params.find("outline"); it != params.end() && !it->is_null()) {
    if (!it->is_boolean()) return "params.outline: must be true or false";
    out.outline = it->get<bool>();
  }
  return std::nullopt;
}

}  // namespace gen::pdf
