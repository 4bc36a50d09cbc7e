// Mutual TLS between the suite's services: each presents its own certificate and trusts only the
// suite's CA. Read from BYOK_TLS_CERT_FILE, BYOK_TLS_KEY_FILE and BYOK_TLS_CA_FILE (all three or none);
// without them the services talk plaintext gRPC (loopback, or a mesh that adds mTLS itself).
#ifndef BYOK_COMMON_GRPC_TLS_H_
#define BYOK_COMMON_GRPC_TLS_H_

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/crypto/secret_bytes.h"
#include "common/env.h"

namespace byok {

// One service's TLS identity and the CA it trusts, as PEM texts.
struct MutualTls {
  std::string cert_pem;
  crypto::SecretBytes key_pem;
  std::string ca_pem;
};

// Reads the three BYOK_TLS_* files; nullopt when none is set. An error names the variable (never a
// file's contents) when only some are set or a file is not readable PEM.
absl::StatusOr<std::optional<MutualTls>> LoadMutualTls(const Env& env);

// Credentials for a server that requires and verifies a client certificate issued by the CA;
// insecure credentials without `tls`.
std::shared_ptr<grpc::ServerCredentials> ServerCredentialsFor(const std::optional<MutualTls>& tls);

// Credentials for a client that presents its certificate and verifies the server's against the CA
// (and the server's name or IP address against the certificate); insecure credentials without `tls`.
std::shared_ptr<grpc::ChannelCredentials> ChannelCredentialsFor(const std::optional<MutualTls>& tls);

}  // namespace byok

#endif  // BYOK_COMMON_GRPC_TLS_H_
