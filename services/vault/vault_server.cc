#include "services/vault/vault_server.h"

#include <grpc/grpc.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/crypto/keyring_aead.h"
#include "common/grpc_tls.h"
#include "common/logging.h"
#include "common/status.h"
#include "services/vault/caller_policy.h"
#include "services/vault/clock.h"
#include "services/vault/periodic_task.h"
#include "services/vault/sqlite_key_store.h"
#include "services/vault/token.h"
#include "services/vault/vault_core.h"
#include "services/vault/vault_service.h"

namespace byok::vault {

VaultServer::VaultServer() = default;

VaultServer::~VaultServer() { Shutdown(absl::ZeroDuration()); }

absl::StatusOr<std::unique_ptr<VaultServer>> VaultServer::Start(VaultConfig config) {
  std::unique_ptr<VaultServer> s(new VaultServer());
  BYOK_ASSIGN_OR_RETURN(s->keyring_,
                        crypto::KeyringAead::Create(config.encryption_secret, config.previous_secrets));
  crypto::SecretBytes token_key = config.token_hmac_secret;
  if (token_key.empty()) {
    BYOK_ASSIGN_OR_RETURN(token_key, TokenHasher::DeriveKey(config.encryption_secret));
  }
  BYOK_ASSIGN_OR_RETURN(s->hasher_, TokenHasher::Create(std::move(token_key)));
  BYOK_ASSIGN_OR_RETURN(s->store_, SqliteKeyStore::Open(config.db_path));
  s->clock_ = std::make_unique<SystemClock>();
  VaultOptions options;
  options.token_lifetime = config.token_lifetime;
  options.allow_http_base_urls = config.allow_private_upstreams;
  s->core_ = std::make_unique<VaultCore>(*s->store_, *s->keyring_, *s->hasher_, *s->clock_, options);
  const bool mutual_tls = config.tls.has_value();
  s->service_ = std::make_unique<VaultService>(
      *s->core_, mutual_tls ? CallerPolicy(config.resolve_callers, config.admin_callers)
                            : CallerPolicy::AllowAll());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default, which would let a second vault share the port silently (the
  // kernel splitting calls between two databases); an address in use must fail start-up instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(config.listen_address, ServerCredentialsFor(config.tls), &s->port_);
  builder.RegisterService(s->service_.get());
  s->server_ = builder.BuildAndStart();
  if (s->server_ == nullptr || s->port_ == 0) {
    s->server_.reset();
    return absl::UnavailableError(
        absl::StrCat("cannot listen on BYOK_VAULT_ADDR ", config.listen_address));
  }
  if (grpc::HealthCheckServiceInterface* health = s->server_->GetHealthCheckService()) {
    health->SetServingStatus(true);
  }

  VaultCore* core = s->core_.get();
  s->purger_ = std::make_unique<PeriodicTask>(
      [core] {
        absl::StatusOr<int64_t> purged = core->PurgeExpiredUsers();
        if (!purged.ok()) {
          log::Warn("vault", "purge of expired users failed: %s", purged.status().ToString());
        }
      },
      config.purge_interval);
  log::Info("vault", "key version %08x is current; %d older secrets configured; %s",
            s->keyring_->primary_key_id(), config.previous_secrets.size(),
            mutual_tls ? "mutual TLS on" : "plaintext (every caller trusted)");
  return s;
}

void VaultServer::Shutdown(absl::Duration grace) {
  if (shut_down_) return;
  shut_down_ = true;
  if (server_ != nullptr) {
    if (grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService()) {
      health->SetServingStatus(false);
    }
    server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
    server_->Wait();
  }
  if (purger_ != nullptr) purger_->Stop();
}

}  // namespace byok::vault
