#include "gen/core/base/clock.hpp"

#include <set>
#include <string>

#include <gtest/gtest.h>

namespace gen {
namespace {

TEST(FormatIsoTime, WritesUtcWithMilliseconds) {
  EXPECT_EQ(format_iso_time(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_iso_time(1795740114997), "2026-11-27T00:41:54.997Z");
  // Before the epoch the milliseconds still count up within their second.
  EXPECT_EQ(format_iso_time(-1), "1969-12-31T23:59:59.999Z");
}

TEST(NewId, IsAUuidVersion7OrderedByTime) {
  const std::string first = new_id();
  ASSERT_EQ(first.size(), 36u);
  EXPECT_EQ(first[8], '-');
  EXPECT_EQ(first[14], '7');
  // The first 48 bits are the time in ms: "tttttttt-tttt".
  const std::string hex_ms = first.substr(0, 8) + first.substr(9, 4);
  const std::int64_t ms = std::stoll(hex_ms, nullptr, 16);
  EXPECT_LE(ms, now_ms());
  EXPECT_GT(ms, now_ms() - 60'000);
  std::set<std::string> ids{first};
  for (int i = 0; i < 1000; ++i) ids.insert(new_id());
  EXPECT_EQ(ids.size(), 1001u);
}

}  // namespace
}  // namespace gen
