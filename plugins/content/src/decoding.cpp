#include "decoding.hpp"

#include <cstdint>

#include <gen/sdk/params.hpp>  // gen::sdk::detail::valid_utf8
#include <gen/sdk/utf8.hpp>

#include "zip.hpp"

namespace gen::content {

namespace {

/// UTF-16 (after the BOM) to UTF-8. Hand-written: 20 lines with an exact error position,
/// where iconv would need a conversion loop and still report less.
std::optional<std::string> utf16_to_utf8(std::string_view data, bool big_endian,
                                         std::string& problem) {
  if (data.size() % 2 != 0) {
    problem = "UTF-16 text with an odd number of bytes";
    return std::nullopt;
  }
  auto unit = [&](std::size_t i) -> std::uint32_t {
    const auto a = static_cast<unsigned char>(data[i]);
    const auto b = static_cast<unsigned char>(data[i + 1]);
    return big_endian ? (a << 8 | b) : (b << 8 | a);
  };
  std::string out;
  out.reserve(data.size() * 3 / 2);
  for (std::size_t i = 0; i < data.size(); i += 2) {
    std::uint32_t cp = unit(i);
    if (cp >= 0xD800 && cp <= 0xDBFF && i + 3 < data.size() && unit(i + 2) >= 0xDC00 &&
        unit(i + 2) <= 0xDFFF) {
      cp = 0x10000 + ((cp - 0xD800) << 10) + (unit(i + 2) - 0xDC00);
      i += 2;
    } else if (cp >= 0xD800 && cp <= 0xDFFF) {
      problem = "UTF-16 text with an unpaired surrogate at byte " + std::to_string(i + 2);
      return std::nullopt;
    }
    sdk::append_utf8(out, cp);
  }
  return out;
}

/// The offset of the first byte that is not valid UTF-8 (the text is known to be invalid).
std::size_t first_invalid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const std::size_t length = lead < 0x80             ? 1
                               : (lead & 0xE0) == 0xC0 ? 2
                               : (lead & 0xF0) == 0xE0 ? 3
                               : (lead & 0xF8) == 0xF0 ? 4
                                                       : 0;
    if (length == 0 || !sdk::detail::valid_utf8(text.substr(i, length))) return i;
    i += length;
  }
  return i;
}

}  // namespace

std::optional<std::string> decode_text(std::string_view data, std::string& problem) {
  if (data.starts_with("\xEF\xBB\xBF"))
    data.remove_prefix(3);
  else if (data.starts_with("\xFF\xFE"))
    return utf16_to_utf8(data.substr(2), false, problem);
  else if (data.starts_with("\xFE\xFF"))
    return utf16_to_utf8(data.substr(2), true, problem);
  if (sdk::detail::valid_utf8(data)) return std::string(data);
  problem = "not valid UTF-8 (at byte " + std::to_string(first_invalid_utf8(data)) +
            ") nor UTF-16 with a byte order mark";
  return std::nullopt;
}

std::string decode_page(std::string_view data) {
  std::string problem;
  if (auto text = decode_text(data, problem)) return std::move(*text);
  std::string out;
  out.reserve(data.size() * 2);
  for (char c : data) sdk::append_utf8(out, static_cast<unsigned char>(c));
  return out;
}

std::string describe_content(std::string_view data) {
  if (data.empty()) return "an empty file";
  if (data.starts_with("\x89PNG")) return "a PNG image";
  if (data.starts_with("\xFF\xD8\xFF")) return "a JPEG image";
  if (data.starts_with("GIF8")) return "a GIF image";
  if (data.starts_with("\x1F\x8B")) return "a gzip file";
  if (data.starts_with("%PDF-")) return "a PDF";
  if (looks_like_zip(data)) return "a zip archive";
  if (data.size() >= 12 && data.substr(0, 4) == "RIFF") return "a RIFF file (audio/video/WebP)";
  if (data.starts_with(std::string_view("\xD0\xCF\x11\xE0", 4))) {
    return "an OLE2 file (a legacy .doc/.xls/.ppt)";
  }
  if (sdk::detail::valid_utf8(data)) return "text";
  return "binary data";
}

}  // namespace gen::content
