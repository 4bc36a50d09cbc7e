// One relayed request bridged to a browser response, over a RelayMany stream (or, with
// BYOK_RELAY_STREAMS=0, a Relay call of its own): each piece the relay sends goes to the browser as it
// arrives, the next piece is asked for as soon as the session takes it (pieces that come during a
// socket write leave together as one write), the session holds back the next read when too much waits
// for a slow browser (backpressure), and a browser that leaves cancels the request at once.
#ifndef BYOK_SERVICES_GATEWAY_BACKENDS_RELAY_CALL_H_
#define BYOK_SERVICES_GATEWAY_BACKENDS_RELAY_CALL_H_

#include <memory>

#include "byok/relay/v1/relay.pb.h"
#include "services/gateway/backends/backends.h"
#include "services/gateway/http/http_types.h"

namespace byok::gateway {

// Sends `request` to the relay and streams its answer to `writer`. `extra_headers` are added to
// the streamed response (CORS, rate limit). Returns at once; the call owns itself until it finished.
void StartRelayCall(Backends& backends, byok::relay::v1::RelayRequest request,
                    std::shared_ptr<ResponseWriter> writer);

// Returns true when a provider response header may be passed to the browser (hop-by-hop headers, CORS
// grants and cookies of the provider are dropped; the gateway sets its own).
bool PassResponseHeader(absl::string_view lower_name);

// Returns true when a browser request header is offered to the relay: only the closed list the relay
// reads (compat.md §4: content-type, anthropic-version, anthropic-beta, http-referer, x-relay-referer,
// x-title); never credentials, cookies or anything else.
bool PassRequestHeader(absl::string_view lower_name);

}  // namespace byok::gateway

#endif  // BYOK_SERVICES_GATEWAY_BACKENDS_RELAY_CALL_H_
