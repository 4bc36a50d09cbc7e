// The server-streaming Relay RPC: one RelayExchange per call, its messages written to the call.
#ifndef BYOK_SERVICES_RELAY_RELAY_REACTOR_H_
#define BYOK_SERVICES_RELAY_RELAY_REACTOR_H_

#include <grpcpp/support/server_callback.h>

#include <string>

#include "byok/relay/v1/relay.pb.h"
#include "services/relay/relay_exchange.h"

namespace grpc {
class CallbackServerContext;
}  // namespace grpc

namespace byok::relay {

// Deletes itself when gRPC is done with it.
class RelayReactor final : public grpc::ServerWriteReactor<v1::RelayResponse>, public RelayExchange {
 public:
  // Starts the call. `request` is owned by gRPC and valid until OnDone.
  RelayReactor(const RelayDeps& deps, grpc::CallbackServerContext* context, const v1::RelayRequest* request);

  void OnWriteDone(bool ok) override { WriteDone(ok); }
  void OnCancel() override { Cancelled(); }
  void OnDone() override { delete this; }

 private:
  void SendMessage(v1::RelayResponse* message, bool /*last*/) override { StartWrite(message); }
  void SendStatus(const grpc::Status& status, std::string allowed_models) override;

  grpc::CallbackServerContext* const context_;
};

}  // namespace byok::relay

#endif  // BYOK_SERVICES_RELAY_RELAY_REACTOR_H_
