// The gateway service, assembled: connections to the vault and relay, the request logic, and the HTTP
// server. The executables (byok-gatewayd, byok-relay) only load configuration and call Start.
#ifndef BYOK_SERVICES_GATEWAY_GATEWAY_SERVER_H_
#define BYOK_SERVICES_GATEWAY_GATEWAY_SERVER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/in_process.h"
#include "services/gateway/gateway_config.h"

namespace byok::vault {
class KeyChangeWatch;
}  // namespace byok::vault

namespace byok::gateway {

class Api;
class Backends;
class HttpServer;
class TokenCache;

// A running gateway. Thread-compatible: call Shutdown from one thread.
class GatewayServer {
 public:
  // Starts serving on config.port (0 picks a free one). The vault and relay are reached lazily: the
  // gateway starts even while they are down, and /health says so.
  // byok-relay passes the vault and relay servers of its process in `links`: they are called through
  // in-process channels instead of config.vault_addr and config.relay_addr.
  static absl::StatusOr<std::unique_ptr<GatewayServer>> Start(GatewayConfig config, InProcessLinks links = {});

  // Shuts down at once (grace 0) when Shutdown was not called.
  ~GatewayServer();

  // Returns the HTTP port.
  int port() const;

  // Stops accepting, lets running requests finish for up to `grace`, then cancels what is left (streams
  // included) and stops.
  void Shutdown(absl::Duration grace);

 private:
  GatewayServer();

  GatewayConfig config_;
  std::unique_ptr<TokenCache> token_cache_;  // before api_, which answers from it
  std::unique_ptr<Backends> backends_;
  std::unique_ptr<vault::KeyChangeWatch> token_watch_;  // keeps token_cache_ honest
  std::unique_ptr<Api> api_;
  std::unique_ptr<HttpServer> http_;
  bool shut_down_ = false;
};

}  // namespace byok::gateway

#endif  // BYOK_SERVICES_GATEWAY_GATEWAY_SERVER_H_
