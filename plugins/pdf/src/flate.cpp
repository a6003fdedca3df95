#include "flate.hpp"

#include <stdexcept>

#include <zlib.h>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFObjectHandle.hh>

namespace gen::pdf {

std::string deflate_bytes(std::string_view data) {
  uLongf size = compressBound(static_cast<uLong>(data.size()));
  std::string out(size, '\0');
  const int rc = compress2(reinterpret_cast<Bytef*>(out.data()), &size,
                           reinterpret_cast<const Bytef*>(data.data()),
                           static_cast<uLong>(data.size()), Z_BEST_SPEED);
  if (rc != Z_OK) throw std::runtime_error("pdf: zlib compression failed");
  out.resize(size);
  return out;
}

QPDFObjectHandle new_flate_stream(QPDF& pdf, std::string_view data) {
  QPDFObjectHandle stream = QPDFObjectHandle::newStream(&pdf);
  stream.replaceStreamData(deflate_bytes(data), QPDFObjectHandle::newName("/FlateDecode"),
                           QPDFObjectHandle::newNull());
  return stream;
}

}  // namespace gen::pdf
