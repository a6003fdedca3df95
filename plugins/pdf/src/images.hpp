// Images for pdf.render: JPEG passes through (DCTDecode), PNG is decoded with libpng.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace gen::pdf {

/// An image ready to become a PDF image XObject.
struct ImageData {
  int width = 0;   ///< pixels
  int height = 0;  ///< pixels
  /// "/DeviceRGB", "/DeviceGray" or "/DeviceCMYK".
  std::string color_space;
  /// JPEG file bytes (dct == true) or raw 8-bit samples, row by row.
  std::string samples;
  bool dct = false;
  bool invert_cmyk = false;  ///< Adobe CMYK JPEGs store inverted samples
  std::string alpha;         ///< 8-bit alpha samples (an /SMask) or empty
};

/// Decodes a PNG or JPEG by its signature. Returns nullopt (with `error` set) for anything
/// else or a damaged file; never throws for bad bytes.
std::optional<ImageData> decode_image(std::string_view bytes, std::string& error);

}  // namespace gen::pdf
