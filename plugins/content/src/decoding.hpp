// Text inputs: which encodings are accepted, and naming what a non-text input is.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace gen::content {

/// The text of `data` as UTF-8: valid UTF-8 (a leading BOM dropped), or UTF-16 LE/BE with a
/// BOM, converted. nullopt otherwise, with `problem` saying why ("not valid UTF-8 (at byte
/// 12)", "UTF-16 with an unpaired surrogate at byte 40").
std::optional<std::string> decode_text(std::string_view data, std::string& problem);

/// A SCORM page: decode_text(), else (a legacy page) its bytes read as ISO-8859-1.
std::string decode_page(std::string_view data);

/// What `data` looks like, for messages: "a PNG image", "a JPEG image", "a GIF image", "a
/// gzip file", "a zip archive", "a PDF", "an empty file", "binary data".
std::string describe_content(std::string_view data);

}  // namespace gen::content
