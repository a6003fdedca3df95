// Media types that travel from user data into HTTP headers (an input's media type, a
// generator's output type, which becomes the download's Content-Type).
#pragma once

#include <string>
#include <string_view>

namespace gen {

/// Whether `c` is a tchar and `s` a token (RFC 9110 section 5.6.2): the grammar of field
/// names, methods, media types and transfer codings, shared by the media-type checks and the
/// backend's request-head parser.
bool is_token_char(unsigned char c);
bool is_token(std::string_view s);

/// Longest media type accepted (type, subtype and parameters).
inline constexpr std::size_t kMaxMediaTypeBytes = 255;

/// Whether `text` is a media type by RFC 9110 section 8.3.1:
///   type "/" subtype *( OWS ";" OWS [ parameter-name "=" ( token / quoted-string ) ] )
/// in printable ASCII (no CR, LF, NUL or other control characters), at most
/// kMaxMediaTypeBytes long. "text/plain; charset=utf-8" is valid; "text/plain\r\nX: y",
/// "text", "text/" and "a b/c" are not.
bool is_valid_media_type(std::string_view text);

/// Why `text` is not a media type (for an error message), or "" when it is one.
std::string media_type_problem(std::string_view text);

/// Whether `value` may be written as an HTTP field value: no control characters (CR, LF, NUL,
/// 0x01-0x1F except HTAB, DEL) and no leading or trailing whitespace (RFC 9110 section 5.5).
bool is_safe_header_value(std::string_view value);

/// The Content-Type for a stored media type: `media_type` when valid, else
/// "application/octet-stream" (rows written before validation existed, defence in depth).
std::string content_type_for(std::string_view media_type);

/// True when `media_type` ("text/plain; charset=utf-8") is accepted by `pattern` ("*/*",
/// "text/*" or exact), as a generator's `input_media_types` accept inputs: the backend refuses
/// a job's input that its first step does not accept, generator-plugin-check warns.
bool media_type_matches(std::string_view pattern, std::string_view media_type);

/// `text` for an error message: control and non-ASCII bytes as \xNN, cut after `max_bytes`
/// with "...".
std::string printable_for_message(std::string_view text, std::size_t max_bytes = 80);

}  // namespace gen
