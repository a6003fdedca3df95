// backend/src/multipart.cpp: multipart/form-data read as a stream, part by part, with its
// limits (body size, part-header size, boundary length) and precise refusals.
#include "multipart.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "gen/core/base/errors.hpp"

namespace gen::backend {
namespace {

struct SeenPart {
  PartInfo info;
  std::string data;
  std::size_t pieces = 0;
};

class Collect final : public PartHandler {
 public:
  void begin(const PartInfo& part) override { parts.push_back({part, {}, 0}); }
  void data(const char* bytes, std::size_t size) override {
    parts.back().data.append(bytes, size);
    ++parts.back().pieces;
  }
  void end() override { ++ended; }
  std::vector<SeenPart> parts;
  int ended = 0;
};

constexpr const char* kType = "multipart/form-data; boundary=XyZ";

std::vector<SeenPart> read(const std::string& body, std::string_view type = kType,
                           std::int64_t max_bytes = 1 << 30) {
  std::istringstream in(body);
  Collect c;
  read_multipart(type, in, c, max_bytes, [] {});
  EXPECT_EQ(c.ended, static_cast<int>(c.parts.size()));
  return c.parts;
}

// The message of the gen::Error that reading `body` throws, with its code.
std::pair<ErrorCode, std::string> refusal(const std::string& body, std::string_view type = kType,
                                          std::int64_t max_bytes = 1 << 30) {
  try {
    read(body, type, max_bytes);
  } catch (const Error& e) {
    return {e.code(), e.what()};
  }
  return {ErrorCode::kUnset, "no error"};
}

TEST(Multipart, ReadsFieldsAndFilesInOrder) {
  const std::string body =
      "preamble is ignored\r\n"
      "--XyZ\r\n"
      "Content-Disposition: form-data; name=\"job\"\r\n"
      "\r\n"
      "{\"steps\":[]}\r\n"
      "--XyZ\r\n"
      "content-disposition: form-data; NAME=\"file\"; filename=\"a \\\"b\\\".txt\"\r\n"
      "CONTENT-TYPE:  text/plain \r\n"
      "\r\n"
      "line 1\r\n--XyY is not the boundary\r\n\r\n"
      "--XyZ--\r\n"
      "epilogue is ignored";
  auto parts = read(body);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].info.name, "job");
  EXPECT_EQ(parts[0].info.filename, "");
  EXPECT_EQ(parts[0].info.content_type, "");
  EXPECT_EQ(parts[0].data, "{\"steps\":[]}");
  EXPECT_EQ(parts[1].info.name, "file");
  EXPECT_EQ(parts[1].info.filename, "a \"b\".txt");
  EXPECT_EQ(parts[1].info.content_type, "text/plain");
  EXPECT_EQ(parts[1].data, "line 1\r\n--XyY is not the boundary\r\n");
}

TEST(Multipart, BoundaryMayBeQuotedAndPartsEmpty) {
  auto parts = read("--a b\r\nContent-Disposition: form-data; name=x\r\n\r\n\r\n--a b--",
                    "multipart/form-data; charset=utf-8; boundary=\"a b\"");
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].info.name, "x");
  EXPECT_EQ(parts[0].data, "");
  EXPECT_EQ(parts[0].pieces, 0u) << "no empty data() calls";
}

TEST(Multipart, StreamsLargePartsInPiecesAcrossReads) {
  // 600 KB with the separator straddling the parser's 256 KiB reads.
  std::string data(600 * 1024, 'a');
  for (std::size_t i = 0; i < data.size(); i += 997) data[i] = '\r';
  const std::string body =
      "--XyZ\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\n" + data + "\r\n--XyZ--\r\n";
  auto parts = read(body);
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].data, data);
  EXPECT_GE(parts[0].pieces, 3u) << "handed on as read, never the whole part at once";
}

TEST(Multipart, RefusesMalformedBodiesPrecisely) {
  const std::string part = "--XyZ\r\nContent-Disposition: form-data; name=\"job\"\r\n\r\nx";
  EXPECT_EQ(refusal(part + "\r\n--XyZ--", "multipart/form-data").second,
            "multipart/form-data needs a boundary parameter in Content-Type (1-70 chars)");
  EXPECT_EQ(refusal(part, "multipart/form-data; boundary=" + std::string(71, 'b')).first,
            ErrorCode::kBadRequest);
  EXPECT_EQ(refusal("no delimiter at all").second,
            "malformed multipart/form-data body: no boundary line");
  EXPECT_EQ(refusal(part).second,
            "malformed multipart/form-data body: part 'job' is not terminated");
  EXPECT_EQ(refusal("--XyZ\r\nContent-Disposition: form-data; name=\"job\"\r\n").second,
            "malformed multipart/form-data body: part headers do not end");
  EXPECT_EQ(refusal("--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--").second,
            "malformed multipart/form-data body: a part without a Content-Disposition name");
  EXPECT_EQ(refusal("--XyZ junk\r\n").second,
            "malformed multipart/form-data body: boundary line not followed by CRLF");
  // The delimiter must not occur inside a part (RFC 2046 5.1.1), even as a prefix.
  EXPECT_EQ(refusal(part + "\r\n--XyZmore\r\n\r\n--XyZ--").second,
            "malformed multipart/form-data body: boundary line not followed by CRLF");
  EXPECT_EQ(
      refusal("--XyZ\r\nContent-Disposition: form-data; name=\"job\r\n\r\nx\r\n--XyZ--").second,
      "malformed multipart/form-data body: unterminated quoted parameter");
  // Headers that do not end within 16 KiB (of a body read in one piece).
  const std::string long_header =
      "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\nX: " + std::string(17 * 1024, 'h');
  EXPECT_EQ(refusal(long_header).second,
            "malformed multipart/form-data body: part headers longer than 16 KiB");
}

TEST(Multipart, ABodyOverTheLimitCallsTooLargeThenThrows413) {
  const std::string body = "--XyZ\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\n" +
                           std::string(1024 * 1024, 'x') + "\r\n--XyZ--\r\n";
  std::istringstream in(body);
  Collect c;
  int calls = 0;
  try {
    read_multipart(kType, in, c, 300 * 1024, [&] { ++calls; });
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kPayloadTooLarge);
  }
  EXPECT_EQ(calls, 1);
  ASSERT_EQ(c.parts.size(), 1u);
  EXPECT_LE(c.parts[0].data.size(), 300u * 1024) << "nothing past the limit handed on";
  EXPECT_EQ(refusal(body, kType, 1024 * 1024).first, ErrorCode::kPayloadTooLarge);
  EXPECT_EQ(read(body, kType, 2 * 1024 * 1024).size(), 1u);
}

}  // namespace
}  // namespace gen::backend
