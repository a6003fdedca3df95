// core/src/base/text.cpp: hex, ASCII case and base64 (strict decoding: one encoding per input).
#include "gen/core/base/text.hpp"

#include <gtest/gtest.h>

#include <string>

namespace gen {
namespace {

TEST(Hex, EncodesLowercaseAndDecodesEitherCase) {
  const std::string bytes("\x00\x01\xab\xff\x7f", 5);
  EXPECT_EQ(to_hex(bytes), "0001abff7f");
  EXPECT_EQ(to_hex(""), "");
  EXPECT_EQ(from_hex("0001abff7f"), bytes);
  EXPECT_EQ(from_hex("0001ABFF7F"), bytes);
  EXPECT_EQ(from_hex(""), "");
  EXPECT_EQ(from_hex("abc"), std::nullopt) << "odd length";
  EXPECT_EQ(from_hex("0g"), std::nullopt);
  EXPECT_EQ(from_hex(" 01"), std::nullopt);
  EXPECT_EQ(hex_digit_value('7'), 7);
  EXPECT_EQ(hex_digit_value('e'), 14);
  EXPECT_EQ(hex_digit_value('E'), 14);
  EXPECT_EQ(hex_digit_value('x'), -1);
}

TEST(AsciiCase, FoldsAsciiLettersOnly) {
  EXPECT_EQ(ascii_lower("Content-TYPE: X/Y"), "content-type: x/y");
  EXPECT_EQ(ascii_upper("queued-1"), "QUEUED-1");
  EXPECT_EQ(ascii_lower("\xC3\x84"), "\xC3\x84") << "UTF-8 bytes are left alone";
  EXPECT_EQ(ascii_lower('Z'), 'z');
  EXPECT_EQ(ascii_lower('['), '[');
  EXPECT_TRUE(iequals("X-Forwarded-For", "x-forwarded-for"));
  EXPECT_FALSE(iequals("bytes", "byte"));
  EXPECT_FALSE(iequals("[", "{")) << "only letters fold ('[' + 32 is '{')";
  EXPECT_TRUE(istarts_with("Bearer abc", "bearer "));
  EXPECT_FALSE(istarts_with("Bear", "bearer "));
  EXPECT_TRUE(iless("accept", "Content-Type"));
  EXPECT_FALSE(iless("CONTENT-TYPE", "content-type"));
  EXPECT_FALSE(iless("content-type", "CONTENT-TYPE"));
  EXPECT_TRUE(iless("a", "\xC3")) << "bytes >= 0x80 order after ASCII";
}

TEST(Base64, UrlEncodingHasNoPaddingAndNoLineBreaks) {
  EXPECT_EQ(base64url(""), "");
  EXPECT_EQ(base64url("f"), "Zg");
  EXPECT_EQ(base64url("fo"), "Zm8");
  EXPECT_EQ(base64url("foo"), "Zm9v");
  EXPECT_EQ(base64url("\xfb\xff"), "-_8");
  const std::string long_input(200, '\xfe');
  const std::string encoded = base64url(long_input);
  EXPECT_EQ(encoded.size(), 267u);
  EXPECT_EQ(
      encoded.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
      std::string::npos);
}

TEST(Base64, DecodesRfc4648TestVectorsWithAndWithoutPadding) {
  // RFC 4648 section 10.
  EXPECT_EQ(decode_base64(""), "");
  EXPECT_EQ(decode_base64("Zg=="), "f");
  EXPECT_EQ(decode_base64("Zm8="), "fo");
  EXPECT_EQ(decode_base64("Zm9v"), "foo");
  EXPECT_EQ(decode_base64("Zm9vYg=="), "foob");
  EXPECT_EQ(decode_base64("Zm9vYmE="), "fooba");
  EXPECT_EQ(decode_base64("Zm9vYmFy"), "foobar");
  EXPECT_EQ(decode_base64("Zg"), "f");
  EXPECT_EQ(decode_base64("Zm8"), "fo");
  EXPECT_EQ(decode_base64("+/+/"), "\xfb\xff\xbf");
  const std::string binary("\x00\xff\r\n", 4);
  EXPECT_EQ(decode_base64("AP8NCg=="), binary);
}

TEST(Base64, RefusesEverythingButTheOneEncoding) {
  EXPECT_EQ(decode_base64("Zg="), std::nullopt) << "incomplete padding";
  EXPECT_EQ(decode_base64("Z==="), std::nullopt);
  EXPECT_EQ(decode_base64("===="), std::nullopt);
  EXPECT_EQ(decode_base64("Z"), std::nullopt) << "one character is no byte";
  EXPECT_EQ(decode_base64("Zm9vY"), std::nullopt);
  EXPECT_EQ(decode_base64("Zm 9v"), std::nullopt) << "whitespace";
  EXPECT_EQ(decode_base64("Zm9v\n"), std::nullopt);
  EXPECT_EQ(decode_base64("Z=g="), std::nullopt) << "'=' inside";
  EXPECT_EQ(decode_base64("-_8"), std::nullopt) << "the URL alphabet";
  EXPECT_EQ(decode_base64("Zh=="), std::nullopt) << "unused bits set (3.5)";
  EXPECT_EQ(decode_base64("Zm9="), std::nullopt) << "unused bits set (3.5)";
  EXPECT_EQ(decode_base64(std::string("Zm\0v", 4)), std::nullopt);
}

TEST(Base64, RoundTripsEveryByteValueAndLength) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t n = 0; n <= all.size(); n += 37) {
    const std::string data = all.substr(0, n);
    std::string standard = base64url(data);
    for (char& c : standard) c = c == '-' ? '+' : c == '_' ? '/' : c;
    EXPECT_EQ(decode_base64(standard), data) << n;
    while (standard.size() % 4) standard += '=';
    EXPECT_EQ(decode_base64(standard), data) << n << " padded";
  }
}

}  // namespace
}  // namespace gen
