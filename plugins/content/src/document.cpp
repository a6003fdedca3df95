#include "document.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>

#include "decoding.hpp"
#include "html.hpp"
#include "sources.hpp"
#include "zip.hpp"

namespace gen::content {

namespace {

constexpr std::string_view kDocxMediaType =
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

/// What the media type or the name says the input is: a format, "zip", or "" (unknown).
/// A specific media type wins over the extension, the extension over a generic type.
std::string claimed_format(std::string_view media_type, std::string_view name) {
  const std::string type = lowercase(trim(media_type.substr(0, media_type.find(';'))));
  if (type == "application/pdf") return "pdf";
  if (type == kDocxMediaType) return "docx";
  if (type == "text/markdown" || type == "text/x-markdown") return "markdown";
  if (type == "text/html" || type == "application/xhtml+xml") return "html";
  const std::size_t dot = name.find_last_of('.');
  const std::string ext = dot == std::string_view::npos ? "" : lowercase(name.substr(dot + 1));
  if (ext == "pdf") return "pdf";
  if (ext == "docx") return "docx";
  if (ext == "md" || ext == "markdown" || ext == "mdown" || ext == "mkd") return "markdown";
  if (ext == "html" || ext == "htm" || ext == "xhtml" || ext == "xht") return "html";
  if (ext == "zip") return "zip";
  if (ext == "txt" || ext == "text") return "text";
  if (type == "application/zip" || type == "application/x-zip-compressed") return "zip";
  if (type == "text/plain") return "text";
  return "";
}

bool starts_like_html(std::string_view text) {
  const std::string head = lowercase(trim(text.substr(0, 256)).substr(0, 14));
  return head.starts_with("<!doctype html") || head.starts_with("<html");
}

std::string_view display_name(std::string_view format) {
  if (format == "pdf") return "a PDF file";
  if (format == "docx") return "a DOCX file";
  if (format == "scorm") return "a SCORM package";
  if (format == "markdown") return "a Markdown file";
  if (format == "html") return "an HTML file";
  if (format == "zip") return "a zip archive";
  return "a text file";
}

[[noreturn]] void mismatch(const Job& job, std::string_view claimed, const std::string& why) {
  throw BadInput{job.label() + " is not " + std::string(display_name(claimed)) + ": " + why};
}

bool has_pdf_header(std::string_view data) {
  return data.substr(0, 1024).find("%PDF-") != std::string_view::npos;
}

Extraction extract_zip(Job& job, std::string_view data, std::string_view format) {
  ZipArchive zip(job, data);
  if (format == "auto") {
    if (zip.find("word/document.xml")) return extract_docx(job, zip);
    if (zip.find("imsmanifest.xml")) return extract_scorm(job, zip);
    throw BadInput{job.label() +
                   " is a zip archive, but neither a DOCX file (no word/document.xml) nor a "
                   "SCORM package (no imsmanifest.xml at its root)"};
  }
  if (format == "docx") {
    if (!zip.find("word/document.xml")) mismatch(job, format, "the zip has no word/document.xml");
    return extract_docx(job, zip);
  }
  if (!zip.find("imsmanifest.xml")) {
    mismatch(job, format, "the zip has no imsmanifest.xml at its root");
  }
  return extract_scorm(job, zip);
}

Extraction extract_any(Job& job, const sdk::InputArtifact& input, std::string_view format) {
  const std::string_view data = input.data;
  const std::string claimed =
      format == "auto" ? claimed_format(input.media_type, input.name) : std::string(format);
  const std::string found = describe_content(data);

  if (format == "pdf" || (format == "auto" && has_pdf_header(data))) {
    if (!has_pdf_header(data)) {
      mismatch(job, "pdf", "no %PDF- header in the first 1024 bytes (found: " + found + ")");
    }
    return extract_pdf(job, data);
  }
  if (format == "docx" || format == "scorm" || (format == "auto" && looks_like_zip(data))) {
    if (!looks_like_zip(data)) mismatch(job, format, "no zip signature (found: " + found + ")");
    return extract_zip(job, data, format);
  }
  if (claimed == "pdf" || claimed == "docx" || claimed == "zip") {
    mismatch(job, claimed,
             std::string(claimed == "pdf" ? "no %PDF- header in the first 1024 bytes"
                                          : "no zip signature") +
                 " (found: " + found + ")");
  }

  std::string problem;
  std::optional<std::string> text = decode_text(data, problem);
  if (!text) {
    if (format != "auto") mismatch(job, format, problem + " (found: " + found + ")");
    throw BadInput{job.label() + " is not a supported document: found " + found + ", " + problem +
                   "; content.extract reads PDF, DOCX, SCORM packages (zip), Markdown, HTML "
                   "and plain text (UTF-8, or UTF-16 with a byte order mark)"};
  }
  std::string kind = claimed;
  if (format == "auto" && kind != "markdown" && kind != "html") {
    kind = starts_like_html(*text) ? "html" : "text";
  }
  if (kind == "markdown") return extract_markdown(job, *text);
  if (kind == "html") return extract_html(job, *text);
  return extract_plain_text(job, *text);
}

}  // namespace

Extraction extract_html(Job& job, std::string_view text) {
  HtmlText page = extract_html_text(job, text, /*headings_inline=*/false, "the HTML");
  Extraction result;
  result.format = "html";
  result.title = std::move(page.title);
  result.segments = std::move(page.segments);
  return result;
}

Extraction extract_document(Job& job, const sdk::InputArtifact& input, std::string_view format) {
  Extraction result = extract_any(job, input, format);
  if (result.segments.empty()) job.fail("the document has no text");
  return result;
}

}  // namespace gen::content
