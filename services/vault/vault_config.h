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
#include "common/service_auth.h"

namespace byok::vault {

// Everything VaultServer::Start needs. Secrets are held in self-wiping buffers.
struct VaultConfig {
  // BYOK_VAULT_ADDR: host:port to listen on (port 0 picks a free one).
  std::string listen_address = "127.0.0.1:50051";
  // DB_PATH: the SQLite database file.
  std::string db_path = "./data/relay.db";
  // BYOK_VAULT_DATABASE_URL: a PostgreSQL connection URI (postgres:// or postgresql://); when set the
  // vault stores its rows there instead of DB_PATH, and any number of replicas may share it.
  std::string database_url;
  // BYOK_VAULT_DATABASE_POOL_SIZE: PostgreSQL connections per vault process, at most.
  int database_pool_size = 8;
  // ENCRYPTION_SECRET as given: any string of at least 32 characters; its bytes are the key
  // material (see vault_secrets.h for what is derived from it).
  crypto::SecretBytes encryption_secret;
  // ENCRYPTION_SECRET_PREVIOUS entries: older secrets, only for reading rows written under them.
  std::vector<crypto::SecretBytes> previous_secrets;
  // TOKEN_HMAC_SECRET as given, or empty: tokens are then hashed under ENCRYPTION_SECRET.
  crypto::SecretBytes token_hmac_secret;
  // ENCRYPTION_SALT: the original byok-relay's scrypt salt, read only when adopting its database.
  std::string original_salt = "byok-relay-salt";
  // TOKEN_EXPIRY_DAYS: token lifetime; zero means tokens never expire.
  absl::Duration token_lifetime = absl::Hours(24 * 90);
  // BYOK_VAULT_PURGE_INTERVAL_S: how often revoked and expired users are erased.
  absl::Duration purge_interval = absl::Hours(1);
  // BYOK_VAULT_AUDIT_RETENTION_DAYS: how long key audit events are kept (erased by the purge job);
  // zero keeps them forever.
  absl::Duration audit_retention = absl::Hours(24 * 90);
  // BYOK_ALLOW_PRIVATE_UPSTREAMS: also accept http:// base URLs for openai-compatible keys.
  bool allow_private_upstreams = false;
  // LOG_LEVEL.
  log::Level log_level = log::Level::kInfo;

  // Mutual TLS, on when BYOK_TLS_CERT_FILE, BYOK_TLS_KEY_FILE and BYOK_TLS_CA_FILE are all set (PEM
  // contents, read at load time): callers must present a certificate signed by the CA, and the
  // internal RPCs check its identity (SAN DNS name, else CN) against the lists below.
  std::optional<MutualTls> tls;
  // BYOK_SERVICE_TOKEN and BYOK_TRUSTED_LOOPBACK: the service identity of internal calls without (or
  // besides) mutual TLS (common/caller_policy.h). Neither, and no TLS: internal RPCs are refused.
  ServiceAuth service;
  // APP_SECRET: the app credential for CreateUser and GetStats by app (the `byok-app-secret`
  // metadata). Empty: those RPCs need a service identity (the gateway's, which applies REST's rule).
  crypto::SecretBytes app_secret;
  // BYOK_VAULT_RESOLVE_CALLERS: identities allowed ResolveKey, RecordUsage, RecordUsageBatch (mTLS).
  std::vector<std::string> resolve_callers = {"relay"};
  // BYOK_VAULT_ADMIN_CALLERS: identities allowed to call Rewrap under mutual TLS.
  std::vector<std::string> admin_callers = {"admin"};
  // BYOK_GRPC_REFLECTION: serve gRPC server reflection.
  bool reflection = true;
  // BYOK_VAULT_APP_CALLERS: identities allowed CreateUser and GetStats by app under mutual TLS.
  std::vector<std::string> app_callers = {"gateway"};

  // Values accepted as the original accepted them, but worth a word at start-up (never a secret).
  std::vector<std::string> warnings;
};

// Reads and validates the configuration, accepting every value the original byok-relay accepted.
// Errors name the variable and the rule, never a value: ENCRYPTION_SECRET is required, at least 32
// characters; each ENCRYPTION_SECRET_PREVIOUS entry (comma-separated) at least 32 characters;
// TOKEN_HMAC_SECRET, when set, at least 32 characters. A weak secret (a short repeating pattern, or
// few distinct characters) and a TOKEN_EXPIRY_DAYS the original would have read loosely ("30d" is 30;
// negative or not a number is 90) start with a warning.
absl::StatusOr<VaultConfig> LoadVaultConfig(const Env& env);

// Returns OK when `secret` is not weak (see LoadVaultConfig); the error names `variable`.
absl::Status CheckEncryptionSecret(absl::string_view variable, absl::string_view secret);

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_VAULT_CONFIG_H_
