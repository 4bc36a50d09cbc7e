// The one list of provider response headers that never reach the browser, read by the relay (what it
// passes back) and the gateway (what it writes): one owner, so the two services cannot drift apart.
#ifndef BYOK_COMMON_HTTP_RESPONSE_HEADERS_H_
#define BYOK_COMMON_HTTP_RESPONSE_HEADERS_H_

#include "absl/strings/string_view.h"

namespace byok::http {

// True for a response header (lower-case name) that is never passed from a provider to the browser:
// hop-by-hop headers, the framing and target each side sets for its own connection (content-length,
// host), and those that would act on the browser's side of the gateway (cookies, CORS grants, Vary).
bool IsNeverPassedToBrowser(absl::string_view lower_name);

}  // namespace byok::http

#endif  // BYOK_COMMON_HTTP_RESPONSE_HEADERS_H_
