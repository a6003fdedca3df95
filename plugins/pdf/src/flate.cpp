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

namespace {

#ifdef GEN_PDF_HAVE_LIBDEFLATE
// libdeflate compresses whole buffers about twice as fast as zlib at the same level (and
// smaller); its zlib container is exactly what /FlateDecode expects. One compressor per
// thread and level: run() is called from many threads.
template <int Level>
std::string deflate_at(std::string_view data) {
  struct Compressor {
    libdeflate_compressor* handle = libdeflate_alloc_compressor(Level);
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
constexpr int kFastest = 1;
constexpr int kBest = 12;
#else
template <int Level>
std::string deflate_at(std::string_view data) {
  uLongf size = compressBound(static_cast<uLong>(data.size()));
  std::string out(size, '\0');
  const int rc = compress2(reinterpret_cast<Bytef*>(out.data()), &size,
                           reinterpret_cast<const Bytef*>(data.data()),
                           static_cast<uLong>(data.size()), Level);
  if (rc != Z_OK) throw std::runtime_error("pdf: zlib compression failed");
  out.resize(size);
  return out;
}
constexpr int kFastest = Z_BEST_SPEED;
constexpr int kBest = Z_BEST_COMPRESSION;
#endif

}  // namespace

std::string deflate_bytes(std::string_view data) {
  return deflate_at<kFastest>(data);
}

std::string deflate_bytes_best(std::string_view data) {
  return deflate_at<kBest>(data);
}

QPDFObjectHandle new_flate_stream(QPDF& pdf, std::string_view data) {
  return new_deflated_stream(pdf, deflate_bytes(data));
}

QPDFObjectHandle new_deflated_stream(QPDF& pdf, std::string deflated) {
  QPDFObjectHandle stream = QPDFObjectHandle::newStream(&pdf);
  stream.replaceStreamData(std::move(deflated), QPDFObjectHandle::newName("/FlateDecode"),
                           QPDFObjectHandle::newNull());
  return stream;
}

}  // namespace gen::pdf
