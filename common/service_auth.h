// How the suite's services prove to each other that a call is internal: a client certificate (mutual
// TLS, common/grpc_tls.h) or a shared service token sent in the `byok-service-token` metadata and
// compared in constant time. A split daemon with neither refuses to start unless it is told that it
// runs on a trusted loopback (BYOK_TRUSTED_LOOPBACK=1, only on loopback addresses).
#ifndef BYOK_COMMON_SERVICE_AUTH_H_
#define BYOK_COMMON_SERVICE_AUTH_H_

#include <grpcpp/channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/channel_arguments.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/crypto/secret_bytes.h"
#include "common/env.h"

namespace byok {

// Metadata keys of the credentials a caller presents.
inline constexpr char kServiceTokenMetadata[] = "byok-service-token";
inline constexpr char kAppSecretMetadata[] = "byok-app-secret";

// Shortest BYOK_SERVICE_TOKEN accepted (openssl rand -hex 32 gives 64).
inline constexpr size_t kMinServiceTokenLength = 32;

// A service's internal-call settings.
struct ServiceAuth {
  // BYOK_SERVICE_TOKEN: the shared token; empty when unset.
  crypto::SecretBytes token;
  // BYOK_TRUSTED_LOOPBACK: without mutual TLS or a token, every caller counts as a service.
  bool trusted_loopback = false;
};

// Reads BYOK_SERVICE_TOKEN (at least kMinServiceTokenLength characters) and BYOK_TRUSTED_LOOPBACK.
// Errors name the variable, never the value.
absl::StatusOr<ServiceAuth> LoadServiceAuth(const Env& env);

// True for "127.x.y.z:port", "[::1]:port", "localhost:port" (and those without a port).
bool IsLoopbackAddress(absl::string_view address);

// The start-up rule of a split daemon (`daemon` names it in the error): OK with mutual TLS or a
// service token; with neither, OK only when trusted_loopback is set and every one of `addresses` (what
// it listens on, or the services it calls) is a loopback address. FailedPrecondition otherwise, naming
// the variables to set.
absl::Status CheckServiceAuthConfigured(const ServiceAuth& auth, bool mutual_tls,
                                        const std::vector<std::string>& addresses,
                                        absl::string_view daemon);

// True when the call's metadata `key` holds exactly `expected` (non-empty). Constant time in the
// contents (both sides are hashed first, so not even the length leaks).
bool MetadataMatches(const grpc::ServerContextBase& context, absl::string_view key,
                     const crypto::SecretBytes& expected);

// True when the call carries metadata `key` at all.
bool HasMetadata(const grpc::ServerContextBase& context, absl::string_view key);

// The identities (SAN DNS names, else CN) of the caller's verified client certificate; empty without
// mutual TLS.
std::vector<std::string> PeerIdentities(const grpc::ServerContextBase& context);

// A channel to `target` whose every call carries `token` as kServiceTokenMetadata (nothing when it is
// empty).
std::shared_ptr<grpc::Channel> CreateServiceChannel(const std::string& target,
                                                    std::shared_ptr<grpc::ChannelCredentials> creds,
                                                    const grpc::ChannelArguments& args,
                                                    const crypto::SecretBytes& token);

// A channel to `server`, a server of this process, through gRPC's in-process transport (no socket, no
// listener): the one-process byok-relay's links. Its calls carry `token` exactly as
// CreateServiceChannel's do, so the called service checks the same identity as over the network.
// `server` must outlive the channel's calls; the channel has no connectivity state to watch
// (GetState reports SHUTDOWN and logs an error): callers that watch one skip it for these.
std::shared_ptr<grpc::Channel> CreateInProcessServiceChannel(grpc::Server& server,
                                                             const grpc::ChannelArguments& args,
                                                             const crypto::SecretBytes& token);

}  // namespace byok

#endif  // BYOK_COMMON_SERVICE_AUTH_H_
