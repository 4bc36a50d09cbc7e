// byok-gatewayd: the browser-facing REST/SSE API of byok-relay, on PORT, calling the vault at
// BYOK_VAULT_ADDR and the relay at BYOK_RELAY_ADDR.
#include <cstdio>
#include <cstring>

#include "common/env.h"
#include "common/logging.h"
#include "common/daemon_init.h"
#include "common/shutdown.h"
#include "common/version.h"
#include "services/gateway/gateway_config.h"
#include "services/gateway/gateway_server.h"

namespace {

constexpr absl::Duration kShutdownGrace = absl::Seconds(10);

void PrintHelp() {
  std::printf(
      "byok-gatewayd %s: the browser-facing REST API of %s (keys, tokens, streamed relay).\n\n"
      "Usage: byok-gatewayd [--help] [--version]\n\nEnvironment:\n%s",
      byok::kVersion, byok::kProductName, byok::gateway::GatewayConfigHelp());
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      PrintHelp();
      return 0;
    }
    if (std::strcmp(argv[i], "--version") == 0) {
      std::printf("byok-gatewayd %s\n", byok::kVersion);
      return 0;
    }
    std::fprintf(stderr, "byok-gatewayd: unknown argument %s (try --help)\n", argv[i]);
    return 2;
  }
  byok::InitDaemonProcess();
  byok::Env env;
  byok::log::Level level = byok::log::Level::kInfo;
  if (absl::Status s = byok::log::ParseLevel(env.GetString("LOG_LEVEL", "info"), &level); !s.ok()) {
    std::fprintf(stderr, "byok-gatewayd: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  byok::log::SetLevel(level);
  auto config = byok::gateway::LoadGatewayConfig(env);
  if (!config.ok()) {
    std::fprintf(stderr, "byok-gatewayd: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  auto server = byok::gateway::GatewayServer::Start(*std::move(config));
  if (!server.ok()) {
    std::fprintf(stderr, "byok-gatewayd: %s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  int signal = byok::WaitForShutdownSignal();
  byok::log::Info("gateway", "signal %d: shutting down", signal);
  (*server)->Shutdown(kShutdownGrace);
  return 0;
}
