// The running relay: upstream client, vault client, policy and the gRPC server (Relay service plus the
// standard health service), started from one RelayConfig. Used by byok-relayd and the all-in-one
// byok-relay.
#ifndef BYOK_SERVICES_RELAY_RELAY_SERVER_H_
#define BYOK_SERVICES_RELAY_RELAY_SERVER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/in_process.h"
#include "services/relay/relay_config.h"

namespace grpc {
class Server;
}  // namespace grpc

namespace byok::vault {
class KeyChangeWatch;
}  // namespace byok::vault

namespace byok::relay {

class RelayPolicy;
class KeyCache;
class KeyCheckLimiter;
class RelayService;
class UpstreamClient;
class VaultClient;
class VaultLinkWatch;

// Owns every part of a running relay. Thread-safe: port() any time; Shutdown once (the destructor
// shuts down with no grace when it was not called).
class RelayServer {
 public:
  // Starts the upstream client (loading the CA file), binds `config.listen_address` (port 0 picks a
  // free port) and serves. InvalidArgument for a bad CA file; Unavailable when the address cannot be
  // bound. Health says SERVING while the link to the vault is usable (see VaultLinkWatch).
  // byok-relay passes `links`: the vault in this process (links.vault, instead of
  // config.vault_address; health then follows the relay alone: an in-process vault cannot be
  // unreachable), and links.called_in_process (an empty listen address then binds nothing).
  static absl::StatusOr<std::unique_ptr<RelayServer>> Start(RelayConfig config, InProcessLinks links = {});

  RelayServer(const RelayServer&) = delete;
  RelayServer& operator=(const RelayServer&) = delete;
  ~RelayServer();

  // Returns the bound port (0 without a listener).
  int port() const { return port_; }

  // The gRPC server, for in-process channels to it (CreateInProcessServiceChannel). Valid until the
  // RelayServer is destroyed.
  grpc::Server& in_process_server() { return *server_; }

  // Stops accepting calls; running streams may finish within `grace`, then they are cancelled (which
  // closes their provider connections). Idempotent.
  void Shutdown(absl::Duration grace);

 private:
  RelayServer();

  std::unique_ptr<RelayPolicy> policy_;
  std::unique_ptr<UpstreamClient> upstream_;
  std::unique_ptr<KeyCache> key_cache_;  // before vault_, which answers from it
  std::unique_ptr<VaultClient> vault_;
  std::unique_ptr<vault::KeyChangeWatch> key_watch_;  // keeps key_cache_ honest
  std::unique_ptr<KeyCheckLimiter> check_key_limiter_;
  std::unique_ptr<RelayService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<VaultLinkWatch> vault_link_;  // reports into server_'s health service
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace byok::relay

#endif  // BYOK_SERVICES_RELAY_RELAY_SERVER_H_
