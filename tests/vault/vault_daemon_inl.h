// Template definitions for vault_daemon.h.
#ifndef BYOK_TESTS_VAULT_VAULT_DAEMON_INL_H_
#define BYOK_TESTS_VAULT_VAULT_DAEMON_INL_H_

#include <grpcpp/client_context.h>

#include <chrono>

#include "common/grpc_status.h"

namespace byok::vault::testing {

template <typename Request, typename Response>
absl::Status Call(grpc::Status (v1::Vault::Stub::*method)(grpc::ClientContext*, const Request&,
                                                          Response*),
                  v1::Vault::Stub& stub, const Request& request, Response* response) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  return FromGrpcStatus((stub.*method)(&context, request, response));
}

}  // namespace byok::vault::testing

#endif  // BYOK_TESTS_VAULT_VAULT_DAEMON_INL_H_
