// byok-gatewayd: the browser-facing REST/SSE API of byok-relay, on PORT (or --port), calling the vault
// at BYOK_VAULT_ADDR and the relay at BYOK_RELAY_ADDR.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "common/daemon_init.h"
#include "common/env.h"
#include "common/logging.h"
#include "common/metrics/metrics.h"
#include "common/shutdown.h"
#include "common/version.h"
#include "services/gateway/gateway_config.h"
#include "services/gateway/gateway_server.h"

namespace {

constexpr absl::Duration kShutdownGrace = absl::Seconds(10);

void PrintHelp() {
  std::printf(
      "byok-gatewayd %s: the browser-facing REST API of %s (keys, tokens, streamed relay).\n\n"
      "Usage: byok-gatewayd [--port N] [--help] [--version]\n\nEnvironment:\n%s",
      byok::kVersion, byok::kProductName, byok::gateway::GatewayConfigHelp().c_str());
}

int Fail(const std::string& message, int code = 2) {
  std::fprintf(stderr, "byok-gatewayd: %s\n", message.c_str());
  return code;
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
  }
  std::vector<std::string> unknown;
  auto port = byok::gateway::PortFromArgs(argc, argv, &unknown);
  if (!port.ok()) return Fail(std::string(port.status().message()));
  // As the original's CLI: an unknown argument is worth a warning, not a refusal.
  for (const std::string& arg : unknown) {
    std::fprintf(stderr, "byok-gatewayd: ignoring unknown argument %s (try --help)\n", arg.c_str());
  }
  // .env first, as the original (variables already set win); then no other thread may exist.
  if (absl::Status s = byok::LoadDotEnv(".env"); !s.ok()) return Fail(std::string(s.message()));
  byok::InitDaemonProcess();
  byok::Env env;
  byok::log::Level level = byok::log::Level::kInfo;
  if (absl::Status s = byok::log::ParseLevel(env.GetString("LOG_LEVEL", "info"), &level); !s.ok()) {
    return Fail(std::string(s.message()));
  }
  byok::log::SetLevel(level);
  if (absl::Status s = byok::metrics::InitObservability(env); !s.ok()) {
    return Fail(std::string(s.message()), s.code() == absl::StatusCode::kInvalidArgument ? 2 : 1);
  }
  auto config = byok::gateway::LoadGatewayConfig(env);
  if (!config.ok()) return Fail(std::string(config.status().message()));
  if (port->has_value()) config->port = **port;
  for (const std::string& warning : config->warnings) byok::log::Warn("gateway", "%s", warning);
  if (absl::Status s = byok::CheckServiceAuthConfigured(
          config->service, config->tls.has_value(), {config->vault_addr, config->relay_addr},
          "byok-gatewayd");
      !s.ok()) {
    return Fail(std::string(s.message()));
  }
  auto server = byok::gateway::GatewayServer::Start(*std::move(config));
  if (!server.ok()) return Fail(std::string(server.status().message()), 1);
  int signal = byok::WaitForShutdownSignal();
  byok::log::Info("gateway", "signal %d: shutting down", signal);
  (*server)->Shutdown(kShutdownGrace);
  return 0;
}
