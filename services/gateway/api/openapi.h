// The OpenAPI 3 document of the REST API, generated from the route table the router uses.
#ifndef BYOK_SERVICES_GATEWAY_API_OPENAPI_H_
#define BYOK_SERVICES_GATEWAY_API_OPENAPI_H_

#include <string>

#include "absl/strings/string_view.h"

namespace byok::gateway {

// Returns the OpenAPI path for a route pattern: `{name...}` becomes `{name}` (documented as spanning
// several segments).
std::string OpenApiPath(absl::string_view pattern);

// Returns the OpenAPI 3.0 document (JSON) describing every route of Routes().
std::string OpenApiDocument();

// Returns the same document as YAML (block style; strings quoted as in JSON, which YAML reads).
std::string OpenApiYaml();

}  // namespace byok::gateway

#endif  // BYOK_SERVICES_GATEWAY_API_OPENAPI_H_
