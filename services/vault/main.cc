// byok-vaultd: the vault as its own daemon (users, tokens, encrypted provider keys) on BYOK_VAULT_ADDR.
#include <cstdio>
#include <cstring>
#include <string>

#include "common/env.h"
#include "common/logging.h"
#include "common/metrics/metrics.h"
#include "common/service_auth.h"
#include "common/daemon_init.h"
#include "common/shutdown.h"
#include "common/version.h"
#include "services/vault/store_copy.h"
#include "services/vault/vault_config.h"
#include "services/vault/vault_server.h"

namespace {

constexpr char kUsage[] =
    "Usage: byok-vaultd [--help] [--version]\n"
    "       byok-vaultd adopt [--dry-run]\n"
    "       byok-vaultd migrate --from <SQLite file | postgres URL> --to <SQLite file | postgres URL>\n"
    "\n"
    "Serves the byok-relay vault (gRPC byok.vault.v1.Vault and grpc.health.v1.Health).\n"
    "Started on an original byok-relay database (DB_PATH) with the original's ENCRYPTION_SECRET,\n"
    "ENCRYPTION_SALT and TOKEN_HMAC_SECRET, it adopts it first: the file is copied beside itself\n"
    "(<name>.original-<UTC time>), then users, tokens, keys and request counts move to this vault.\n"
    "'adopt' does only that and exits; 'adopt --dry-run' reports what it would do and writes nothing.\n"
    "With BYOK_VAULT_DATABASE_URL set, only 'adopt' adopts: into that (empty) PostgreSQL database,\n"
    "the original file left as it is.\n"
    "'migrate' copies every user, key and usage record from one store to another, empty one (SQLite to\n"
    "PostgreSQL or back), all or nothing, ciphertexts as stored (it needs no secret); stop the vault first.\n"
    "Configuration comes from the environment:\n"
    "  ENCRYPTION_SECRET            any string of at least 32 characters (required; openssl rand -hex 32)\n"
    "  ENCRYPTION_SECRET_PREVIOUS   older secrets, comma-separated, for reading rows written under them\n"
    "  ENCRYPTION_SALT              the original's scrypt salt, for adoption (default byok-relay-salt)\n"
    "  TOKEN_HMAC_SECRET            key for token hashes, 32+ characters (default: ENCRYPTION_SECRET)\n"
    "  BYOK_VAULT_ADDR              listen address (default 127.0.0.1:50051)\n"
    "  DB_PATH                      SQLite database file (default ./data/relay.db)\n"
    "  BYOK_VAULT_DATABASE_URL      postgres://user:password@host:5432/db?sslmode=verify-full: store in\n"
    "                               PostgreSQL instead of DB_PATH (any number of vault replicas share it)\n"
    "  BYOK_VAULT_DATABASE_POOL_SIZE PostgreSQL connections per vault process (default 8)\n"
    "  TOKEN_EXPIRY_DAYS            token lifetime in days (default 90; 0 never expires)\n"
    "  BYOK_VAULT_PURGE_INTERVAL_S  how often revoked and expired users are erased (default 3600)\n"
    "  BYOK_ALLOW_PRIVATE_UPSTREAMS accept http:// base URLs for openai-compatible keys (default 0)\n"
    "  LOG_LEVEL                    debug, info, warn, error or off (default info)\n"
    "  LOG_FORMAT                   text or json (one JSON object per line) (default text)\n"
    "  BYOK_METRICS_ADDR            host:port of the Prometheus /metrics listener (default: off)\n"
    "  BYOK_TLS_CERT_FILE, BYOK_TLS_KEY_FILE, BYOK_TLS_CA_FILE\n"
    "                               serve mutual TLS (all three, PEM); callers need a CA-signed cert\n"
    "  BYOK_SERVICE_TOKEN           shared secret (32+ characters) the relay and gateway send for the\n"
    "                               internal RPCs (ResolveKey, RecordUsage*, Rewrap, CreateUser...)\n"
    "  BYOK_TRUSTED_LOOPBACK        1: without TLS or a service token, trust every caller (loopback\n"
    "                               listen address only); without any of the three the vault refuses\n"
    "                               to start\n"
    "  APP_SECRET                   app credential (byok-app-secret metadata) for CreateUser and\n"
    "                               GetStats by app_id; unset: those need a service identity\n"
    "  BYOK_GRPC_REFLECTION         serve gRPC server reflection (default 1)\n"
    "  BYOK_VAULT_RESOLVE_CALLERS   cert identities allowed ResolveKey and RecordUsage* (default relay)\n"
    "  BYOK_VAULT_ADMIN_CALLERS     cert identities allowed to call Rewrap under mTLS (default admin)\n"
    "  BYOK_VAULT_APP_CALLERS       cert identities allowed CreateUser, GetStats by app (default gateway)\n";

constexpr int kExitConfig = 2;
constexpr int kExitStart = 1;

// byok-vaultd adopt [--dry-run]: adoption alone, its report on stdout.
int RunAdopt(bool dry_run) {
  absl::StatusOr<byok::vault::VaultConfig> config = byok::vault::LoadVaultConfig(byok::Env());
  if (!config.ok()) {
    std::fprintf(stderr, "byok-vaultd: configuration error: %s\n",
                 std::string(config.status().message()).c_str());
    return kExitConfig;
  }
  byok::log::SetLevel(config->log_level);
  for (const std::string& warning : config->warnings) byok::log::Warn("vaultd", "%s", warning);
  absl::StatusOr<byok::vault::AdoptionReport> report = byok::vault::Adopt(*config, dry_run);
  if (!report.ok()) {
    std::fprintf(stderr, "byok-vaultd: %s\n", std::string(report.status().message()).c_str());
    return kExitStart;
  }
  std::printf("byok-vaultd: %s\n", report->Describe(config->db_path).c_str());
  return 0;
}

// byok-vaultd migrate --from A --to B: the copy alone, its report on stdout.
int RunMigrate(int argc, char** argv) {
  std::string from, to;
  for (int i = 2; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    if (std::strcmp(argv[i], "--from") == 0 && has_value) {
      from = argv[++i];
    } else if (std::strcmp(argv[i], "--to") == 0 && has_value) {
      to = argv[++i];
    } else {
      from.clear();
      break;
    }
  }
  if (from.empty() || to.empty()) {
    std::fprintf(stderr, "byok-vaultd: migrate takes --from <store> --to <store> (try --help)\n");
    return kExitConfig;
  }
  absl::StatusOr<byok::vault::StoreCopyReport> report = byok::vault::CopyStoreAt(from, to);
  if (!report.ok()) {
    std::fprintf(stderr, "byok-vaultd: migrate failed: %s\n",
                 std::string(report.status().message()).c_str());
    return kExitStart;
  }
  std::printf("byok-vaultd: %s\n", byok::vault::DescribeCopy(*report, from, to).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  byok::InitDaemonProcess();
  if (argc >= 2 && std::strcmp(argv[1], "migrate") == 0) return RunMigrate(argc, argv);
  if (argc >= 2 && std::strcmp(argv[1], "adopt") == 0) {
    bool dry_run = false;
    for (int i = 2; i < argc; ++i) {
      if (std::strcmp(argv[i], "--dry-run") != 0) {
        std::fprintf(stderr, "byok-vaultd: adopt takes only --dry-run (try --help)\n");
        return kExitConfig;
      }
      dry_run = true;
    }
    return RunAdopt(dry_run);
  }
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (std::strcmp(argv[i], "--version") == 0) {
      std::printf("byok-vaultd (%s) %s\n", byok::kProductName, byok::kVersion);
      return 0;
    }
    std::fprintf(stderr, "byok-vaultd: unknown argument (try --help)\n");
    return kExitConfig;
  }

  // Validate everything before touching the file system: a bad configuration creates no files.
  absl::StatusOr<byok::vault::VaultConfig> config = byok::vault::LoadVaultConfig(byok::Env());
  if (!config.ok()) {
    std::fprintf(stderr, "byok-vaultd: configuration error: %s\n",
                 std::string(config.status().message()).c_str());
    return kExitConfig;
  }
  byok::log::SetLevel(config->log_level);
  if (absl::Status s = byok::CheckServiceAuthConfigured(config->service, config->tls.has_value(),
                                                         {config->listen_address}, "byok-vaultd");
      !s.ok()) {
    std::fprintf(stderr, "byok-vaultd: configuration error: %s\n", std::string(s.message()).c_str());
    return kExitConfig;
  }
  if (absl::Status s = byok::metrics::InitObservability(byok::Env()); !s.ok()) {
    std::fprintf(stderr, "byok-vaultd: configuration error: %s\n", std::string(s.message()).c_str());
    return s.code() == absl::StatusCode::kInvalidArgument ? kExitConfig : kExitStart;
  }
  // The host part of the listen address, for the start-up line (the port may be 0 until bound).
  const std::string host = config->listen_address.substr(0, config->listen_address.rfind(':'));

  absl::StatusOr<std::unique_ptr<byok::vault::VaultServer>> server =
      byok::vault::VaultServer::Start(*std::move(config));
  if (!server.ok()) {
    byok::log::Error("vaultd", "cannot start: %s", server.status().ToString());
    return kExitStart;
  }
  byok::log::Info("vaultd", "byok-vaultd %s listening on %s:%d", byok::kVersion, host,
                  (*server)->port());

  const int signal = byok::WaitForShutdownSignal();
  byok::log::Info("vaultd", "signal %d: shutting down", signal);
  (*server)->Shutdown(absl::Seconds(5));
  byok::log::Info("vaultd", "stopped");
  return 0;
}
