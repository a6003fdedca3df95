// Reading a hostile PDF's streams within a bound: QPDF's getStreamData() inflates a stream
// whole into memory, and 1 MB of Flate data can inflate to 1 GB (two Flate filters in a row:
// to a terabyte). Here the decoded bytes go through a Pipeline that stops the decoder as soon
// as they pass a limit, and polls for cancellation as they arrive.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

class QPDFObjectHandle;

namespace gen::pdf {

/// How a bounded decode ended. Zero is not a valid value.
enum class DecodeEnd : int {
  kDone = 1,
  kTooLarge = 2,   ///< the decoded data passed `max_bytes`; `out` holds the first max_bytes
  kFailed = 3,     ///< the data is damaged or uses a filter QPDF cannot decode
  kCancelled = 4,  ///< `cancelled` returned true (polled every MiB)
};

/// Appends the decoded data of `stream` to `out`, decoding the filters QPDF's own content
/// parsing decodes (generalized and non-lossy specialized: Flate, LZW, ASCII85, ASCIIHex,
/// RunLength); a stream with other filters comes out raw, as QPDF does. `out` never grows
/// past its size at the call plus `max_bytes`.
DecodeEnd decode_bounded(QPDFObjectHandle stream, std::size_t max_bytes, std::string& out,
                         const std::function<bool()>& cancelled = {});

/// "64 MiB", or "1000 bytes" when not a whole number of MiB.
std::string describe_size(std::size_t bytes);

}  // namespace gen::pdf
