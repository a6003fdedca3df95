#include "extract_generator.hpp"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <new>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "document.hpp"
#include "segments.hpp"

namespace gen::content {

using gen::sdk::Context;
using gen::sdk::GeneratorInfo;
using gen::sdk::ParamSpec;
using gen::sdk::ParamType;
using gen::sdk::Status;

namespace {

constexpr const char* kId = "content.extract";

/// A positive size param; the error names it.
std::optional<std::string> size_param(const nlohmann::json& params, const char* name,
                                      std::size_t& out) {
  auto it = params.find(name);
  if (it == params.end() || it->is_null()) return std::nullopt;  // keep the default
  if (!it->is_number_integer() || it->get<std::int64_t>() < 1) {
    return std::string("params.") + name + ": must be a positive integer (bytes)";
  }
  out = static_cast<std::size_t>(it->get<std::int64_t>());
  return std::nullopt;
}

}  // namespace

GeneratorInfo ExtractGenerator::info() const {
  GeneratorInfo info;
  info.id = kId;
  info.version = "1.0.0";
  info.description =
      "Extracts the text of one document (PDF, Markdown, HTML, DOCX, plain text or a SCORM "
      "package) as segments with locations (page, heading path, paragraph, SCORM item) and "
      "token estimates.";
  const Limits defaults;
  std::vector<std::string> formats(std::begin(kFormats), std::end(kFormats));
  info.params = {
      ParamSpec{"format", ParamType::kString, false, "auto",
                "auto (detect from the media type, name and content), pdf, markdown, html, "
                "docx, text or scorm",
                formats},
      ParamSpec{"max_text_bytes", ParamType::kInteger, false, defaults.max_text_bytes,
                "Refuse a document whose extracted text is larger (bytes)"},
      ParamSpec{"max_unzipped_bytes", ParamType::kInteger, false, defaults.max_unzipped_bytes,
                "Refuse a DOCX or SCORM zip that inflates to more (bytes, counted as inflated)"},
  };
  info.input_media_types = {"application/pdf",
                            "text/markdown",
                            "text/x-markdown",
                            "text/html",
                            "application/xhtml+xml",
                            "application/vnd.openxmlformats-officedocument.wordprocessingml."
                            "document",
                            "text/plain",
                            "application/zip",
                            "application/x-zip-compressed",
                            "application/octet-stream"};
  info.output_media_types = {kSegmentsMediaType};
  return info;
}

Status ExtractGenerator::run(Context& context) {
  try {
    const auto& inputs = context.inputs();
    if (inputs.size() != 1) {
      return Status::permanent(std::string(kId) + ": takes exactly one input (the document), got " +
                               std::to_string(inputs.size()));
    }
    const nlohmann::json& params = context.params();
    Limits limits;
    std::string format = "auto";
    if (auto it = params.find("format"); it != params.end() && it->is_string()) {
      format = it->get<std::string>();
    }
    if (std::find(std::begin(kFormats), std::end(kFormats), format) == std::end(kFormats)) {
      return Status::permanent("params.format: unknown format '" + format + "'");
    }
    for (auto [name, field] : {std::pair{"max_text_bytes", &limits.max_text_bytes},
                               std::pair{"max_unzipped_bytes", &limits.max_unzipped_bytes}}) {
      if (auto problem = size_param(params, name, *field)) return Status::permanent(*problem);
    }

    Job job(inputs.front().name, limits, [&context] { return context.cancelled(); });
    Extraction extraction = extract_document(job, inputs.front(), format);
    context.progress(0.9);

    // ordered_json: keys in the documented order, for people reading the artifact.
    nlohmann::ordered_json segments = nlohmann::ordered_json::array();
    for (Segment& segment : extraction.segments) {
      const std::size_t tokens = estimate_tokens(segment.text);
      segments.push_back({{"location", std::move(segment.location)},
                          {"location_kind", std::move(segment.location_kind)},
                          {"text", std::move(segment.text)},
                          {"tokens", tokens}});
    }
    nlohmann::ordered_json document = {
        {"format", extraction.format},
        {"title",
         extraction.title ? nlohmann::ordered_json(*extraction.title) : nlohmann::ordered_json()},
        {"language", nullptr},
        {"segments", std::move(segments)}};
    // Every extractor yields UTF-8; `replace` only guards the output against a slip.
    context.write_output(
        "segments.json", kSegmentsMediaType,
        document.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
    context.progress(1.0);
    return Status::ok();
  } catch (const BadInput& bad) {
    return Status::permanent(bad.message);
  } catch (const Cancelled&) {
    return Status::retryable(std::string(kId) + ": cancelled");
  } catch (const std::bad_alloc&) {
    return Status::permanent(std::string(kId) + ": out of memory extracting the document");
  } catch (const std::exception& error) {
    return Status::retryable(std::string(kId) + ": " + error.what());
  }
}

}  // namespace gen::content
