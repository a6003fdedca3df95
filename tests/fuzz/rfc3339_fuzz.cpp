// RFC 3339 timestamps (parse_rfc3339_ms in backend/src/job_request.cpp: a job's run_after).
// Input: the timestamp text. Checks that an accepted timestamp lies within years 0000-9999
// (give or take the largest offset) and reads the same with 't' and 'z' in lower case.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "job_request.hpp"

namespace {
constexpr std::int64_t kDayMs = 24ll * 60 * 60 * 1000;
constexpr std::int64_t kYear0000Ms = -62'167'219'200'000;   // 0000-01-01T00:00:00Z
constexpr std::int64_t kYear10000Ms = 253'402'300'800'000;  // 10000-01-01T00:00:00Z
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = gen::fuzz::as_text(data, size);
  const auto ms = gen::backend::parse_rfc3339_ms(text);
  if (!ms) return 0;
  if (*ms < kYear0000Ms - kDayMs || *ms >= kYear10000Ms + kDayMs) std::abort();
  // The same instant written with 'Z' and 't'/'z' in lower case parses the same (RFC 3339 5.6).
  if (text.size() >= 20 && (text[10] == 'T' || text[10] == 't')) {
    std::string lower(text);
    lower[10] = 't';
    if (lower.back() == 'Z') lower.back() = 'z';
    if (gen::backend::parse_rfc3339_ms(lower) != ms) std::abort();
  }
  return 0;
}
