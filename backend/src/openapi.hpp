// The OpenAPI 3.1 description of the REST API, docs/openapi.json compiled into the backend
// (served at GET /api/v1/openapi.json).
#pragma once

#include <string>

namespace gen::backend {

/// The document's JSON text.
const std::string& openapi_document();

}  // namespace gen::backend
