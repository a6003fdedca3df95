// The format extractors of content.extract, one per format. Each throws BadInput (through
// the Job) for a document it refuses, and Cancelled when the run is cancelled; none returns
// a document without text (extract_document() refuses those).
#pragma once

#include <string_view>

#include "segments.hpp"

namespace gen::content {

class ZipArchive;

/// One segment per page with text, "page N" (1-based), kind "page"; title from the Info
/// dictionary's /Title. Through the pdf plugin's QPDF opening and TextExtractor.
Extraction extract_pdf(Job& job, std::string_view data);

/// Heading sections (SectionBuilder); see markdown.cpp for the text of each block.
Extraction extract_markdown(Job& job, std::string_view text);

/// Heading sections; see html.hpp.
Extraction extract_html(Job& job, std::string_view text);

/// Heading sections from paragraph styles; see docx.cpp.
Extraction extract_docx(Job& job, ZipArchive& zip);

/// One segment per item of the default organization that launches HTML; see scorm.cpp.
Extraction extract_scorm(Job& job, ZipArchive& zip);

/// One segment per paragraph (blocks separated by blank lines), "paragraph N", kind
/// "paragraph"; see plain_text.cpp for the title.
Extraction extract_plain_text(Job& job, std::string_view text);

}  // namespace gen::content
