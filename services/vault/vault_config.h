// The vault daemon's configuration, read and validated from the environment before anything starts.
#ifndef BYOK_SERVICES_VAULT_VAULT_CONFIG_H_
#define BYOK_SERVICES_VAULT_VAULT_CONFIG_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/crypto/secret_bytes.h"
#include "common/env.h"
#include "common/grpc_tls.h"
#include "common/logging.h"

namespace byok::vault {

// Everything VaultServer::Start needs. Secrets are held in self-wiping buffers.
struct VaultConfig {
  // BYOK_VAULT_ADDR: host:port to listen on (port 0 picks a free one).
  std::string listen_address = "127.0.0.1:50051";
  // DB_PATH: the SQLite database file.
  std::string db_path = "./data/relay.db";
  // ENCRYPTION_SECRET, decoded: 32 bytes.
  crypto::SecretBytes encryption_secret;
  // ENCRYPTION_SECRET_PREVIOUS, decoded: older secrets, only for reading rows written under them.
  std::vector<crypto::SecretBytes> previous_secrets;
  // TOKEN_HMAC_SECRET (raw bytes), or empty to derive the token key from ENCRYPTION_SECRET.
  crypto::SecretBytes token_hmac_secret;
  // TOKEN_EXPIRY_DAYS: token lifetime; zero means tokens never expire.
  absl::Duration token_lifetime = absl::Hours(24 * 90);
  // BYOK_VAULT_PURGE_INTERVAL_S: how often revoked and expired users are erased.
  absl::Duration purge_interval = absl::Hours(1);
  // BYOK_ALLOW_PRIVATE_UPSTREAMS: also accept http:// base URLs for openai-compatible keys.
  bool allow_private_upstreams = false;
  // LOG_LEVEL.
  log::Level log_level = log::Level::kInfo;

  // Mutual TLS, on when BYOK_TLS_CERT_FILE, BYOK_TLS_KEY_FILE and BYOK_TLS_CA_FILE are all set (PEM
  // contents, read at load time): callers must present a certificate signed by the CA, and the
  // privileged RPCs check its identity (SAN DNS name, else CN). Unset: plaintext, every caller allowed.
  std::optional<MutualTls> tls;
  // BYOK_VAULT_RESOLVE_CALLERS: identities allowed to call ResolveKey under mutual TLS.
  std::vector<std::string> resolve_callers = {"relay"};
  // BYOK_VAULT_ADMIN_CALLERS: identities allowed to call Rewrap under mutual TLS.
  std::vector<std::string> admin_callers = {"admin"};
};

// Reads and validates the configuration. Errors name the variable and the rule, never a value:
// ENCRYPTION_SECRET must be exactly 64 hex characters and not weak (one repeated character, a short
// repeating pattern, or too few distinct bytes); each ENCRYPTION_SECRET_PREVIOUS entry (comma-separated)
// must be 64 hex characters; TOKEN_HMAC_SECRET, when set, at least 32 characters and not weak.
absl::StatusOr<VaultConfig> LoadVaultConfig(const Env& env);

// Returns OK when `hex` is an acceptable ENCRYPTION_SECRET (see LoadVaultConfig); the error names
// `variable`.
absl::Status CheckEncryptionSecret(absl::string_view variable, absl::string_view hex);

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_VAULT_CONFIG_H_
