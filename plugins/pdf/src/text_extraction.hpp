// Text of a PDF page, in content-stream order, for pdf.extract_text.
#pragma once

#include <string>

class QPDFPageObjectHelper;

namespace gen::pdf {

/// Decodes the text a page shows: Type0 fonts through their ToUnicode CMap, simple fonts
/// through ToUnicode or their encoding (WinAnsi, MacRoman, Standard, /Differences with
/// uniXXXX and common glyph names). Lines break where the baseline moves; a space is added
/// where the pen jumps forward by more than a quarter em. Text in form XObjects is included.
/// Throws QPDFExc on damaged content streams.
std::string extract_page_text(QPDFPageObjectHelper& page);

}  // namespace gen::pdf
