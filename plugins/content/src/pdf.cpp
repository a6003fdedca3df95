// PDF: the pdf plugin's own extraction (pdf.extract_text): detail::open_pdf opens the file
// strictly with QPDF, pdf::TextExtractor reads each page within its ExtractionLimits.
#include <memory>
#include <stdexcept>
#include <string>

#include <qpdf/QPDF.hh>
#include <qpdf/QPDFExc.hh>
#include <qpdf/QPDFObjectHandle.hh>
#include <qpdf/QPDFPageDocumentHelper.hh>
#include <qpdf/QPDFPageObjectHelper.hh>

#include "sources.hpp"
#include "text_extraction.hpp"
#include "toolkit_common.hpp"

namespace gen::content {

Extraction extract_pdf(Job& job, std::string_view data) {
  Extraction result;
  result.format = "pdf";
  std::unique_ptr<QPDF> pdf;
  try {
    pdf = pdf::detail::open_pdf(sdk::InputArtifact{job.input_name(), "application/pdf", data},
                                /*password=*/"");
  } catch (const pdf::detail::BadInput& bad) {
    if (bad.message.find("encrypted PDF") != std::string::npos) {
      // open_pdf's message points at pdf.*'s params.password, which this generator lacks.
      job.fail(
          "encrypted PDF: content.extract reads unencrypted PDFs only; decrypt it first "
          "(pdf.decrypt)");
    }
    throw BadInput{bad.message};  // already names the input
  }
  try {
    QPDFObjectHandle info = pdf->getTrailer().getKey("/Info");
    if (info.isDictionary()) {
      QPDFObjectHandle title = info.getKey("/Title");
      if (title.isString()) {
        std::string text(trim(title.getUTF8Value()));
        if (!text.empty()) result.title = to_valid_utf8(text);
      }
    }
    pdf::ExtractionLimits limits;
    limits.max_text_bytes = job.limits().max_text_bytes;
    pdf::TextExtractor extractor([&job] { return job.cancelled(); }, limits);
    int number = 0;
    for (QPDFPageObjectHelper& page : QPDFPageDocumentHelper(*pdf).getAllPages()) {
      ++number;
      job.poll();
      std::string text;
      try {
        text = extractor.page_text(page);
      } catch (const pdf::ExtractionRefused& refused) {
        job.fail("page " + std::to_string(number) + ": " + refused.message);
      } catch (const pdf::ExtractionCancelled&) {
        throw Cancelled{};
      }
      std::string_view trimmed = trim(text);
      if (trimmed.empty()) continue;
      job.count_text(trimmed.size());
      result.segments.push_back(
          Segment{"page " + std::to_string(number), "page", to_valid_utf8(trimmed)});
    }
  } catch (const QPDFExc& error) {
    job.fail(std::string("damaged PDF: ") + error.what());
  }
  return result;
}

}  // namespace gen::content
