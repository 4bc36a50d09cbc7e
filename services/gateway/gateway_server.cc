#include "services/gateway/gateway_server.h"

#include "common/logging.h"
#include "services/gateway/api/api.h"
#include "services/gateway/backends/backends.h"
#include "services/gateway/http/http_server.h"
#include "services/gateway/backends/token_cache.h"
#include "services/vault/client/key_change_watch.h"

namespace byok::gateway {

namespace {
// How long cancelled RPCs get to deliver their final callbacks at shutdown.
constexpr absl::Duration kCancelWait = absl::Seconds(5);
}  // namespace

GatewayServer::GatewayServer() = default;

GatewayServer::~GatewayServer() { Shutdown(absl::ZeroDuration()); }

absl::StatusOr<std::unique_ptr<GatewayServer>> GatewayServer::Start(GatewayConfig config, InProcessLinks links) {
  std::unique_ptr<GatewayServer> server(new GatewayServer());
  server->config_ = std::move(config);
  server->backends_ = std::make_unique<Backends>(server->config_, links);
  server->api_ = std::make_unique<Api>(server->config_, *server->backends_);
  // Verified tokens are kept only while the vault's change stream is live (docs/key-cache.md). The
  // stream needs a service identity the vault lets watch; without one the gateway runs uncached.
  server->token_cache_ = std::make_unique<TokenCache>(server->config_.token_cache);
  if (server->token_cache_->enabled()) {
    server->api_->UseTokenCache(server->token_cache_.get());
    vault::KeyChangeWatchOptions watch;
    watch.who = "gateway";
    server->token_watch_ = std::make_unique<vault::KeyChangeWatch>(
        server->backends_->vault().channel(), server->token_cache_->listener(), std::move(watch));
  }
  auto http = HttpServer::Start(server->config_, *server->api_);
  if (!http.ok()) return http.status();
  server->http_ = *std::move(http);
  log::Info("gateway", "serving HTTP on %s:%d (vault %s, relay %s, %d threads)",
            server->config_.host, server->http_->port(), server->config_.vault_addr,
            server->config_.relay_addr, server->config_.threads);
  return server;
}

int GatewayServer::port() const { return http_->port(); }

void GatewayServer::Shutdown(absl::Duration grace) {
  if (shut_down_ || http_ == nullptr) return;
  shut_down_ = true;
  http_->StopAccepting();
  token_watch_.reset();  // unsubscribed: the token cache empties and is bypassed from here on
  if (!http_->WaitIdle(grace)) {
    log::Info("gateway", "grace period over; cancelling the requests still running");
  }
  backends_->calls().CancelAll();
  if (!backends_->calls().WaitIdle(kCancelWait)) {
    log::Warn("gateway", "some backend calls did not finish after cancellation");
  }
  http_->Stop();
  // Sessions (and their sockets) go with the server's io_context, before the backends they used.
  http_.reset();
  api_.reset();
  backends_.reset();
}

}  // namespace byok::gateway
