// The params of pdf.render, parsed and checked.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace gen::pdf {

/// Page geometry in PDF points (1/72 inch); everything else as given.
struct RenderOptions {
  double page_width = 595.28;  // A4
  double page_height = 841.89;
  double margin_top = 56.69;  // 20 mm
  double margin_right = 56.69;
  double margin_bottom = 56.69;
  double margin_left = 56.69;
  std::string title;  ///< empty: the first level-1 heading
  std::string author;
  std::string subject;
  std::string keywords;
  std::string header;
  std::string footer = "{{page}} / {{pages}}";
  double font_size = 11;
  bool outline = true;
  std::string output_name = "document.pdf";
};

inline constexpr double kPointsPerMm = 72.0 / 25.4;

/// Reads `params` (absent keys keep their defaults). Returns a message naming the field
/// ("params.page_size: unknown size 'A9'") when a value is unusable.
std::optional<std::string> parse_render_options(const nlohmann::json& params, RenderOptions& out);

}  // namespace gen::pdf
