// parse_rfc3339_ms (backend/src/job_request.cpp): a job's run_after.
#include "job_request.hpp"

#include <gtest/gtest.h>

#include <string>

namespace gen::backend {
namespace {

// 2030-01-31T08:00:00Z: 60 years and 30 days after the epoch, 15 of the years leap years.
constexpr std::int64_t kJan31_2030_0800 = ((60LL * 365 + 15 + 30) * 86400 + 8 * 3600) * 1000;

TEST(ParseRfc3339Ms, TheEpochAndUtc) {
  EXPECT_EQ(parse_rfc3339_ms("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_rfc3339_ms("1970-01-02T00:00:00Z"), 86400000);
  EXPECT_EQ(parse_rfc3339_ms("2030-01-31T08:00:00Z"), kJan31_2030_0800);
  EXPECT_EQ(parse_rfc3339_ms("2000-03-01T00:00:00Z"), 951868800000);  // after 29 Feb 2000
}

TEST(ParseRfc3339Ms, BeforeTheEpochIsNegative) {
  EXPECT_EQ(parse_rfc3339_ms("1969-12-31T23:59:59Z"), -1000);
  EXPECT_EQ(parse_rfc3339_ms("1969-12-31T23:59:59.5Z"), -500);
}

TEST(ParseRfc3339Ms, FractionsAreMillisecondsTruncated) {
  EXPECT_EQ(parse_rfc3339_ms("1970-01-01T00:00:00.5Z"), 500);
  EXPECT_EQ(parse_rfc3339_ms("1970-01-01T00:00:00.123Z"), 123);
  EXPECT_EQ(parse_rfc3339_ms("1970-01-01T00:00:00.1239999Z"), 123);
  EXPECT_EQ(parse_rfc3339_ms("1970-01-01T00:00:00.000Z"), 0);
}

TEST(ParseRfc3339Ms, OffsetsMoveToUtc) {
  EXPECT_EQ(parse_rfc3339_ms("2030-01-31T09:00:00+01:00"), kJan31_2030_0800);
  EXPECT_EQ(parse_rfc3339_ms("2030-01-31T02:30:00-05:30"), kJan31_2030_0800);
  EXPECT_EQ(parse_rfc3339_ms("2030-01-31T08:00:00+00:00"), kJan31_2030_0800);
  EXPECT_EQ(parse_rfc3339_ms("2030-01-31T08:00:00-00:00"), kJan31_2030_0800);
  // The example of job_request.hpp: 08:00:00.5 at +01:00 is 07:00:00.5 UTC.
  EXPECT_EQ(parse_rfc3339_ms("2030-01-31T08:00:00.5+01:00"), kJan31_2030_0800 - 3600000 + 500);
}

TEST(ParseRfc3339Ms, LowercaseTAndZAreAccepted) {
  EXPECT_EQ(parse_rfc3339_ms("2030-01-31t08:00:00z"), kJan31_2030_0800);
}

TEST(ParseRfc3339Ms, LeapSecondCountsAsTheSecondBefore) {
  EXPECT_EQ(parse_rfc3339_ms("2016-12-31T23:59:60Z"), parse_rfc3339_ms("2016-12-31T23:59:59Z"));
}

TEST(ParseRfc3339Ms, MalformedIsNullopt) {
  for (const std::string text : {
           "",
           "2030-01-31",                 // a date alone
           "2030-01-31T08:00:00",        // no offset
           "2030-01-31 08:00:00Z",       // space for T
           "2030-1-31T08:00:00Z",        // one-digit month
           "2030-01-31T08:00Z",          // no seconds
           "2030-01-31T08:00:00.Z",      // a dot without digits
           "2030-01-31T08:00:00+0100",   // offset without colon
           "2030-01-31T08:00:00+01",     // short offset
           "2030-01-31T08:00:00+24:00",  // offset hour out of range
           "2030-01-31T08:00:00+01:60",  // offset minute out of range
           "2030-01-31T08:00:00Zjunk",   // trailing text
           "2030-01-31T08:00:00Z ",      // trailing blank
           "2030-13-01T00:00:00Z",       // month 13
           "2030-00-01T00:00:00Z",       // month 0
           "2030-01-32T00:00:00Z",       // day 32
           "2030-04-31T00:00:00Z",       // 31 April
           "2030-02-30T00:00:00Z",       // 30 February
           "2030-01-00T00:00:00Z",       // day 0
           "2030-01-31T24:00:00Z",       // hour 24
           "2030-01-31T08:60:00Z",       // minute 60
           "2030-01-31T08:00:61Z",       // second 61
           "+2030-01-31T08:00:00Z",      // sign on the year
           "203a-01-31T08:00:00Z",       // not a digit
       }) {
    EXPECT_EQ(parse_rfc3339_ms(text), std::nullopt) << "'" << text << "'";
  }
}

}  // namespace
}  // namespace gen::backend
