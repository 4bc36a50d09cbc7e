// The byok.relay.v1.Relay gRPC service (callback API): the streaming Relay RPC through RelayReactor,
// many relayed requests over one RelayMany stream (RelayManyReactor), and the unary CheckKey and
// DescribeRoutes.
#ifndef BYOK_SERVICES_RELAY_RELAY_SERVICE_H_
#define BYOK_SERVICES_RELAY_RELAY_SERVICE_H_

#include <string>
#include <utility>
#include <vector>

#include "byok/relay/v1/relay.grpc.pb.h"
#include "common/caller_policy.h"
#include "services/relay/key_check_limiter.h"
#include "services/relay/relay_many.h"
#include "services/relay/relay_reactor.h"

namespace byok::relay {

// Relay and DescribeRoutes are open to any caller (Relay's credential is the user's token in the
// request; the key itself never leaves the relay). CheckKey is for a service identity only (the
// gateway, on behalf of a user it authenticated: `policy`, with `check_key_callers` under mutual TLS)
// and limited by `limiter`. Failures carry an ErrorInfo (domain relay.byok-relay).
// Thread-safe. The dependencies must outlive the service and every call it started.
class RelayService final : public v1::Relay::CallbackService {
 public:
  RelayService(RelayDeps deps, CallerPolicy policy, std::vector<std::string> check_key_callers,
               KeyCheckLimiter* limiter)
      : deps_(deps),
        policy_(std::move(policy)),
        check_key_callers_(std::move(check_key_callers)),
        limiter_(limiter) {}

  grpc::ServerWriteReactor<v1::RelayResponse>* Relay(grpc::CallbackServerContext* context,
                                                     const v1::RelayRequest* request) override;
  grpc::ServerBidiReactor<v1::RelayManyRequest, v1::RelayManyResponse>* RelayMany(
      grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* CheckKey(grpc::CallbackServerContext* context,
                                     const v1::CheckKeyRequest* request,
                                     v1::CheckKeyResponse* response) override;
  grpc::ServerUnaryReactor* DescribeRoutes(grpc::CallbackServerContext* context,
                                           const v1::DescribeRoutesRequest* request,
                                           v1::DescribeRoutesResponse* response) override;

  // Asks every RelayMany caller to start new requests elsewhere (shutdown begins); running requests
  // go on.
  void DrainStreams() { streams_.DrainAll(); }

 private:
  RelayDeps deps_;
  const CallerPolicy policy_;
  const std::vector<std::string> check_key_callers_;
  KeyCheckLimiter* const limiter_;
  RelayManyStreams streams_;
};

}  // namespace byok::relay

#endif  // BYOK_SERVICES_RELAY_RELAY_SERVICE_H_
