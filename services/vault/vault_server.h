// The running vault: storage, keyring, logic, gRPC server with the health service, and the purge
// thread, started from one VaultConfig. Used by byok-vaultd and by the all-in-one byok-relay.
#ifndef BYOK_SERVICES_VAULT_VAULT_SERVER_H_
#define BYOK_SERVICES_VAULT_VAULT_SERVER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/in_process.h"
#include "services/vault/adoption.h"
#include "services/vault/vault_config.h"

namespace grpc {
class Server;
}  // namespace grpc

namespace byok::vault {

class AuditTrail;
class ChangeFeed;
class KeyStore;
class PgChangeRelay;
class TokenHasher;
class VaultCore;
class VaultService;
class PeriodicTask;
class StoreExecutor;
class SystemClock;
class UsageCommit;

}  // namespace byok::vault

namespace byok::metrics {
class ScrapedGauge;
}  // namespace byok::metrics

namespace byok::crypto {
class KeyringAead;
}  // namespace byok::crypto

namespace byok::vault {

// Owns every part of a running vault. Thread-safe: port() any time; Shutdown once (the destructor
// shuts down with no grace when it was not called).
class VaultServer {
 public:
  // Builds the keyring and token hasher from the configured secrets, adopts an original byok-relay
  // database at DB_PATH (adoption.h; its failure stops the start; on PostgreSQL only `byok-vaultd
  // adopt` does, once), opens the database (BYOK_VAULT_DATABASE_URL, else DB_PATH, creating the file
  // and its folder),
  // binds `config.listen_address` (port 0 picks a free port), registers the Vault service and the
  // standard gRPC health service (status SERVING), writes key events to the audit trail, and starts
  // the purge thread (expired users, then audit events past BYOK_VAULT_AUDIT_RETENTION_DAYS). Fails
  // with Unavailable when the address cannot be bound or the database cannot be opened.
  // With `links.called_in_process` (byok-relay), an empty listen address binds nothing: the vault is
  // reached only through in_process_server().
  static absl::StatusOr<std::unique_ptr<VaultServer>> Start(VaultConfig config, InProcessLinks links = {});

  VaultServer(const VaultServer&) = delete;
  VaultServer& operator=(const VaultServer&) = delete;
  ~VaultServer();

  // Returns the port the server is bound to (0 without a listener).
  int port() const { return port_; }

  // The gRPC server, for in-process channels to it (CreateInProcessServiceChannel). Valid until the
  // VaultServer is destroyed.
  grpc::Server& in_process_server() { return *server_; }

  // Ends every WatchKeyChanges and StreamUsage stream, stops accepting calls, lets calls in flight (queued for the
  // store threads included) finish for up to `grace`, then cancels the rest, which the store threads
  // answer without store work; stops the store threads and the purge thread. Idempotent. Clients that keep an idle
  // channel open also hold the shutdown until
  // `grace` has passed (gRPC waits for their connections to close).
  void Shutdown(absl::Duration grace);

 private:
  VaultServer();

  std::unique_ptr<KeyStore> store_;
  std::unique_ptr<crypto::KeyringAead> keyring_;
  std::unique_ptr<TokenHasher> hasher_;
  std::unique_ptr<SystemClock> clock_;
  std::unique_ptr<AuditTrail> audit_;  // a sink of core_: outlives it
  // Before core_ and the server: both hold them until they are gone.
  std::unique_ptr<ChangeFeed> changes_;
  std::unique_ptr<PgChangeRelay> change_relay_;  // on PostgreSQL only
  std::unique_ptr<VaultCore> core_;
  // The store threads and the usage group commit: after core_ (their tasks use it), before the
  // service and the server (whose calls queue on them); Shutdown stops them after the server.
  std::unique_ptr<StoreExecutor> executor_;
  std::unique_ptr<UsageCommit> usage_;
  std::unique_ptr<VaultService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<PeriodicTask> purger_;
  // Read store_ when scraped: destroyed first (declared last).
  std::unique_ptr<metrics::ScrapedGauge> keys_gauge_;
  std::unique_ptr<metrics::ScrapedGauge> users_gauge_;
  std::unique_ptr<metrics::ScrapedGauge> subscribers_gauge_;  // reads changes_
  std::unique_ptr<metrics::ScrapedGauge> usage_streams_gauge_;  // reads service_
  int port_ = 0;
  bool shut_down_ = false;
};

// Adopts an original byok-relay database at config.db_path, if there is one (adoption.h), with the
// keyring and token hasher the configuration yields, into config.database_url when set (which must be
// empty), else in place; with `dry_run`, only reports. Errors say that
// adoption failed and why. `byok-vaultd adopt [--dry-run]` and VaultServer::Start use it.
absl::StatusOr<AdoptionReport> Adopt(const VaultConfig& config, bool dry_run);

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_VAULT_SERVER_H_
