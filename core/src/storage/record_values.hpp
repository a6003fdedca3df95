// Reading typed values out of a Poco RecordSet, NULL-aware. Private to core/src.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <Poco/Data/RecordSet.h>

namespace gen::rows {

inline bool is_null(const Poco::Data::RecordSet& rs, std::size_t col, std::size_t row) {
  return rs.value(col, row).isEmpty();
}

/// "" for NULL.
inline std::string str(const Poco::Data::RecordSet& rs, std::size_t col, std::size_t row) {
  Poco::Dynamic::Var v = rs.value(col, row);
  return v.isEmpty() ? std::string() : v.convert<std::string>();
}

/// 0 for NULL.
inline std::int64_t i64(const Poco::Data::RecordSet& rs, std::size_t col, std::size_t row) {
  Poco::Dynamic::Var v = rs.value(col, row);
  return v.isEmpty() ? 0 : v.convert<Poco::Int64>();
}

inline std::optional<std::int64_t> opt_i64(const Poco::Data::RecordSet& rs, std::size_t col,
                                           std::size_t row) {
  if (is_null(rs, col, row)) return std::nullopt;
  return i64(rs, col, row);
}

/// 0 for NULL.
inline double dbl(const Poco::Data::RecordSet& rs, std::size_t col, std::size_t row) {
  Poco::Dynamic::Var v = rs.value(col, row);
  return v.isEmpty() ? 0.0 : v.convert<double>();
}

}  // namespace gen::rows
