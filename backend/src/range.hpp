// The Range request header (RFC 9110 14.2) of an artifact download. Apart from
// api_artifacts.cpp so the fuzz target (tests/fuzz/range_fuzz.cpp) can reach it.
#pragma once

#include <cstdint>
#include <string_view>

namespace gen::backend {

struct ByteRange {
  std::int64_t first = 0, last = 0;  // inclusive
};
enum class RangeKind : int { kNone = 0, kSatisfiable = 1, kUnsatisfiable = 2 };

/// A Range header for a representation of `size` bytes. kSatisfiable sets `out` to a range
/// with 0 <= first <= last < size. Several ranges, other units and malformed values are kNone:
/// the answer is the whole representation (allowed). kUnsatisfiable: 416.
RangeKind parse_range(std::string_view header, std::int64_t size, ByteRange& out);

}  // namespace gen::backend
