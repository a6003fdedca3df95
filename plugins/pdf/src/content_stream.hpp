// Writing PDF content streams: numbers as the layout and the header/footer write them.
#pragma once

#include <cmath>
#include <cstddef>
#include <string>

namespace gen::pdf {

/// Appends `value` with at most two decimals ("12.5", "-3", "0.07"): the hot path of
/// content-stream writing, so no locale or printf machinery.
inline void num(std::string& out, double value) {
  long long hundredths = std::llround(value * 100);
  char buffer[32];
  char* const end = buffer + sizeof(buffer);
  char* first = end;
  const bool negative = hundredths < 0;
  if (negative) hundredths = -hundredths;
  const int fraction = static_cast<int>(hundredths % 100);
  if (fraction != 0) {  // written backwards: ".5", ".07", ".25"
    if (fraction % 10 != 0) *--first = static_cast<char>('0' + fraction % 10);
    *--first = static_cast<char>('0' + fraction / 10);
    *--first = '.';
  }
  long long whole = hundredths / 100;
  do {
    *--first = static_cast<char>('0' + whole % 10);
    whole /= 10;
  } while (whole != 0);
  if (negative) *--first = '-';
  out.append(first, static_cast<size_t>(end - first));
}

}  // namespace gen::pdf
