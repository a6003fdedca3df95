// parse_range (backend/src/range.cpp): the Range header of an artifact download.
#include "range.hpp"

#include <gtest/gtest.h>

#include <string>

namespace gen::backend {
namespace {

struct Parsed {
  RangeKind kind;
  ByteRange range;
};

Parsed parse(const std::string& header, std::int64_t size) {
  ByteRange out{-1, -1};
  const RangeKind kind = parse_range(header, size, out);
  return {kind, out};
}

void expect_range(const std::string& header, std::int64_t size, std::int64_t first,
                  std::int64_t last) {
  const Parsed p = parse(header, size);
  EXPECT_EQ(p.kind, RangeKind::kSatisfiable) << header;
  EXPECT_EQ(p.range.first, first) << header;
  EXPECT_EQ(p.range.last, last) << header;
}

TEST(ParseRange, FirstAndLastBytes) {
  expect_range("bytes=0-99", 1000, 0, 99);
  expect_range("bytes=100-199", 1000, 100, 199);
  expect_range("bytes=5-5", 1000, 5, 5);
}

TEST(ParseRange, OpenEndRunsToTheLastByte) {
  expect_range("bytes=900-", 1000, 900, 999);
  expect_range("bytes=0-", 1, 0, 0);
}

TEST(ParseRange, LastBeyondTheEndIsClipped) {
  expect_range("bytes=990-5000", 1000, 990, 999);
  expect_range("bytes=0-999999999999999999", 1000, 0, 999);
}

TEST(ParseRange, SuffixIsTheLastBytes) {
  expect_range("bytes=-100", 1000, 900, 999);
  expect_range("bytes=-5000", 1000, 0, 999);  // more than there is: the whole representation
  expect_range("bytes=-1", 1000, 999, 999);
}

TEST(ParseRange, UnitIsCaseInsensitiveAndBlanksAreAllowed) {
  expect_range("BYTES=0-9", 100, 0, 9);
  expect_range("Bytes=0-9", 100, 0, 9);
  expect_range("  bytes= 10 - 19 \t", 100, 10, 19);
}

TEST(ParseRange, StartAtOrBeyondTheEndIsUnsatisfiable) {
  EXPECT_EQ(parse("bytes=1000-", 1000).kind, RangeKind::kUnsatisfiable);
  EXPECT_EQ(parse("bytes=1000-2000", 1000).kind, RangeKind::kUnsatisfiable);
  EXPECT_EQ(parse("bytes=0-", 0).kind, RangeKind::kUnsatisfiable);
}

TEST(ParseRange, EmptySuffixOrEmptyRepresentationIsUnsatisfiable) {
  EXPECT_EQ(parse("bytes=-0", 1000).kind, RangeKind::kUnsatisfiable);
  EXPECT_EQ(parse("bytes=-10", 0).kind, RangeKind::kUnsatisfiable);
}

TEST(ParseRange, WhatItDoesNotServeIsNoneAndLeavesTheRangeAlone) {
  for (const std::string header :
       {"", "bytes", "bytes=", "bytes=-", "bytes=abc", "bytes=5", "bytes=10-5", "bytes=0-1,5-6",
        "items=0-5", "bytes 0-5", "bytes=+1-5", "bytes=0x1-5", "bytes=1-2-3",
        "bytes=1234567890123456789-", "bytes=-1234567890123456789"}) {
    const Parsed p = parse(header, 1000);
    EXPECT_EQ(p.kind, RangeKind::kNone) << "'" << header << "'";
    EXPECT_EQ(p.range.first, -1) << "'" << header << "'";
    EXPECT_EQ(p.range.last, -1) << "'" << header << "'";
  }
}

}  // namespace
}  // namespace gen::backend
