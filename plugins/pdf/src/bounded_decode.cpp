#include "bounded_decode.hpp"

#include <stdexcept>

#include <qpdf/Constants.h>
#include <qpdf/Pipeline.hh>
#include <qpdf/QPDFObjectHandle.hh>

namespace gen::pdf {
namespace {

/// The end of the decoding pipeline: appends to a string up to a limit. Throwing from write()
/// is how a Pipeline stops the decoder above it; QPDF catches it and reports a failed
/// decode, and the flags say why.
class BoundedSink final : public Pipeline {
 public:
  BoundedSink(std::string& out, std::size_t max_bytes, const std::function<bool()>& cancelled)
      : Pipeline("bounded decode", nullptr),
        out_(out),
        limit_(out.size() + max_bytes),
        cancelled_(cancelled) {}

  void write(unsigned char const* data, size_t len) override {
    if (len > limit_ - out_.size()) {
      too_large = true;
      throw std::length_error("decoded stream data passes the limit");
    }
    out_.append(reinterpret_cast<const char*>(data), len);
    since_check_ += len;
    if (since_check_ >= kCheckEvery && cancelled_) {
      since_check_ = 0;
      if (cancelled_()) {
        cancelled = true;
        throw std::runtime_error("cancelled");
      }
    }
  }
  void finish() override {}

  bool too_large = false;
  bool cancelled = false;

 private:
  static constexpr std::size_t kCheckEvery = 1024 * 1024;
  std::string& out_;
  std::size_t limit_;
  const std::function<bool()>& cancelled_;
  std::size_t since_check_ = 0;
};

}  // namespace

DecodeEnd decode_bounded(QPDFObjectHandle stream, std::size_t max_bytes, std::string& out,
                         const std::function<bool()>& cancelled) {
  BoundedSink sink(out, max_bytes, cancelled);
  bool ok = false;
  try {
    ok = stream.pipeStreamData(&sink, nullptr, 0, qpdf_dl_specialized,
                               /*suppress_warnings=*/true, /*will_retry=*/false);
  } catch (const std::exception&) {
    ok = false;  // replaced stream data or a provider: QPDF lets the exception through
  }
  if (sink.too_large) return DecodeEnd::kTooLarge;
  if (sink.cancelled) return DecodeEnd::kCancelled;
  return ok ? DecodeEnd::kDone : DecodeEnd::kFailed;
}

std::string describe_size(std::size_t bytes) {
  constexpr std::size_t kMiB = 1024 * 1024;
  if (bytes % kMiB == 0) return std::to_string(bytes / kMiB) + " MiB";
  return std::to_string(bytes) + " bytes";
}

}  // namespace gen::pdf
