#include "flate.hpp"

#include <stdexcept>

#include <qpdf/QPDF.hh>
#include <qpdf/QPDFObjectHandle.hh>

#ifdef GEN_PDF_HAVE_LIBDEFLATE
#include <libdeflate.h>
#else
#include <zlib.h>
#endif

namespace gen::pdf {

#ifdef GEN_PDF_HAVE_LIBDEFLATE
// libdeflate compresses whole buffers about twice as fast as zlib at the same level (and
// smaller); its zlib container is exactly what /FlateDecode expects.
std::string deflate_bytes(std::string_view data) {
  struct Compressor {
    libdeflate_compressor* handle = libdeflate_alloc_compressor(1);
    ~Compressor() { libdeflate_free_compressor(handle); }
  };
  thread_local Compressor compressor;  // run() is called from many threads
  if (compressor.handle == nullptr) throw std::runtime_error("pdf: out of memory (deflate)");
  std::string out(libdeflate_zlib_compress_bound(compressor.handle, data.size()), '\0');
  const size_t size =
      libdeflate_zlib_compress(compressor.handle, data.data(), data.size(), out.data(), out.size());
  if (size == 0) throw std::runtime_error("pdf: deflate failed");
  out.resize(size);
  return out;
}

std::string deflate_bytes_best(std::string_view data) {
  struct Compressor {
    libdeflate_compressor* handle = libdeflate_alloc_compressor(12);
    ~Compressor() { libdeflate_free_compressor(handle); }
  };
  thread_local Compressor compressor;
  if (compressor.handle == nullptr) throw std::runtime_error("pdf: out of memory (deflate)");
  std::string out(libdeflate_zlib_compress_bound(compressor.handle, data.size()), '\0');
  const size_t size =
      libdeflate_zlib_compress(compressor.handle, data.data(), data.size(), out.data(), out.size());
  if (size == 0) throw std::runtime_error("pdf: deflate failed");
  out.resize(size);
  return out;
}
#else
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

std::string deflate_bytes_best(std::string_view data) {
  uLongf size = compressBound(static_cast<uLong>(data.size()));
  std::string out(size, '\0');
  const int rc = compress2(reinterpret_cast<Bytef*>(out.data()), &size,
                           reinterpret_cast<const Bytef*>(data.data()),
                           static_cast<uLong>(data.size()), Z_BEST_COMPRESSION);
  if (rc != Z_OK) throw std::runtime_error("pdf: zlib compression failed");
  out.resize(size);
  return out;
}
#endif

QPDFObjectHandle new_flate_stream(QPDF& pdf, std::string_view data) {
  QPDFObjectHandle stream = QPDFObjectHandle::newStream(&pdf);
  stream.replaceStreamData(deflate_bytes(data), QPDFObjectHandle::newName("/FlateDecode"),
                           QPDFObjectHandle::newNull());
  return stream;
}

}  // namespace gen::pdf
