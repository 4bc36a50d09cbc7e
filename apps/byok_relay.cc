// byok-relay: the whole suite in one process (vault, relay and gateway, talking gRPC through in-process
// channels: no socket between them), for one machine. Starts with no configuration at all: without
// ENCRYPTION_SECRET it keeps a generated secret in a 0600 file beside the database.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "apps/local_secret.h"
#include "apps/one_process_defaults.h"
#include "common/crypto/hex.h"
#include "common/crypto/random.h"
#include "common/crypto/secret_bytes.h"
#include "common/env.h"
#include "common/in_process.h"
#include "common/logging.h"
#include "common/metrics/metrics.h"
#include "common/daemon_init.h"
#include "common/shutdown.h"
#include "common/usable_cores.h"
#include "common/version.h"
#include "services/gateway/gateway_config.h"
#include "services/gateway/gateway_server.h"
#include "services/relay/relay_config.h"
#include "services/relay/relay_server.h"
#include "services/vault/vault_config.h"
#include "services/vault/vault_server.h"

extern char** environ;

namespace {

constexpr absl::Duration kGrace = absl::Seconds(10);
constexpr char kDefaultDbPath[] = "./data/relay.db";
// What the gateway's log line names as the vault's and relay's address.
constexpr char kInProcess[] = "in process";

constexpr char kHelp[] =
    "byok-relay %s: bring-your-own-key relay for AI providers, all services in one process.\n"
    "\n"
    "Usage: byok-relay [--port N] [--help] [--version]\n"
    "\n"
    "Runs the vault (encrypted key storage), the relay (provider calls) and the gateway (the REST API\n"
    "browsers use) in one process, talking gRPC in process (no socket). With no configuration it serves\n"
    "http://localhost:3000 (PORT, --port) and keeps its data in ./data. A .env file in the working\n"
    "directory is read first; variables already set win.\n"
    "\n"
    "Environment (default in parentheses):\n"
    "  ENCRYPTION_SECRET (generated)    any string of 32+ characters; without it a secret is generated\n"
    "                                   once and kept in <data folder>/encryption.secret (mode 0600)\n"
    "  ENCRYPTION_SALT (byok-relay-salt) the original byok-relay's salt, read when adopting its database\n"
    "  ENCRYPTION_SECRET_PREVIOUS       older secrets, comma-separated, for rotation\n"
    "  TOKEN_HMAC_SECRET (ENCRYPTION_SECRET)  key of the HMAC under which tokens are stored (32+)\n"
    "  DB_PATH (./data/relay.db)        the SQLite database; its folder is the data folder\n"
    "  TOKEN_EXPIRY_DAYS (90)           token lifetime; 0 never expires\n"
    "  ALLOWED_MODELS (all)             models that may be used, comma-separated, * wildcards\n"
    "  BYOK_VAULT_ADDR (none)           also serve the vault's gRPC API on this address (to call it\n"
    "                                   from outside, with BYOK_SERVICE_TOKEN)\n"
    "  BYOK_RELAY_ADDR (none)           also serve the relay's gRPC API on this address\n"
    "  BYOK_PROVIDER_<NAME>_BASE_URL    override a provider's base URL\n"
    "  BYOK_UPSTREAM_CA_FILE            extra CA certificates (PEM) for upstream TLS\n"
    "  BYOK_ALLOW_PRIVATE_UPSTREAMS (0) let x-relay-base-url reach private addresses and http\n"
    "  BYOK_UPSTREAM_CONNECT_TIMEOUT_MS (10000), BYOK_UPSTREAM_HEADERS_TIMEOUT_MS (30000),\n"
    "  BYOK_UPSTREAM_IDLE_TIMEOUT_MS (120000)  upstream timeouts\n"
    "  BYOK_RELAY_UPSTREAM_THREADS, BYOK_GATEWAY_THREADS (half the usable cores each, at least 1)\n"
    "                                   threads talking to providers, threads serving HTTP\n"
    "  BYOK_SERVICE_TOKEN (generated)   the services' shared token, carried by their internal calls\n"
    "                                   (in process too); set it to call the vault and relay from\n"
    "                                   outside as a service (BYOK_VAULT_ADDR, BYOK_RELAY_ADDR)\n"
    "  BYOK_GRPC_REFLECTION (1)         serve gRPC server reflection on the vault and relay\n"
    "%s";

void PrintHelp() {
  // The gateway's list without what the lines above say differently for one process, and without
  // what one process does not read (mutual TLS, the trusted-loopback switch of byok-gatewayd).
  const std::string gateway = byok::gateway::GatewayConfigHelp(
      {"BYOK_GATEWAY_THREADS", "BYOK_VAULT_ADDR", "BYOK_RELAY_ADDR", "BYOK_TLS_CERT_FILE", "BYOK_SERVICE_TOKEN",
       "BYOK_TRUSTED_LOOPBACK"});
  std::printf(kHelp, byok::kVersion, gateway.c_str());
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "byok-relay: %s\n", message.c_str());
  return 2;
}

// The process environment as a map, so the generated secret can be added without touching environ.
absl::flat_hash_map<std::string, std::string> EnvironmentMap() {
  absl::flat_hash_map<std::string, std::string> vars;
  for (char** e = environ; *e != nullptr; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (eq == nullptr) continue;
    vars.emplace(std::string(*e, eq - *e), std::string(eq + 1));
  }
  return vars;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      PrintHelp();
      return 0;
    }
    if (std::strcmp(argv[i], "--version") == 0) {
      std::printf("byok-relay %s\n", byok::kVersion);
      return 0;
    }
  }
  std::vector<std::string> unknown;
  auto port = byok::gateway::PortFromArgs(argc, argv, &unknown);
  if (!port.ok()) return Fail(std::string(port.status().message()));
  // As the original's CLI: an unknown argument is worth a warning, not a refusal.
  for (const std::string& arg : unknown) {
    std::fprintf(stderr, "byok-relay: ignoring unknown argument %s (try --help)\n", arg.c_str());
  }
  // .env in the working directory first, as the original (variables already set win); then no other
  // thread may exist.
  if (absl::Status s = byok::LoadDotEnv(".env"); !s.ok()) return Fail(std::string(s.message()));
  byok::InitDaemonProcess();

  absl::flat_hash_map<std::string, std::string> vars = EnvironmentMap();
  byok::log::Level level = byok::log::Level::kInfo;
  auto level_it = vars.find("LOG_LEVEL");
  if (absl::Status s = byok::log::ParseLevel(level_it == vars.end() ? "info" : level_it->second, &level);
      !s.ok()) {
    return Fail(std::string(s.message()));
  }
  byok::log::SetLevel(level);

  // The gateway's settings are checked before anything is written to disk.
  auto gateway_config = byok::gateway::LoadGatewayConfig(byok::Env(vars));
  if (!gateway_config.ok()) return Fail(std::string(gateway_config.status().message()));
  if (port->has_value()) gateway_config->port = **port;
  for (const std::string& warning : gateway_config->warnings) byok::log::Warn("byok-relay", "%s", warning);

  auto secret_it = vars.find("ENCRYPTION_SECRET");
  if (secret_it == vars.end() || secret_it->second.empty()) {
    auto db_it = vars.find("DB_PATH");
    std::string db_path = db_it == vars.end() || db_it->second.empty() ? kDefaultDbPath : db_it->second;
    auto secret = byok::apps::SecretForDatabase(db_path);
    if (!secret.ok()) return Fail(std::string(secret.status().message()));
    if (secret->created) {
      std::printf(
          "byok-relay: no ENCRYPTION_SECRET set; generated one and saved it in %s (mode 0600).\n"
          "            Keep that file (and back it up): stored keys cannot be decrypted without it.\n",
          secret->path.c_str());
    } else {
      std::printf("byok-relay: using the ENCRYPTION_SECRET kept in %s\n", secret->path.c_str());
    }
    vars["ENCRYPTION_SECRET"] = std::move(secret->hex);
  }
  // The internal calls between the three services carry a service token, in-process channels as
  // network ones (so the vault's caller policy is the daemons'): one generated for this process (in
  // memory only) unless the operator set BYOK_SERVICE_TOKEN (to call the vault and relay from outside
  // as a service too).
  if (auto it = vars.find("BYOK_SERVICE_TOKEN"); it == vars.end() || it->second.empty()) {
    auto token = byok::crypto::RandomBytes(32);
    if (!token.ok()) return Fail(std::string(token.status().message()));
    vars["BYOK_SERVICE_TOKEN"] = byok::crypto::HexEncode(*token);
    byok::crypto::WipeString(*token);
  }
  // The vault and relay listen on the network only when the operator names an address: the three
  // services call each other in process.
  const bool vault_listens = vars.find("BYOK_VAULT_ADDR") != vars.end();
  const bool relay_listens = vars.find("BYOK_RELAY_ADDR") != vars.end();
  byok::Env env(vars);
  // One metrics listener for all three services (they share the process's registry).
  if (absl::Status s = byok::metrics::InitObservability(env); !s.ok()) return Fail(std::string(s.message()));

  auto vault_config = byok::vault::LoadVaultConfig(env);
  if (!vault_config.ok()) return Fail(std::string(vault_config.status().message()));
  auto relay_config = byok::relay::LoadRelayConfig(env);
  if (!relay_config.ok()) return Fail(std::string(relay_config.status().message()));
  byok::apps::ApplyOneProcessDefaults(vars, byok::UsableCores(), *gateway_config, *relay_config);
  // The gateway's settings were read before the service token was generated.
  gateway_config->service = relay_config->service;

  // In one process the services talk in process: mutual TLS (BYOK_TLS_*) is for the separate
  // daemons, whose links cross a network.
  vault_config->tls.reset();
  relay_config->tls.reset();
  gateway_config->tls.reset();
  if (!vault_listens) vault_config->listen_address.clear();
  if (!relay_listens) relay_config->listen_address.clear();

  byok::InProcessLinks vault_links;
  vault_links.called_in_process = true;
  auto vault = byok::vault::VaultServer::Start(*std::move(vault_config), vault_links);
  if (!vault.ok()) return Fail(absl::StrCat("vault: ", vault.status().message()));

  byok::InProcessLinks relay_links;
  relay_links.vault = &(*vault)->in_process_server();
  relay_links.called_in_process = true;
  relay_config->vault_address = kInProcess;
  auto relay = byok::relay::RelayServer::Start(*std::move(relay_config), relay_links);
  if (!relay.ok()) return Fail(absl::StrCat("relay: ", relay.status().message()));

  byok::InProcessLinks gateway_links;
  gateway_links.vault = &(*vault)->in_process_server();
  gateway_links.relay = &(*relay)->in_process_server();
  gateway_config->vault_addr = kInProcess;
  gateway_config->relay_addr = kInProcess;
  auto gateway = byok::gateway::GatewayServer::Start(*std::move(gateway_config), gateway_links);
  if (!gateway.ok()) return Fail(absl::StrCat("gateway: ", gateway.status().message()));

  std::printf("byok-relay %s ready: http://localhost:%d\n", byok::kVersion, (*gateway)->port());
  std::fflush(stdout);

  int signal = byok::WaitForShutdownSignal();
  byok::log::Info("byok-relay", "signal %d: shutting down", signal);
  // Outermost first: no new requests, then the streams drain through the relay, then the vault.
  (*gateway)->Shutdown(kGrace);
  (*relay)->Shutdown(kGrace);
  (*vault)->Shutdown(kGrace);
  return 0;
}
