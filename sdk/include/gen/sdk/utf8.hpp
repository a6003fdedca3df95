// UTF-8 helpers for plugin authors (header-only, standard library only).
#pragma once

#include <string>

namespace gen::sdk {

/// Appends code point `cp` to `out` as UTF-8 (1-4 bytes). The caller passes a Unicode scalar
/// value (not a surrogate, at most U+10FFFF); other values are encoded as they are, which makes
/// invalid UTF-8 (gen::sdk::detail::valid_utf8 in params.hpp tells).
inline void append_utf8(std::string& out, char32_t cp) {
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

}  // namespace gen::sdk
