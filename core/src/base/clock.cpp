#include "gen/core/base/clock.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

#include <Poco/UUIDGenerator.h>

namespace gen {

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string format_iso_time(std::int64_t ms) {
  std::int64_t seconds = ms / 1000;
  int millis = static_cast<int>(ms % 1000);
  if (millis < 0) {
    millis += 1000;
    seconds -= 1;
  }
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

std::string new_id() {
  // UUIDv7 (RFC 9562): the first 48 bits are the time in ms, the rest random (Poco's random
  // UUID with the version nibble set to 7; the variant bits are the same). Ids made close in
  // time sit close in the primary-key indexes, so a batch of tasks claimed or completed
  // together touches a few index pages, not one random page each.
  std::string id = Poco::UUIDGenerator::defaultGenerator().createRandom().toString();
  static constexpr char kHex[] = "0123456789abcdef";
  auto ms = static_cast<std::uint64_t>(now_ms());
  // "tttttttt-tttt-7rrr-...": 12 hex digits of time around the first dash.
  static constexpr int kTimeDigit[12] = {0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12};
  for (int i = 11; i >= 0; --i, ms >>= 4)
    id[static_cast<std::size_t>(kTimeDigit[i])] = kHex[ms & 15];
  id[14] = '7';
  return id;
}

}  // namespace gen
