// One relayed request as a Relay call of its own: with BYOK_RELAY_STREAMS=0, and for a relay that has
// no RelayMany (relay_streams.h falls back to it).
#ifndef BYOK_SERVICES_GATEWAY_BACKENDS_DIRECT_RELAY_CALL_H_
#define BYOK_SERVICES_GATEWAY_BACKENDS_DIRECT_RELAY_CALL_H_

#include <memory>

#include "byok/relay/v1/relay.grpc.pb.h"
#include "common/request_context.h"
#include "services/gateway/backends/relay_transport.h"

namespace byok::gateway {

class CallRegistry;

// Starts the Relay call for `request` (with `trace`'s ids, when set); `receiver` hears its answer
// once Read is called, and must stay until its OnEnd. The call is registered in `registry` until it
// ended and its receiver heard so.
std::shared_ptr<RelayTransport> StartDirectRelayCall(byok::relay::v1::Relay::Stub& stub, CallRegistry& registry,
                                                     byok::relay::v1::RelayRequest request,
                                                     const trace::RequestContext* trace, RelayReceiver* receiver);

}  // namespace byok::gateway

#endif  // BYOK_SERVICES_GATEWAY_BACKENDS_DIRECT_RELAY_CALL_H_
