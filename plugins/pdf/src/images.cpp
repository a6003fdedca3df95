#include "images.hpp"

#include <cstdint>
#include <cstring>
#include <vector>

#include <png.h>

namespace gen::pdf {
namespace {

std::optional<ImageData> decode_jpeg(std::string_view bytes, std::string& error) {
  // Walk the markers up to the first start-of-frame, which holds the size and components.
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  bool adobe = false;
  size_t i = 2;
  while (i + 4 <= n) {
    if (p[i] != 0xFF) {
      error = "damaged JPEG (bad marker)";
      return std::nullopt;
    }
    const unsigned char marker = p[i + 1];
    if (marker == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {
      i += 2;
      continue;
    }
    const size_t length = (static_cast<size_t>(p[i + 2]) << 8) | p[i + 3];
    if (length < 2 || i + 2 + length > n) break;
    if (marker == 0xEE && length >= 7 && std::memcmp(p + i + 4, "Adobe", 5) == 0) adobe = true;
    const bool sof =
        marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (sof) {
      if (length < 8) break;
      ImageData image;
      image.height = (p[i + 5] << 8) | p[i + 6];
      image.width = (p[i + 7] << 8) | p[i + 8];
      const int components = p[i + 9];
      if (image.width <= 0 || image.height <= 0) break;
      if (components == 1) {
        image.color_space = "/DeviceGray";
      } else if (components == 3) {
        image.color_space = "/DeviceRGB";
      } else if (components == 4) {
        image.color_space = "/DeviceCMYK";
        image.invert_cmyk = adobe;
      } else {
        error = "unsupported JPEG with " + std::to_string(components) + " components";
        return std::nullopt;
      }
      image.dct = true;
      image.samples.assign(bytes);
      return image;
    }
    i += 2 + length;
  }
  error = "damaged JPEG (no frame header)";
  return std::nullopt;
}

std::optional<ImageData> decode_png(std::string_view bytes, std::string& error) {
  png_image png;
  std::memset(&png, 0, sizeof(png));
  png.version = PNG_IMAGE_VERSION;
  if (png_image_begin_read_from_memory(&png, bytes.data(), bytes.size()) == 0) {
    error = std::string("damaged PNG: ") + png.message;
    png_image_free(&png);
    return std::nullopt;
  }
  const bool has_alpha = (png.format & PNG_FORMAT_FLAG_ALPHA) != 0;
  const bool color = (png.format & PNG_FORMAT_FLAG_COLOR) != 0;
  png.format = color ? (has_alpha ? PNG_FORMAT_RGBA : PNG_FORMAT_RGB)
                     : (has_alpha ? PNG_FORMAT_GA : PNG_FORMAT_GRAY);
  const int channels = (color ? 3 : 1) + (has_alpha ? 1 : 0);
  // Refuse absurd sizes before allocating (a 20-byte PNG may claim 2^31 x 2^31 pixels).
  constexpr uint64_t kMaxPixels = 40'000'000;
  if (png.width == 0 || png.height == 0 ||
      static_cast<uint64_t>(png.width) * png.height > kMaxPixels) {
    error = "PNG too large (" + std::to_string(png.width) + "x" + std::to_string(png.height) + ")";
    png_image_free(&png);
    return std::nullopt;
  }
  std::vector<unsigned char> pixels(PNG_IMAGE_SIZE(png));
  if (png_image_finish_read(&png, nullptr, pixels.data(), 0, nullptr) == 0) {
    error = std::string("damaged PNG: ") + png.message;
    png_image_free(&png);
    return std::nullopt;
  }
  ImageData image;
  image.width = static_cast<int>(png.width);
  image.height = static_cast<int>(png.height);
  image.color_space = color ? "/DeviceRGB" : "/DeviceGray";
  const size_t count = static_cast<size_t>(image.width) * image.height;
  const int color_channels = color ? 3 : 1;
  image.samples.resize(count * color_channels);
  if (has_alpha) image.alpha.resize(count);
  for (size_t px = 0; px < count; ++px) {
    const unsigned char* src = pixels.data() + px * channels;
    for (int c = 0; c < color_channels; ++c) {
      image.samples[px * color_channels + c] = static_cast<char>(src[c]);
    }
    if (has_alpha) image.alpha[px] = static_cast<char>(src[color_channels]);
  }
  return image;
}

}  // namespace

std::optional<ImageData> decode_image(std::string_view bytes, std::string& error) {
  if (bytes.size() >= 3 && static_cast<unsigned char>(bytes[0]) == 0xFF &&
      static_cast<unsigned char>(bytes[1]) == 0xD8) {
    return decode_jpeg(bytes, error);
  }
  if (bytes.size() >= 8 && std::memcmp(bytes.data(), "\x89PNG\r\n\x1a\n", 8) == 0) {
    return decode_png(bytes, error);
  }
  error = "not a PNG or JPEG image";
  return std::nullopt;
}

}  // namespace gen::pdf
