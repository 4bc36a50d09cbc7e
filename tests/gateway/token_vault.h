// A vault test double for gateway tests: its Authenticate knows one token, "tok" (user "user-1" of
// "app-1"), and counts the calls. The relay routes ask it before anything else.
#ifndef BYOK_TESTS_GATEWAY_TOKEN_VAULT_H_
#define BYOK_TESTS_GATEWAY_TOKEN_VAULT_H_

#include <grpcpp/grpcpp.h>

#include <atomic>

#include "byok/vault/v1/vault.grpc.pb.h"

namespace byok::gateway {

class TokenVault final : public byok::vault::v1::Vault::CallbackService {
 public:
  grpc::ServerUnaryReactor* Authenticate(grpc::CallbackServerContext* ctx,
                                         const byok::vault::v1::AuthenticateRequest* request,
                                         byok::vault::v1::AuthenticateResponse* response) override {
    calls.fetch_add(1);
    auto* reactor = ctx->DefaultReactor();
    if (request->token() != "tok") {
      reactor->Finish(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "Invalid or expired token"));
      return reactor;
    }
    response->set_user_id("user-1");
    response->set_app_id("app-1");
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  std::atomic<int> calls{0};
};

}  // namespace byok::gateway

#endif  // BYOK_TESTS_GATEWAY_TOKEN_VAULT_H_
