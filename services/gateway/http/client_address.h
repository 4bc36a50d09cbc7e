// Works out which address a request comes from, believing X-Forwarded-For only as far as TRUST_PROXY says.
#ifndef BYOK_SERVICES_GATEWAY_HTTP_CLIENT_ADDRESS_H_
#define BYOK_SERVICES_GATEWAY_HTTP_CLIENT_ADDRESS_H_

#include <string>

#include "absl/strings/string_view.h"

namespace byok::gateway {

// Returns the client's address. `peer` is the socket's remote address; `forwarded_for` the
// X-Forwarded-For header (empty when absent); `trusted_hops` the number of proxies in front of the gateway
// (TRUST_PROXY). With 0 the peer is the client. With n, the n-th address from the right of
// peer-appended X-Forwarded-For is taken (the leftmost when the list is shorter), stopping at the first
// entry that is not an IP address: a client can prepend anything, but not past a trusted proxy.
std::string ClientAddress(absl::string_view peer, absl::string_view forwarded_for, int trusted_hops);

}  // namespace byok::gateway

#endif  // BYOK_SERVICES_GATEWAY_HTTP_CLIENT_ADDRESS_H_
