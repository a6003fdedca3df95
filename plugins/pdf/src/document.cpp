// pdf.metadata (the Info dictionary) and pdf.optimize (object streams, recompression,
// linearization).
#include <algorithm>
#include <array>
#include <functional>
#include <memory>
#include <string>

#include <qpdf/Buffer.hh>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFObjectHandle.hh>
#include <qpdf/QPDFWriter.hh>

#include "bounded_decode.hpp"
#include "flate.hpp"
#include "toolkit.hpp"
#include "toolkit_common.hpp"

namespace gen::pdf {

using gen::sdk::Context;
using gen::sdk::GeneratorInfo;
using gen::sdk::InputArtifact;
using gen::sdk::ParamSpec;
using gen::sdk::ParamType;
using gen::sdk::Status;
using namespace detail;

namespace {

/// The Info fields pdf.metadata sets: param name -> Info key.
constexpr std::array<std::pair<const char*, const char*>, 6> kInfoFields = {{
    {"title", "/Title"},
    {"author", "/Author"},
    {"subject", "/Subject"},
    {"keywords", "/Keywords"},
    {"creator", "/Creator"},
    {"producer", "/Producer"},
}};

/// Recompression decodes each stream in memory: a stream decoding to more than this is left
/// as it is (a 2 MB Flate bomb once took 4.27 GB and 102 s here).
constexpr std::size_t kMaxRecompressStreamBytes = 64 * 1024 * 1024;
/// ... and once this much has been decoded in one document, the rest are left as they are.
constexpr std::size_t kMaxRecompressDocumentBytes = 512 * 1024 * 1024;

/// Re-deflates every Flate-only stream (and compresses unfiltered ones) at the strongest
/// level, keeping the result only where it is smaller. Streams with predictors or other
/// filters, XMP metadata (kept readable), and streams past the limits above are left alone.
void recompress_streams(QPDF& pdf, Context& context, const std::string& label) {
  const std::function<bool()> cancelled = [&context] { return context.cancelled(); };
  std::size_t decoded_total = 0;
  std::size_t skipped = 0;
  for (QPDFObjectHandle& object : pdf.getAllObjects()) {
    if (!object.isStream()) continue;
    if (context.cancelled()) throw std::runtime_error("cancelled");
    QPDFObjectHandle dict = object.getDict();
    if (dict.getKey("/Type").isNameAndEquals("/Metadata")) continue;
    QPDFObjectHandle parms = dict.getKey("/DecodeParms");
    if (!parms.isNull() &&
        !(parms.isArray() && parms.getArrayNItems() == 1 && parms.getArrayItem(0).isNull())) {
      continue;
    }
    QPDFObjectHandle filter = dict.getKey("/Filter");
    if (filter.isArray() && filter.getArrayNItems() == 1) filter = filter.getArrayItem(0);
    const bool flate = filter.isNameAndEquals("/FlateDecode");
    if (!flate && !filter.isNull()) continue;
    if (decoded_total >= kMaxRecompressDocumentBytes) {
      ++skipped;
      continue;
    }
    std::string data;
    const DecodeEnd end = decode_bounded(
        object, std::min(kMaxRecompressStreamBytes, kMaxRecompressDocumentBytes - decoded_total),
        data, cancelled);
    decoded_total += data.size();
    if (end == DecodeEnd::kCancelled) throw std::runtime_error("cancelled");
    if (end == DecodeEnd::kTooLarge) ++skipped;
    if (end != DecodeEnd::kDone) continue;  // too large or undecodable: leave it as it was
    std::shared_ptr<Buffer> raw = object.getRawStreamData();
    std::string compressed = deflate_bytes_best(data);
    if (compressed.size() < raw->getSize()) {
      object.replaceStreamData(compressed, QPDFObjectHandle::newName("/FlateDecode"),
                               QPDFObjectHandle::newNull());
    }
  }
  if (skipped > 0) {
    context.log(gen::sdk::LogLevel::kWarning,
                label + ": " + std::to_string(skipped) +
                    " streams left as they were: recompression decodes at most " +
                    describe_size(kMaxRecompressStreamBytes) + " per stream and " +
                    describe_size(kMaxRecompressDocumentBytes) + " per document");
  }
}

}  // namespace

GeneratorInfo MetadataGenerator::info() const {
  GeneratorInfo info = toolkit_info("pdf.metadata");
  info.description =
      "Sets or removes document Info fields (title, author, subject, keywords, creator, "
      "producer) of each input PDF.";
  for (const auto& [name, key] : kInfoFields) {
    info.params.push_back(ParamSpec{
        name, ParamType::kAny, false, nullptr,
        std::string("Info ") + (key + 1) + ": a string sets it, null removes it, absent keeps it"});
  }
  info.params.push_back(password_param());
  return info;
}

Status MetadataGenerator::run(Context& context) {
  return guarded("pdf.metadata", context, [&] {
    const nlohmann::json& params = context.params();
    bool any = false;
    for (const auto& [name, key] : kInfoFields) {
      auto it = params.find(name);
      if (it == params.end()) continue;
      if (!it->is_null() && !it->is_string()) {
        throw BadInput{std::string("params.") + name + ": must be a string, or null to remove it"};
      }
      any = true;
    }
    if (!any) {
      throw BadInput{
          "pdf.metadata: nothing to change: give at least one of title, author, subject, "
          "keywords, creator, producer (a string sets it, null removes it)"};
    }
    const std::string password = optional_string(params, "password");
    for (const InputArtifact& input : context.inputs()) {
      std::unique_ptr<QPDF> pdf = open_pdf(input, password);
      QPDFObjectHandle trailer = pdf->getTrailer();
      QPDFObjectHandle info = trailer.getKey("/Info");
      if (!info.isDictionary()) {
        info = pdf->makeIndirectObject(QPDFObjectHandle::newDictionary());
        trailer.replaceKey("/Info", info);
      }
      for (const auto& [name, key] : kInfoFields) {
        auto it = params.find(name);
        if (it == params.end()) continue;
        if (it->is_null()) {
          info.removeKey(key);
        } else {
          info.replaceKey(key, QPDFObjectHandle::newUnicodeString(it->get<std::string>()));
        }
      }
      context.write_output(input.name, "application/pdf", write_pdf(*pdf));
    }
  });
}

GeneratorInfo OptimizeGenerator::info() const {
  GeneratorInfo info = toolkit_info("pdf.optimize");
  info.description =
      "Rewrites each input PDF smaller and web-ready: objects packed into compressed object "
      "streams, Flate streams recompressed at the strongest level, linearized (fast web view).";
  info.params = {
      ParamSpec{"object_streams", ParamType::kBoolean, false, true,
                "Pack objects into compressed object streams (PDF 1.5)"},
      ParamSpec{"recompress", ParamType::kBoolean, false, true,
                "Recompress Flate and uncompressed streams at the strongest level, where smaller"},
      ParamSpec{"linearize", ParamType::kBoolean, false, true,
                "Linearize for fast web view (first page shown before the whole file arrives)"},
      password_param(),
  };
  return info;
}

Status OptimizeGenerator::run(Context& context) {
  return guarded("pdf.optimize", context, [&] {
    const nlohmann::json& params = context.params();
    const bool object_streams = flag(params, "object_streams", true);
    const bool recompress = flag(params, "recompress", true);
    const bool linearize = flag(params, "linearize", true);
    const std::string password = optional_string(params, "password");
    const auto& inputs = context.inputs();
    for (size_t i = 0; i < inputs.size(); ++i) {
      const InputArtifact& input = inputs[i];
      std::unique_ptr<QPDF> pdf = open_pdf(input, password);
      if (recompress) recompress_streams(*pdf, context, input_label(input.name));
      keep_filtered_streams(*pdf);  // after recompression: its new streams are final too
      QPDFWriter writer(*pdf);
      writer.setOutputMemory();
      writer.setPreserveEncryption(false);
      writer.setCompressStreams(true);
      writer.setDecodeLevel(qpdf_dl_none);  // streams pass through as prepared above
      writer.setObjectStreamMode(object_streams ? qpdf_o_generate : qpdf_o_disable);
      writer.setLinearization(linearize);
      writer.setDeterministicID(true);
      writer.write();
      auto buffer = writer.getBufferSharedPointer();
      context.log(gen::sdk::LogLevel::kInfo, input_label(input.name) + ": " +
                                                 std::to_string(input.data.size()) + " -> " +
                                                 std::to_string(buffer->getSize()) + " bytes");
      context.write_output(
          input.name, "application/pdf",
          std::string_view(reinterpret_cast<const char*>(buffer->getBuffer()), buffer->getSize()));
      context.progress(static_cast<double>(i + 1) / static_cast<double>(inputs.size()));
    }
  });
}

}  // namespace gen::pdf
