// Text of PDF pages, in content-stream order, for pdf.extract_text.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

class QPDFPageObjectHelper;

namespace gen::pdf {

/// What reading one document may cost. A PDF is a program of sorts: 1 MB of Flate data can
/// inflate to 1 GB, and a few form XObjects that each draw the next one N times make N^depth
/// invocations from a 3 KB file. Past a limit the document is refused (a permanent failure).
struct ExtractionLimits {
  /// Decoded bytes of one page's content streams (together), or of one form XObject or
  /// ToUnicode CMap.
  std::size_t max_stream_bytes = 64 * 1024 * 1024;
  /// Decoded content read for the whole document, each form XObject counted every time it
  /// is drawn.
  std::size_t max_document_bytes = 512 * 1024 * 1024;
  /// Form XObjects drawn in the whole document (nesting is cut at 8 levels besides).
  std::size_t max_form_invocations = 100'000;
  /// Text extracted from the document.
  std::size_t max_text_bytes = 64 * 1024 * 1024;
};

/// A document over a limit: `message` names the limit ("... more than 64 MiB (the limit per
/// stream) ...").
struct ExtractionRefused {
  std::string message;
};

/// Thrown when `cancelled` turned true (checked every 4,096 content tokens and every MiB
/// decoded).
struct ExtractionCancelled {};

/// Extracts the text of the pages of one document, within ExtractionLimits. Decodes the text
/// a page shows: Type0 fonts through their ToUnicode CMap, simple fonts through ToUnicode or
/// their encoding (WinAnsi, MacRoman, Standard, /Differences with uniXXXX and common glyph
/// names). Lines break where the baseline moves; a space is added where the pen jumps forward
/// by more than a quarter em. Text in form XObjects is included. Fonts are read once per
/// document. Not thread-safe; one per document.
class TextExtractor {
 public:
  explicit TextExtractor(std::function<bool()> cancelled, ExtractionLimits limits = {});
  ~TextExtractor();
  TextExtractor(const TextExtractor&) = delete;
  TextExtractor& operator=(const TextExtractor&) = delete;

  /// The page's text. Throws ExtractionRefused past a limit, ExtractionCancelled, and
  /// QPDFExc for a content stream that cannot be decoded.
  std::string page_text(QPDFPageObjectHelper& page);

  struct State;  // text_extraction.cpp

 private:
  std::unique_ptr<State> state_;
};

}  // namespace gen::pdf
