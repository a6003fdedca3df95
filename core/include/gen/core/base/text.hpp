// Byte and ASCII text helpers used across core, backend, worker and ctl: hex, base64 and
// ASCII case. One definition each; HTTP names, hashes, ids and settings all go through these.
// ASCII only and locale-independent: bytes >= 0x80 are never changed or folded.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace gen {

/// Lowercase hex of `bytes`: "\x01\xAB" -> "01ab".
std::string to_hex(std::string_view bytes);
/// The value of one hex digit (either case), or -1 when `c` is not one.
int hex_digit_value(char c);
/// The bytes `text` spells in hex (either case); nullopt when its length is odd or a
/// character is not a hex digit.
std::optional<std::string> from_hex(std::string_view text);

/// 'A'-'Z' to 'a'-'z'; every other byte unchanged.
char ascii_lower(char c);
std::string ascii_lower(std::string_view s);
/// 'a'-'z' to 'A'-'Z'; every other byte unchanged.
std::string ascii_upper(std::string_view s);
/// Equal ignoring ASCII case ("Content-Type" and "content-TYPE").
bool iequals(std::string_view a, std::string_view b);
/// `s` starts with `prefix`, ignoring ASCII case.
bool istarts_with(std::string_view s, std::string_view prefix);
/// Orders as if both were ascii_lower()ed (for maps of header names).
bool iless(std::string_view a, std::string_view b);

/// base64url without padding (RFC 4648 section 5), as in API keys and webhook secrets.
std::string base64url(std::string_view data);
/// Strict base64 (RFC 4648 section 4: standard alphabet; padding optional but, when present,
/// complete; no whitespace or other characters; the unused bits of the last character zero,
/// section 3.5). nullopt when `in` is not valid base64.
std::optional<std::string> decode_base64(std::string_view in);

}  // namespace gen
