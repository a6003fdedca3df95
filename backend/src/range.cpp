#include "range.hpp"

#include <algorithm>

#include "gen/core/base/text.hpp"

namespace gen::backend {

RangeKind parse_range(std::string_view header, std::int64_t size, ByteRange& out) {
  auto trim = [](std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
  };
  header = trim(header);
  if (header.size() < 6 || !iequals(header.substr(0, 6), "bytes=")) return RangeKind::kNone;
  std::string_view spec = trim(header.substr(6));
  if (spec.find(',') != std::string_view::npos) return RangeKind::kNone;
  auto dash = spec.find('-');
  if (dash == std::string_view::npos) return RangeKind::kNone;
  auto number = [](std::string_view v, std::int64_t& n) {
    v = v.substr(0, v.find_last_not_of(" \t") + 1);
    v.remove_prefix(std::min(v.find_first_not_of(" \t"), v.size()));
    if (v.empty() || v.size() > 18) return false;
    n = 0;
    for (char c : v) {
      if (c < '0' || c > '9') return false;
      n = n * 10 + (c - '0');
    }
    return true;
  };
  std::string_view a = spec.substr(0, dash), b = spec.substr(dash + 1);
  if (trim(a).empty()) {  // suffix: the last n bytes
    std::int64_t n = 0;
    if (!number(b, n)) return RangeKind::kNone;
    if (n == 0 || size == 0) return RangeKind::kUnsatisfiable;
    out = {std::max<std::int64_t>(0, size - n), size - 1};
    return RangeKind::kSatisfiable;
  }
  std::int64_t first = 0, last = size - 1;
  if (!number(a, first)) return RangeKind::kNone;
  if (!trim(b).empty()) {
    if (!number(b, last) || last < first) return RangeKind::kNone;
  }
  if (first >= size) return RangeKind::kUnsatisfiable;
  out = {first, std::min(last, size - 1)};
  return RangeKind::kSatisfiable;
}

}  // namespace gen::backend
