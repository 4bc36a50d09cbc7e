// byok-relayd: the relay as its own daemon (provider requests with the user's key injected, streamed
// back) on BYOK_RELAY_ADDR.
#include <cstdio>
#include <cstring>
#include <string>

#include "common/env.h"
#include "common/grpc_channel.h"
#include "common/logging.h"
#include "common/metrics/metrics.h"
#include "common/service_auth.h"
#include "common/daemon_init.h"
#include "common/shutdown.h"
#include "common/version.h"
#include "services/relay/relay_config.h"
#include "services/relay/relay_server.h"

namespace {

constexpr char kUsage[] =
    "Usage: byok-relayd [--help] [--version]\n"
    "\n"
    "Serves the byok-relay relay (gRPC byok.relay.v1.Relay and grpc.health.v1.Health): sends each\n"
    "request to its AI provider with the user's key (from the vault) and streams the answer back.\n"
    "Configuration comes from the environment:\n"
    "  BYOK_RELAY_ADDR                   listen address (default 127.0.0.1:50052)\n"
    "  BYOK_VAULT_ADDR                   the vault: host:port, ip:port,ip:port,... or dns:///name:port,\n"
    "                                    round-robin over every address (default 127.0.0.1:50051)\n"
    "  BYOK_TLS_CERT_FILE, BYOK_TLS_KEY_FILE, BYOK_TLS_CA_FILE\n"
    "                                    mutual TLS (PEM, all three): to the vault, and required of\n"
    "                                    gateways calling the relay (default: plaintext)\n"
    "  BYOK_SERVICE_TOKEN                shared secret (32+ characters) sent on every vault call and\n"
    "                                    required of CheckKey callers\n"
    "  BYOK_TRUSTED_LOOPBACK             1: without TLS or a service token, trust every caller\n"
    "                                    (loopback addresses only); without any, no start\n"
    "  BYOK_RELAY_CHECK_KEY_CALLERS      cert identities allowed CheckKey under mTLS (default gateway)\n"
    "  BYOK_RELAY_CHECK_KEY_PER_MINUTE   key checks a minute, all callers together (default 300)\n"
    "  BYOK_GRPC_REFLECTION              serve gRPC server reflection (default 1)\n"
    "  BYOK_UPSTREAM_CONNECT_TIMEOUT_MS  resolve + connect + TLS handshake (default 10000)\n"
    "  BYOK_UPSTREAM_HEADERS_TIMEOUT_MS  until the provider's response headers (default 30000)\n"
    "  BYOK_UPSTREAM_IDLE_TIMEOUT_MS     longest gap between body pieces (default 120000)\n"
    "  BYOK_UPSTREAM_CA_FILE             extra trusted CA certificates, PEM (default: none)\n"
    "  BYOK_RELAY_UPSTREAM_THREADS       threads reading and writing providers (default: one per\n"
    "                                    usable core: CPU affinity and cgroup quota)\n"
    "  BYOK_RELAY_USAGE_FLUSH_MS         longest wait of a usage record before it goes to the vault\n"
    "                                    in a batch (default 200)\n"
    "  BYOK_PROVIDER_<NAME>_BASE_URL     override a provider's base URL (egress proxy, tests)\n"
    "  BYOK_ALLOW_PRIVATE_UPSTREAMS      let x-relay-base-url reach private addresses and http (0)\n"
    "  ALLOWED_MODELS                    comma list of allowed models, '*' wildcards (default: all)\n"
    "  LOG_LEVEL                         debug, info, warn, error or off (default info)\n"
    "  LOG_FORMAT                        text or json (one JSON object per line) (default text)\n"
    "  BYOK_METRICS_ADDR                 host:port of the Prometheus /metrics listener (default: off)\n";

constexpr int kExitConfig = 2;
constexpr int kExitStart = 1;
// Running streams get this long to finish after SIGTERM before they are cancelled.
constexpr absl::Duration kShutdownGrace = absl::Seconds(10);

}  // namespace

int main(int argc, char** argv) {
  byok::InitDaemonProcess();
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (std::strcmp(argv[i], "--version") == 0) {
      std::printf("byok-relayd (%s) %s\n", byok::kProductName, byok::kVersion);
      return 0;
    }
    std::fprintf(stderr, "byok-relayd: unknown argument (try --help)\n");
    return kExitConfig;
  }

  absl::StatusOr<byok::relay::RelayConfig> config = byok::relay::LoadRelayConfig(byok::Env());
  // The vault target is checked here, not in LoadRelayConfig: byok-relay (one process) loads the
  // relay's configuration before its vault has a port.
  if (config.ok()) {
    absl::Status target = byok::GrpcTarget("BYOK_VAULT_ADDR", config->vault_address).status();
    if (!target.ok()) config = target;
  }
  if (!config.ok()) {
    std::fprintf(stderr, "byok-relayd: configuration error: %s\n",
                 std::string(config.status().message()).c_str());
    return kExitConfig;
  }
  byok::log::SetLevel(config->log_level);
  if (absl::Status s = byok::CheckServiceAuthConfigured(
          config->service, config->tls.has_value(),
          {config->listen_address, config->vault_address}, "byok-relayd");
      !s.ok()) {
    std::fprintf(stderr, "byok-relayd: configuration error: %s\n", std::string(s.message()).c_str());
    return kExitConfig;
  }
  if (absl::Status s = byok::metrics::InitObservability(byok::Env()); !s.ok()) {
    std::fprintf(stderr, "byok-relayd: configuration error: %s\n", std::string(s.message()).c_str());
    return s.code() == absl::StatusCode::kInvalidArgument ? kExitConfig : kExitStart;
  }

  absl::StatusOr<std::unique_ptr<byok::relay::RelayServer>> server =
      byok::relay::RelayServer::Start(*std::move(config));
  if (!server.ok()) {
    if (server.status().code() == absl::StatusCode::kInvalidArgument) {
      std::fprintf(stderr, "byok-relayd: configuration error: %s\n",
                   std::string(server.status().message()).c_str());
      return kExitConfig;
    }
    byok::log::Error("relayd", "cannot start: %s", server.status().ToString());
    return kExitStart;
  }
  byok::log::Info("relayd", "byok-relayd %s listening on port %d", byok::kVersion,
                  (*server)->port());

  const int signal = byok::WaitForShutdownSignal();
  byok::log::Info("relayd", "signal %d: shutting down", signal);
  (*server)->Shutdown(kShutdownGrace);
  byok::log::Info("relayd", "stopped");
  return 0;
}
