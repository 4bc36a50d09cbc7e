// How one relayed request reaches the relay and its answer comes back: a Relay call of its own, or a
// request on a RelayMany stream (relay_streams.h). The browser side (relay_call.cc) is the same for both.
#ifndef BYOK_SERVICES_GATEWAY_BACKENDS_RELAY_TRANSPORT_H_
#define BYOK_SERVICES_GATEWAY_BACKENDS_RELAY_TRANSPORT_H_

#include <grpcpp/support/status.h>

#include <string>

#include "byok/relay/v1/relay.pb.h"

namespace byok::gateway {

// What a relayed request hears. Calls come one at a time; a message or the end that is already there
// may come inside the transport's Read or Cancel (a Read made inside OnMessage is served after it
// returns, never nested).
class RelayReceiver {
 public:
  virtual ~RelayReceiver() = default;
  // The next message of the answer (after a Read); the receiver may take from it until its next Read.
  // `end_follows`: the end is already here, and comes with the next Read (a receiver may hold the
  // message's body to send it with the end).
  virtual void OnMessage(byok::relay::v1::RelayResponse& message, bool end_follows) = 0;
  // The request ended: `status` as the relay ended it (or as the connection failed), and with a
  // refused model `allowed_models` (ALLOWED_MODELS as a JSON array), else empty. Nothing follows;
  // it comes after a Read, or after Cancel, whatever was still unread.
  virtual void OnEnd(const grpc::Status& status, const std::string& allowed_models) = 0;
};

// One relayed request in flight. Thread-safe.
class RelayTransport {
 public:
  virtual ~RelayTransport() = default;
  // Asks for the next message (the receiver is done with the last one): OnMessage or OnEnd follows.
  virtual void Read() = 0;
  // The browser left: the relay stops the request; OnEnd follows (CANCELLED).
  virtual void Cancel() = 0;
};

}  // namespace byok::gateway

#endif  // BYOK_SERVICES_GATEWAY_BACKENDS_RELAY_TRANSPORT_H_
