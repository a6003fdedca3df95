// content.extract's work on one document: which format it is, and its extraction.
#pragma once

#include <string_view>

#include <gen/sdk/generator.hpp>

#include "segments.hpp"

namespace gen::content {

/// The formats params.format accepts ("auto" first).
inline constexpr std::string_view kFormats[] = {"auto", "pdf",  "markdown", "html",
                                                "docx", "text", "scorm"};

/// Extracts `input` (whose name is job.input_name()) as `format` (one of kFormats).
///
/// "auto": the media type and the name's extension say what the input claims to be, the
/// content decides: "%PDF-" in the first 1024 bytes is a PDF; a zip ("PK\3\4") is a DOCX
/// when it holds word/document.xml, a SCORM package when it holds imsmanifest.xml at its
/// root, and refused otherwise; text (UTF-8, a BOM dropped, or UTF-16 with a BOM) is
/// Markdown or HTML when the media type or extension says so (or, for HTML, when it starts
/// with "<!DOCTYPE html" or "<html"), plain text otherwise. An input that claims a PDF,
/// DOCX or zip but is none is refused ("input 'x.docx' is not a DOCX file: no zip
/// signature (found: a PNG image)"), as is anything else that is not text.
/// A named format must match the content the same way.
///
/// Throws BadInput (every refusal, including a document without any text) and Cancelled.
Extraction extract_document(Job& job, const gen::sdk::InputArtifact& input,
                            std::string_view format);

}  // namespace gen::content
