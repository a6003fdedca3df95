#include "toolkit.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <qpdf/QPDF.hh>
#include <qpdf/QPDFExc.hh>
#include <qpdf/QPDFObjectHandle.hh>
#include <qpdf/QPDFOutlineDocumentHelper.hh>
#include <qpdf/QPDFPageDocumentHelper.hh>
#include <qpdf/QPDFPageObjectHelper.hh>
#include <qpdf/QPDFWriter.hh>
#include <qpdf/QUtil.hh>

#include "text_extraction.hpp"
#include "toolkit_common.hpp"

namespace gen::pdf {

using gen::sdk::Context;
using gen::sdk::GeneratorInfo;
using gen::sdk::InputArtifact;
using gen::sdk::ParamSpec;
using gen::sdk::ParamType;
using gen::sdk::Status;

namespace detail {

std::string input_label(std::string_view name) {
  return "input '" + std::string(name) + "'";
}

std::string optional_string(const nlohmann::json& params, const char* key) {
  auto it = params.find(key);
  if (it == params.end() || it->is_null()) return {};
  if (!it->is_string()) throw BadInput{std::string("params.") + key + ": must be a string"};
  return it->get<std::string>();
}

std::string stem_of(std::string_view name) {
  std::string stem(name);
  const size_t slash = stem.find_last_of('/');
  if (slash != std::string::npos) stem.erase(0, slash + 1);
  if (stem.size() > 4) {
    std::string tail = stem.substr(stem.size() - 4);
    std::transform(tail.begin(), tail.end(), tail.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (tail == ".pdf") stem.resize(stem.size() - 4);
  }
  return stem.empty() ? "document" : stem;
}

/// Opens `input` strictly. Throws BadInput with a precise message.
std::unique_ptr<QPDF> open_pdf(const InputArtifact& input, const std::string& password) {
  if (input.data.empty())
    throw BadInput{input_label(input.name) + ": empty file (0 bytes), not a PDF"};
  if (input.data.substr(0, 1024).find("%PDF-") == std::string_view::npos) {
    throw BadInput{input_label(input.name) +
                   ": not a PDF (no %PDF- header in the first 1024 bytes)"};
  }
  auto pdf = std::make_unique<QPDF>();
  pdf->setSuppressWarnings(true);
  pdf->setAttemptRecovery(false);
  try {
    pdf->processMemoryFile(input.name.c_str(), input.data.data(), input.data.size(),
                           password.empty() ? nullptr : password.c_str());
    // Read the page tree now, so damage shows here and not halfway through the work.
    QPDFPageDocumentHelper(*pdf).getAllPages();
  } catch (const QPDFExc& error) {
    if (error.getErrorCode() == qpdf_e_password) {
      throw BadInput{input_label(input.name) +
                     (password.empty() ? ": encrypted PDF, a password is required "
                                         "(params.password)"
                                       : ": encrypted PDF, wrong password (params.password)")};
    }
    std::string message = input_label(input.name) + ": damaged PDF";
    if (error.getFilePosition() > 0)
      message += " (at byte " + std::to_string(error.getFilePosition()) + ")";
    throw BadInput{message + ": " + error.getMessageDetail()};
  } catch (const std::exception& error) {
    throw BadInput{input_label(input.name) + ": unreadable PDF: " + error.what()};
  }
  return pdf;
}

std::vector<int> page_numbers(const std::string& range, int page_count, const std::string& field) {
  if (range.empty()) {
    std::vector<int> all(static_cast<size_t>(page_count));
    for (int i = 0; i < page_count; ++i) all[static_cast<size_t>(i)] = i + 1;
    return all;
  }
  try {
    return QUtil::parse_numrange(range.c_str(), page_count);
  } catch (const std::exception& error) {
    throw BadInput{field + ": bad page range '" + range + "' (document has " +
                   std::to_string(page_count) + " pages): " + error.what()};
  }
}

void keep_filtered_streams(QPDF& pdf) {
  for (QPDFObjectHandle& object : pdf.getAllObjects()) {
    if (object.isStream() && !object.getDict().getKey("/Filter").isNull()) {
      object.setFilterOnWrite(false);
    }
  }
}

std::string write_pdf(QPDF& pdf) {
  keep_filtered_streams(pdf);
  QPDFWriter writer(pdf);
  writer.setOutputMemory();
  writer.setPreserveEncryption(false);  // outputs are never encrypted
  writer.setCompressStreams(true);
  writer.setObjectStreamMode(qpdf_o_preserve);
  writer.write();
  auto buffer = writer.getBufferSharedPointer();
  return std::string(reinterpret_cast<const char*>(buffer->getBuffer()), buffer->getSize());
}

bool flag(const nlohmann::json& params, const char* key, bool fallback) {
  auto it = params.find(key);
  if (it == params.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) throw BadInput{std::string("params.") + key + ": must be true or false"};
  return it->get<bool>();
}

GeneratorInfo toolkit_info(std::string id) {
  GeneratorInfo info;
  info.id = std::move(id);
  info.version = "1.0.0";
  info.input_media_types = {"application/pdf", "application/octet-stream"};
  info.output_media_types = {"application/pdf"};
  return info;
}

ParamSpec password_param() {
  return ParamSpec{"password", ParamType::kString, false, nullptr,
                   "Password of encrypted inputs (the same for all)"};
}

}  // namespace detail

using namespace detail;

// ---------------------------------------------------------------------------------------

GeneratorInfo MergeGenerator::info() const {
  GeneratorInfo info = toolkit_info("pdf.merge");
  info.description = "Concatenates the input PDFs (optionally a page range of each) into one PDF.";
  info.params = {
      ParamSpec{
          "ranges", ParamType::kArray, false, nullptr,
          "Page range per input, in input order (\"1-3,5\", \"z\" = last page, \"r1\" = last, "
          "\"\" or null = all)"},
      ParamSpec{"output_name", ParamType::kString, false, "merged.pdf", "Name of the PDF artifact"},
      password_param(),
  };
  return info;
}

Status MergeGenerator::run(Context& context) {
  return guarded("pdf.merge", context, [&] {
    const nlohmann::json& params = context.params();
    const std::string password = optional_string(params, "password");
    std::string output_name = optional_string(params, "output_name");
    if (output_name.empty()) output_name = "merged.pdf";
    const auto& inputs = context.inputs();
    nlohmann::json ranges = nlohmann::json::array();
    if (auto it = params.find("ranges"); it != params.end() && !it->is_null()) {
      if (!it->is_array()) throw BadInput{"params.ranges: must be an array of page ranges"};
      if (it->size() > inputs.size()) {
        throw BadInput{"params.ranges: " + std::to_string(it->size()) + " ranges for " +
                       std::to_string(inputs.size()) + " inputs"};
      }
      ranges = *it;
    }
    QPDF out;
    out.emptyPDF();
    out.setSuppressWarnings(true);
    QPDFPageDocumentHelper out_pages(out);
    std::vector<std::unique_ptr<QPDF>> sources;  // alive until written
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (context.cancelled()) throw std::runtime_error("cancelled");
      sources.push_back(open_pdf(inputs[i], password));
      std::string range;
      const std::string field = "params.ranges[" + std::to_string(i) + "]";
      if (i < ranges.size() && !ranges[i].is_null()) {
        if (!ranges[i].is_string()) throw BadInput{field + ": must be a string"};
        range = ranges[i].get<std::string>();
      }
      auto pages = QPDFPageDocumentHelper(*sources.back()).getAllPages();
      for (int number : page_numbers(range, static_cast<int>(pages.size()), field)) {
        out_pages.addPage(pages[static_cast<size_t>(number - 1)], false);
      }
      context.progress(0.8 * static_cast<double>(i + 1) / static_cast<double>(inputs.size()));
    }
    context.write_output(output_name, "application/pdf", write_pdf(out));
  });
}

// ---------------------------------------------------------------------------------------

GeneratorInfo SplitGenerator::info() const {
  GeneratorInfo info = toolkit_info("pdf.split");
  info.description =
      "Splits the input PDF into several: by page ranges, or every N pages (default 1).";
  info.params = {
      ParamSpec{"ranges", ParamType::kArray, false, nullptr,
                "One output per range (\"1-3\", \"4-z\"); overrides 'every'"},
      ParamSpec{"every", ParamType::kInteger, false, 1, "Pages per output when no ranges"},
      ParamSpec{"output_prefix", ParamType::kString, false, nullptr,
                "Outputs are <prefix>-<n>.pdf; default: the input's name without .pdf"},
      password_param(),
  };
  return info;
}

Status SplitGenerator::run(Context& context) {
  return guarded("pdf.split", context, [&] {
    const nlohmann::json& params = context.params();
    const auto& inputs = context.inputs();
    if (inputs.size() != 1) {
      throw BadInput{"pdf.split: takes exactly one PDF input, got " +
                     std::to_string(inputs.size())};
    }
    std::unique_ptr<QPDF> source = open_pdf(inputs[0], optional_string(params, "password"));
    auto pages = QPDFPageDocumentHelper(*source).getAllPages();
    const int count = static_cast<int>(pages.size());
    std::vector<std::vector<int>> groups;
    if (auto it = params.find("ranges"); it != params.end() && !it->is_null()) {
      if (!it->is_array() || it->empty()) {
        throw BadInput{"params.ranges: must be a non-empty array of page ranges"};
      }
      for (size_t i = 0; i < it->size(); ++i) {
        const std::string field = "params.ranges[" + std::to_string(i) + "]";
        if (!(*it)[i].is_string() || (*it)[i].get<std::string>().empty()) {
          throw BadInput{field + ": must be a page range such as \"1-3\""};
        }
        groups.push_back(page_numbers((*it)[i].get<std::string>(), count, field));
      }
    } else {
      long long every = 1;
      if (auto e = params.find("every"); e != params.end() && !e->is_null()) {
        if (!e->is_number_integer() || e->get<long long>() < 1) {
          throw BadInput{"params.every: must be a whole number of pages, at least 1"};
        }
        every = e->get<long long>();
      }
      for (int first = 1; first <= count;
           first += static_cast<int>(std::min<long long>(every, count))) {
        std::vector<int> group;
        for (int p = first; p < first + every && p <= count; ++p) group.push_back(p);
        groups.push_back(std::move(group));
      }
    }
    std::string prefix = optional_string(params, "output_prefix");
    if (prefix.empty()) prefix = stem_of(inputs[0].name);
    const int digits = static_cast<int>(std::to_string(groups.size()).size());
    for (size_t g = 0; g < groups.size(); ++g) {
      if (context.cancelled()) throw std::runtime_error("cancelled");
      QPDF out;
      out.emptyPDF();
      out.setSuppressWarnings(true);
      QPDFPageDocumentHelper out_pages(out);
      for (int number : groups[g]) out_pages.addPage(pages[static_cast<size_t>(number - 1)], false);
      std::string index = std::to_string(g + 1);
      index.insert(0, static_cast<size_t>(digits) - index.size(), '0');
      context.write_output(prefix + "-" + index + ".pdf", "application/pdf", write_pdf(out));
      context.progress(static_cast<double>(g + 1) / static_cast<double>(groups.size()));
    }
  });
}

// ---------------------------------------------------------------------------------------

GeneratorInfo RotateGenerator::info() const {
  GeneratorInfo info = toolkit_info("pdf.rotate");
  info.description = "Rotates pages of each input PDF clockwise by a multiple of 90 degrees.";
  info.params = {
      ParamSpec{"angle", ParamType::kInteger, true, nullptr,
                "Clockwise degrees: 90, 180, 270 (or -90); added to the current rotation"},
      ParamSpec{"pages", ParamType::kString, false, nullptr, "Page range to rotate; default all"},
      password_param(),
  };
  return info;
}

Status RotateGenerator::run(Context& context) {
  return guarded("pdf.rotate", context, [&] {
    const nlohmann::json& params = context.params();
    auto it = params.find("angle");
    if (it == params.end() || it->is_null())
      throw BadInput{"params.angle: required (90, 180 or 270)"};
    if (!it->is_number_integer() || it->get<long long>() % 90 != 0) {
      throw BadInput{"params.angle: must be a multiple of 90 degrees"};
    }
    const int angle = static_cast<int>(it->get<long long>() % 360);
    const std::string range = optional_string(params, "pages");
    const std::string password = optional_string(params, "password");
    for (const InputArtifact& input : context.inputs()) {
      std::unique_ptr<QPDF> pdf = open_pdf(input, password);
      auto pages = QPDFPageDocumentHelper(*pdf).getAllPages();
      for (int number : page_numbers(range, static_cast<int>(pages.size()), "params.pages")) {
        pages[static_cast<size_t>(number - 1)].rotatePage(angle, true);
      }
      context.write_output(input.name, "application/pdf", write_pdf(*pdf));
    }
  });
}

// ---------------------------------------------------------------------------------------

GeneratorInfo InfoGenerator::info() const {
  GeneratorInfo info = toolkit_info("pdf.info");
  info.description =
      "Describes each input PDF (pages, page sizes, version, encryption, metadata) as JSON.";
  info.params = {
      ParamSpec{"output_name", ParamType::kString, false, "info.json", "Name of the JSON artifact"},
      password_param(),
  };
  info.output_media_types = {"application/json"};
  return info;
}

Status InfoGenerator::run(Context& context) {
  return guarded("pdf.info", context, [&] {
    const nlohmann::json& params = context.params();
    std::string output_name = optional_string(params, "output_name");
    if (output_name.empty()) output_name = "info.json";
    const std::string password = optional_string(params, "password");
    nlohmann::json documents = nlohmann::json::array();
    for (const InputArtifact& input : context.inputs()) {
      std::unique_ptr<QPDF> pdf = open_pdf(input, password);
      nlohmann::json doc;
      doc["name"] = input.name;
      doc["size_bytes"] = input.data.size();
      doc["pdf_version"] = pdf->getPDFVersion();
      doc["encrypted"] = pdf->isEncrypted();
      doc["linearized"] = pdf->isLinearized();
      auto pages = QPDFPageDocumentHelper(*pdf).getAllPages();
      doc["pages"] = pages.size();
      nlohmann::json sizes = nlohmann::json::array();
      for (auto& page : pages) {
        const auto box = page.getMediaBox().getArrayAsRectangle();
        QPDFObjectHandle rotate = page.getAttribute("/Rotate", false);
        auto round2 = [](double v) { return std::round(v * 100) / 100; };
        sizes.push_back({{"width_pt", round2(box.urx - box.llx)},
                         {"height_pt", round2(box.ury - box.lly)},
                         {"rotate", rotate.isInteger() ? rotate.getIntValue() : 0}});
      }
      doc["page_sizes"] = sizes;
      nlohmann::json metadata = nlohmann::json::object();
      QPDFObjectHandle info_dict = pdf->getTrailer().getKey("/Info");
      if (info_dict.isDictionary()) {
        for (const std::string& key : info_dict.getKeys()) {
          QPDFObjectHandle value = info_dict.getKey(key);
          if (value.isString()) metadata[key.substr(1)] = value.getUTF8Value();
        }
      }
      doc["metadata"] = metadata;
      doc["has_outline"] = QPDFOutlineDocumentHelper(*pdf).hasOutlines();
      documents.push_back(std::move(doc));
    }
    context.write_output(output_name, "application/json",
                         nlohmann::json{{"documents", documents}}.dump(2));
  });
}

// ---------------------------------------------------------------------------------------

GeneratorInfo ExtractTextGenerator::info() const {
  GeneratorInfo info = toolkit_info("pdf.extract_text");
  info.description =
      "Extracts the text of each page (ToUnicode maps and standard encodings), in content "
      "order, as plain text or JSON per page.";
  info.params = {
      ParamSpec{"format", ParamType::kString, false, "text", "text or json", {"text", "json"}},
      ParamSpec{"output_name", ParamType::kString, false, nullptr,
                "Name of the artifact; default <input>.txt or <input>.json"},
      password_param(),
  };
  info.output_media_types = {"text/plain", "application/json"};
  return info;
}

Status ExtractTextGenerator::run(Context& context) {
  return guarded("pdf.extract_text", context, [&] {
    const nlohmann::json& params = context.params();
    std::string format = optional_string(params, "format");
    if (format.empty()) format = "text";
    if (format != "text" && format != "json") {
      throw BadInput{"params.format: unknown format '" + format + "' (use text or json)"};
    }
    const std::string password = optional_string(params, "password");
    const std::string output_name = optional_string(params, "output_name");
    const auto& inputs = context.inputs();
    for (const InputArtifact& input : inputs) {
      std::unique_ptr<QPDF> pdf = open_pdf(input, password);
      std::vector<std::string> texts;
      TextExtractor extractor([&context] { return context.cancelled(); });
      int number = 0;
      for (auto& page : QPDFPageDocumentHelper(*pdf).getAllPages()) {
        ++number;
        if (context.cancelled()) throw std::runtime_error("cancelled");
        try {
          texts.push_back(extractor.page_text(page));
        } catch (const ExtractionRefused& refused) {
          throw BadInput{input_label(input.name) + ": page " + std::to_string(number) + ": " +
                         refused.message};
        } catch (const ExtractionCancelled&) {
          throw std::runtime_error("cancelled");
        }
      }
      std::string name = output_name.empty() || inputs.size() > 1
                             ? stem_of(input.name) + (format == "json" ? ".json" : ".txt")
                             : output_name;
      if (format == "json") {
        nlohmann::json pages = nlohmann::json::array();
        for (size_t i = 0; i < texts.size(); ++i) {
          pages.push_back({{"page", i + 1}, {"text", texts[i]}});
        }
        context.write_output(name, "application/json",
                             nlohmann::json{{"name", input.name}, {"pages", pages}}.dump(2));
      } else {
        std::string all;
        for (size_t i = 0; i < texts.size(); ++i) {
          if (i > 0) all += '\f';  // pages separated by form feeds, like pdftotext
          all += texts[i];
        }
        context.write_output(name, "text/plain; charset=utf-8", all);
      }
    }
  });
}

}  // namespace gen::pdf
