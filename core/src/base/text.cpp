#include "gen/core/base/text.hpp"

#include <Poco/Base64Decoder.h>
#include <Poco/Base64Encoder.h>
#include <Poco/MemoryStream.h>

#include <algorithm>
#include <sstream>

namespace gen {

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

int hex_digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> from_hex(std::string_view text) {
  if (text.size() % 2) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); i += 2) {
    int hi = hex_digit_value(text[i]), lo = hex_digit_value(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

std::string ascii_upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

bool iless(std::string_view a, std::string_view b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return static_cast<unsigned char>(ascii_lower(x)) < static_cast<unsigned char>(ascii_lower(y));
  });
}

std::string base64url(std::string_view data) {
  std::ostringstream out;
  Poco::Base64Encoder encoder(out, Poco::BASE64_URL_ENCODING | Poco::BASE64_NO_PADDING);
  encoder.rdbuf()->setLineLength(0);  // one line, however long
  encoder.write(data.data(), static_cast<std::streamsize>(data.size()));
  encoder.close();
  return std::move(out).str();
}

namespace {

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::optional<std::string> decode_base64(std::string_view in) {
  // Poco's decoder does the decoding; this checks first what it lets through: it skips
  // whitespace, reads '=' anywhere as a zero digit and ignores the unused bits of the last
  // character, so "QQ==", "Q Q==", "Q=Q=" and "QR==" would all decode to "A". Each input
  // has one encoding here (RFC 4648 section 3.5 lets a decoder refuse the others).
  std::size_t len = in.size();
  if (len % 4 == 0 && len >= 1 && in[len - 1] == '=') {
    --len;
    if (in[len - 1] == '=') --len;
  }
  const std::string_view digits = in.substr(0, len);
  if (digits.size() % 4 == 1) return std::nullopt;
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return base64_value(c) >= 0; })) {
    return std::nullopt;
  }
  if (const std::size_t rest = digits.size() % 4; rest != 0) {
    const int unused_mask = rest == 2 ? 0x0F : 0x03;  // 12 bits for 1 byte, 18 for 2
    if ((base64_value(digits.back()) & unused_mask) != 0) return std::nullopt;
  }
  std::string out(digits.size() / 4 * 3 + (digits.size() % 4 == 0 ? 0 : digits.size() % 4 - 1),
                  '\0');
  Poco::MemoryInputStream source(digits.data(), digits.size());
  Poco::Base64Decoder decoder(source, Poco::BASE64_NO_PADDING);
  decoder.read(out.data(), static_cast<std::streamsize>(out.size()));
  if (static_cast<std::size_t>(decoder.gcount()) != out.size()) return std::nullopt;
  return out;
}

}  // namespace gen
