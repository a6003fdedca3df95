// Stream compression for the PDFs we write.
#pragma once

#include <string>
#include <string_view>

class QPDF;
class QPDFObjectHandle;

namespace gen::pdf {

/// zlib-compresses `data` (fast level: generated content compresses well even so).
std::string deflate_bytes(std::string_view data);

/// Compresses `data` as small as the compressor goes (pdf.optimize): slow, once per stream.
std::string deflate_bytes_best(std::string_view data);

/// A new stream holding `data` compressed with /FlateDecode. QPDFWriter passes such streams
/// through as they are (write with qpdf_dl_none), which is several times faster than letting
/// it compress at zlib's default level.
QPDFObjectHandle new_flate_stream(QPDF& pdf, std::string_view data);

/// A new stream object holding `deflated` (the output of deflate_bytes), /FlateDecode.
QPDFObjectHandle new_deflated_stream(QPDF& pdf, std::string deflated);

}  // namespace gen::pdf
