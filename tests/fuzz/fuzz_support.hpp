// Helpers shared by the fuzz targets (tests/fuzz/*_fuzz.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace gen::fuzz {

/// The input bytes as text.
inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// JSON nesting the targets let through. Deeper documents overflow the stack in recursive
/// code downstream of the parser (nlohmann's dump(), params validation): a known defect
/// (issue 13 item 1) that the JSON depth limit fixes; until that limit is in, such inputs
/// would be the only crash the fuzzer finds. 1,000 is well above any sane depth limit, so
/// the limit itself is still exercised, and well below what overflows an 8 MiB stack.
inline constexpr int kMaxJsonNesting = 1000;

/// False when `text` opens more than `max_depth` arrays/objects at once (strings skipped).
/// A scan of the raw bytes, so it holds whatever the text is (valid JSON or not).
inline bool json_nesting_within(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

}  // namespace gen::fuzz
