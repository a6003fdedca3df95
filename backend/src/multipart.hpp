// multipart/form-data (RFC 7578) request bodies: POST /api/v1/jobs with a "job" part holding
// the JSON job and one part per input file.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace gen::backend {

struct FormPart {
  std::string name;          ///< the form field name (Content-Disposition name=)
  std::string filename;      ///< empty when the part is not a file
  std::string content_type;  ///< the part's Content-Type; empty when absent
  std::string data;
};

/// Splits `body` by the boundary named in `content_type` ("multipart/form-data; boundary=x").
/// Throws gen::Error(kBadRequest) when the boundary is missing or the body is malformed.
std::vector<FormPart> parse_multipart(std::string_view content_type, std::string_view body);

}  // namespace gen::backend
