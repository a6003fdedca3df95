// Helpers shared by the QPDF toolkit generators (toolkit.cpp, stamp.cpp, security.cpp).
#pragma once

#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <qpdf/QPDF.hh>
#include <qpdf/QPDFExc.hh>

#include <gen/sdk/generator.hpp>

namespace gen::pdf::detail {

/// An input-caused failure: becomes Status::permanent.
struct BadInput {
  std::string message;
};

/// "input 'name'", the prefix of every message about an input.
std::string input_label(std::string_view name);

/// params[key] as a string; empty when absent or null; BadInput when not a string.
std::string optional_string(const nlohmann::json& params, const char* key);

/// A boolean param; `fallback` when absent or null; BadInput when not a boolean.
bool flag(const nlohmann::json& params, const char* key, bool fallback);

/// The input's name without directories and a trailing ".pdf" ("document" when empty).
std::string stem_of(std::string_view name);

/// Opens `input` strictly (no recovery, no warnings). Throws BadInput with a precise message:
/// empty, not a PDF, damaged (with the byte offset), password required or wrong.
std::unique_ptr<QPDF> open_pdf(const gen::sdk::InputArtifact& input, const std::string& password);

/// 1-based page numbers of `range` ("1-3,5", "z", "r1"; empty = all). BadInput names `field`.
std::vector<int> page_numbers(const std::string& range, int page_count, const std::string& field);

/// Writes `pdf` unencrypted, streams compressed, object streams preserved.
std::string write_pdf(QPDF& pdf);

/// Marks every stream that already has a /Filter to be written as it is. QPDFWriter with
/// compression on decodes and re-deflates every filtered stream but a plain /FlateDecode one,
/// in full: a stream filtered [/FlateDecode /FlateDecode] inflates 1,000,000:1, so a 10 kB
/// input took minutes. Unfiltered streams (bounded by the file's size) are still compressed.
void keep_filtered_streams(QPDF& pdf);

/// The `password` param spec (the password of encrypted inputs).
gen::sdk::ParamSpec password_param();

/// What every toolkit generator's info starts from: `id`, version 1.0.0, PDF inputs, a PDF
/// output (generators producing something else set output_media_types themselves).
gen::sdk::GeneratorInfo toolkit_info(std::string id);

/// Runs `body`, turning exceptions into Status: bad input and QPDF parse errors are
/// permanent, anything else retryable.
template <typename Body>
gen::sdk::Status guarded(const char* id, gen::sdk::Context& context, Body&& body) {
  using gen::sdk::Status;
  try {
    if (context.inputs().empty()) {
      return Status::permanent(std::string(id) + ": no input: give one or more PDF artifacts");
    }
    body();
    context.progress(1.0);
    return Status::ok();
  } catch (const BadInput& error) {
    return Status::permanent(error.message);
  } catch (const QPDFExc& error) {
    return Status::permanent(std::string(id) + ": damaged PDF: " + error.what());
  } catch (const std::exception& error) {
    return Status::retryable(std::string(id) + ": " + error.what());
  }
}

}  // namespace gen::pdf::detail
