// The byok.relay.v1.Relay gRPC service (callback API): the streaming Relay RPC through RelayReactor,
// and the unary CheckKey and DescribeRoutes.
#ifndef BYOK_SERVICES_RELAY_RELAY_SERVICE_H_
#define BYOK_SERVICES_RELAY_RELAY_SERVICE_H_

#include "byok/relay/v1/relay.grpc.pb.h"
#include "services/relay/relay_reactor.h"

namespace byok::relay {

// Thread-safe. The dependencies must outlive the service and every call it started.
class RelayService final : public v1::Relay::CallbackService {
 public:
  explicit RelayService(RelayDeps deps) : deps_(deps) {}

  grpc::ServerWriteReactor<v1::RelayResponse>* Relay(grpc::CallbackServerContext* context,
                                                     const v1::RelayRequest* request) override;
  grpc::ServerUnaryReactor* CheckKey(grpc::CallbackServerContext* context,
                                     const v1::CheckKeyRequest* request,
                                     v1::CheckKeyResponse* response) override;
  grpc::ServerUnaryReactor* DescribeRoutes(grpc::CallbackServerContext* context,
                                           const v1::DescribeRoutesRequest* request,
                                           v1::DescribeRoutesResponse* response) override;

 private:
  RelayDeps deps_;
};

}  // namespace byok::relay

#endif  // BYOK_SERVICES_RELAY_RELAY_SERVICE_H_
