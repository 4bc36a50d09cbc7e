#include "services/gateway/gateway_server.h"

#include "common/logging.h"
#include "services/gateway/api.h"
#include "services/gateway/backends.h"
#include "services/gateway/http_server.h"

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
