// Wall-clock time and the ids derived from it, shared by every area (rows are stamped in
// milliseconds since the Unix epoch; ids are UUIDv7, time-ordered).
#pragma once

#include <cstdint>
#include <string>

namespace gen {

/// Milliseconds since the Unix epoch.
std::int64_t now_ms();
/// `ms` since the epoch as UTC ISO 8601 with milliseconds: "2026-11-27T00:41:54.997Z".
std::string format_iso_time(std::int64_t ms);
/// A UUIDv7 string: time-ordered to the millisecond, random within it.
std::string new_id();

}  // namespace gen
