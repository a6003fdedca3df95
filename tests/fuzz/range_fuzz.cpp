// The Range header of an artifact download (backend/src/range.cpp). Input: the
// representation's size in decimal, a newline, then the header value. Checks that a
// satisfiable range lies inside the representation.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "fuzz_support.hpp"
#include "range.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = gen::fuzz::as_text(data, size);
  const auto newline = input.find('\n');
  if (newline == std::string_view::npos || newline == 0 || newline > 18) return -1;
  std::int64_t representation = 0;
  for (char c : input.substr(0, newline)) {
    if (c < '0' || c > '9') return -1;
    representation = representation * 10 + (c - '0');
  }
  gen::backend::ByteRange range{-1, -1};
  switch (gen::backend::parse_range(input.substr(newline + 1), representation, range)) {
    case gen::backend::RangeKind::kSatisfiable:
      if (range.first < 0 || range.first > range.last || range.last >= representation) {
        std::abort();
      }
      break;
    case gen::backend::RangeKind::kUnsatisfiable:
    case gen::backend::RangeKind::kNone:
      break;
  }
  return 0;
}
