// The security headers every response carries: helmet's defaults, as the original sends them
// (compat.md §1). The demo page works under this policy (no inline script or style).
#ifndef BYOK_SERVICES_GATEWAY_API_SECURITY_HEADERS_H_
#define BYOK_SERVICES_GATEWAY_API_SECURITY_HEADERS_H_

#include "services/gateway/api/cors.h"

namespace byok::gateway {

// Returns the headers, in helmet's order. The list is built once; thread-safe.
const HeaderList& SecurityHeaders();

}  // namespace byok::gateway

#endif  // BYOK_SERVICES_GATEWAY_API_SECURITY_HEADERS_H_
