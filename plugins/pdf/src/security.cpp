// pdf.encrypt (AES-256, revision 6, with permissions) and pdf.decrypt.
#include <memory>
#include <string>

#include <qpdf/QPDF.hh>
#include <qpdf/QPDFWriter.hh>

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

std::string to_bytes(QPDFWriter& writer) {
  writer.write();
  auto buffer = writer.getBufferSharedPointer();
  return std::string(reinterpret_cast<const char*>(buffer->getBuffer()), buffer->getSize());
}

}  // namespace

GeneratorInfo EncryptGenerator::info() const {
  GeneratorInfo info = toolkit_info("pdf.encrypt");
  info.description =
      "Encrypts each input PDF with AES-256 (PDF 2.0 security handler, revision 6): a user "
      "password to open it, an owner password for full rights, and permissions.";
  info.params = {
      ParamSpec{"owner_password", ParamType::kString, true, nullptr,
                "Password that opens the PDF with every right (required, not empty)"},
      ParamSpec{"user_password", ParamType::kString, false, "",
                "Password needed to open the PDF; empty: anyone may open it, with the "
                "permissions below"},
      ParamSpec{"allow_print", ParamType::kBoolean, false, true, "Printing (high quality)"},
      ParamSpec{"allow_modify", ParamType::kBoolean, false, true,
                "Changing the document: content, and inserting, rotating, deleting pages"},
      ParamSpec{"allow_copy", ParamType::kBoolean, false, true, "Copying text and graphics"},
      ParamSpec{"allow_annotate", ParamType::kBoolean, false, true,
                "Adding or changing annotations and filling in forms"},
      ParamSpec{"password", ParamType::kString, false, nullptr,
                "Password of inputs that are already encrypted"},
  };
  return info;
}

Status EncryptGenerator::run(Context& context) {
  return guarded("pdf.encrypt", context, [&] {
    const nlohmann::json& params = context.params();
    const std::string owner = optional_string(params, "owner_password");
    if (owner.empty()) {
      throw BadInput{
          "params.owner_password: required and not empty (an empty owner password would let "
          "anyone lift the restrictions)"};
    }
    const std::string user = optional_string(params, "user_password");
    if (user == owner) {
      throw BadInput{
          "params.user_password: must differ from params.owner_password (otherwise every "
          "reader gets the owner's rights)"};
    }
    const bool print = flag(params, "allow_print", true);
    const bool modify = flag(params, "allow_modify", true);
    const bool copy = flag(params, "allow_copy", true);
    const bool annotate = flag(params, "allow_annotate", true);
    const std::string password = optional_string(params, "password");
    for (const InputArtifact& input : context.inputs()) {
      if (context.cancelled()) throw std::runtime_error("cancelled");
      std::unique_ptr<QPDF> pdf = open_pdf(input, password);
      keep_filtered_streams(*pdf);
      QPDFWriter writer(*pdf);
      writer.setOutputMemory();
      writer.setPreserveEncryption(false);
      writer.setCompressStreams(true);
      writer.setObjectStreamMode(qpdf_o_preserve);
      writer.setR6EncryptionParameters(user.c_str(), owner.c_str(),
                                       /*allow_accessibility=*/true, /*allow_extract=*/copy,
                                       /*allow_assemble=*/modify,
                                       /*allow_annotate_and_form=*/annotate,
                                       /*allow_form_filling=*/annotate,
                                       /*allow_modify_other=*/modify,
                                       print ? qpdf_r3p_full : qpdf_r3p_none,
                                       /*encrypt_metadata_aes=*/true);
      context.write_output(input.name, "application/pdf", to_bytes(writer));
    }
  });
}

GeneratorInfo DecryptGenerator::info() const {
  GeneratorInfo info = toolkit_info("pdf.decrypt");
  info.description =
      "Removes the encryption (and with it the permission restrictions) of each input PDF, "
      "given its user or owner password.";
  info.params = {
      ParamSpec{"password", ParamType::kString, false, "",
                "The user or owner password; empty opens PDFs that have no user password"},
  };
  return info;
}

Status DecryptGenerator::run(Context& context) {
  return guarded("pdf.decrypt", context, [&] {
    const std::string password = optional_string(context.params(), "password");
    for (const InputArtifact& input : context.inputs()) {
      if (context.cancelled()) throw std::runtime_error("cancelled");
      std::unique_ptr<QPDF> pdf = open_pdf(input, password);
      if (!pdf->isEncrypted()) {
        context.log(gen::sdk::LogLevel::kInfo,
                    input_label(input.name) + ": not encrypted; written unchanged");
      }
      context.write_output(input.name, "application/pdf", write_pdf(*pdf));
    }
  });
}

}  // namespace gen::pdf
