#include "services/vault/vault_server.h"

#include <grpc/grpc.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/crypto/keyring_aead.h"
#include "common/caller_policy.h"
#include "common/grpc_channel.h"
#include "common/grpc_reflection.h"
#include "common/grpc_status.h"
#include "common/grpc_tls.h"
#include "common/logging.h"
#include "common/metrics/grpc_observer.h"
#include "common/metrics/metrics.h"
#include "common/status.h"
#include "services/vault/audit_trail.h"
#include "services/vault/change_feed.h"
#include "services/vault/clock.h"
#include "services/vault/periodic_task.h"
#include "services/vault/pg_change_relay.h"
#include "services/vault/key_store_factory.h"
#include "services/vault/store_executor.h"
#include "services/vault/usage_commit.h"
#include "services/vault/token.h"
#include "services/vault/vault_core.h"
#include "services/vault/vault_secrets.h"
#include "services/vault/vault_service.h"

namespace byok::vault {

namespace {

// Changes one subscriber may have queued before it is sent KIND_RESET instead.
constexpr size_t kChangeQueueLimit = 1024;
// Calls waiting for a store thread before more are answered UNAVAILABLE (a few seconds of work at
// the store's pace; a relay's usage batcher retries UNAVAILABLE).
constexpr int kStoreQueueLimit = 1024;

absl::StatusOr<AdoptionReport> Adopt(const VaultConfig& config, const crypto::KeyringAead& keyring,
                                     const TokenHasher& hasher, bool dry_run) {
  AdoptionOptions options;
  options.db_path = config.db_path;
  options.encryption_secret = config.encryption_secret;
  options.salt = config.original_salt;
  options.dry_run = dry_run;
  // On PostgreSQL the rows go there, and DB_PATH's original file is only read.
  std::unique_ptr<KeyStore> target;
  if (!config.database_url.empty()) {
    PgKeyStore::Options pg;
    pg.pool_size = 1;
    absl::StatusOr<std::unique_ptr<KeyStore>> opened = OpenKeyStore(config.database_url, pg);
    if (!opened.ok()) {
      return absl::Status(opened.status().code(),
                          absl::StrCat("adoption of the original byok-relay database failed: ",
                                       opened.status().message()));
    }
    target = *std::move(opened);
    options.target = target.get();
  }
  absl::StatusOr<AdoptionReport> report = AdoptOriginalDatabase(options, keyring, hasher);
  if (!report.ok()) {
    return absl::Status(report.status().code(),
                        absl::StrCat("adoption of the original byok-relay database failed: ",
                                     report.status().message()));
  }
  return report;
}

}  // namespace

VaultServer::VaultServer() = default;

absl::StatusOr<AdoptionReport> Adopt(const VaultConfig& config, bool dry_run) {
  BYOK_ASSIGN_OR_RETURN(std::unique_ptr<crypto::KeyringAead> keyring, BuildKeyring(config));
  BYOK_ASSIGN_OR_RETURN(std::unique_ptr<TokenHasher> hasher, BuildTokenHasher(config));
  return Adopt(config, *keyring, *hasher, dry_run);
}

VaultServer::~VaultServer() { Shutdown(absl::ZeroDuration()); }

absl::StatusOr<std::unique_ptr<VaultServer>> VaultServer::Start(VaultConfig config, InProcessLinks links) {
  std::unique_ptr<VaultServer> s(new VaultServer());
  for (const std::string& warning : config.warnings) log::Warn("vault", "%s", warning);
  BYOK_ASSIGN_OR_RETURN(s->keyring_, BuildKeyring(config));
  BYOK_ASSIGN_OR_RETURN(s->hasher_, BuildTokenHasher(config));
  if (config.database_url.empty()) {
    BYOK_ASSIGN_OR_RETURN(AdoptionReport adopted, Adopt(config, *s->keyring_, *s->hasher_, false));
    if (adopted.outcome == AdoptionReport::Outcome::kAdopted) {
      log::Info("vault", "%s", adopted.Describe(config.db_path));
    }
  }
  PgKeyStore::Options pg;
  pg.pool_size = config.database_pool_size;
  const std::string& location = config.database_url.empty() ? config.db_path : config.database_url;
  BYOK_ASSIGN_OR_RETURN(s->store_, OpenKeyStore(location, pg));
  log::Info("vault", "store: %s", DescribeStoreLocation(location));
  s->clock_ = std::make_unique<SystemClock>();
  VaultOptions options;
  options.token_lifetime = config.token_lifetime;
  options.allow_http_base_urls = config.allow_private_upstreams;
  options.audit_retention = config.audit_retention;
  s->core_ = std::make_unique<VaultCore>(*s->store_, *s->keyring_, *s->hasher_, *s->clock_, options);
  s->audit_ = std::make_unique<AuditTrail>(*s->store_);
  s->core_->AddEventSink(s->audit_.get());
  // The change feed (WatchKeyChanges). On PostgreSQL it is live only while this replica hears the
  // others' changes; SQLite has one replica by design.
  const bool shared_store = !config.database_url.empty();
  s->changes_ = std::make_unique<ChangeFeed>(kChangeQueueLimit, /*live=*/!shared_store);
  s->core_->AddEventSink(s->changes_.get());
  if (shared_store) {
    s->change_relay_ = std::make_unique<PgChangeRelay>(config.database_url, *s->changes_);
    s->core_->AddEventSink(s->change_relay_.get());
  }
  const bool mutual_tls = config.tls.has_value();
  CallerPolicy::Options policy;
  policy.mutual_tls = mutual_tls;
  policy.service = config.service;
  policy.app_secret = config.app_secret;
  policy.domain = kVaultDomain;
  CallerPolicy callers(std::move(policy));
  const bool trusts_everyone = callers.trusts_everyone();
  // SQLite writes one at a time, so one store thread; PostgreSQL as many as its connections.
  StoreExecutorOptions threads;
  threads.threads = shared_store ? std::max(config.database_pool_size, 1) : 1;
  threads.max_queued = kStoreQueueLimit;
  s->executor_ = std::make_unique<StoreExecutor>(threads);
  s->usage_ = std::make_unique<UsageCommit>(*s->core_, *s->executor_);
  s->service_ = std::make_unique<VaultService>(
      *s->core_, *s->executor_, *s->usage_, std::move(callers),
      VaultCallers{config.resolve_callers, config.admin_callers, config.app_callers},
      s->changes_.get());

  grpc::EnableDefaultHealthCheckService(true);
  EnableServerReflection(config.reflection);
  grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default, which would let a second vault share the port silently (the
  // kernel splitting calls between two databases); an address in use must fail start-up instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  if (!links.called_in_process) AddServerBalancingArguments(builder);  // callers find new replicas
  AddServerKeepalivePolicy(builder);  // callers' keepalive on silent streams
  const bool listens = !links.called_in_process || !config.listen_address.empty();
  if (listens) builder.AddListeningPort(config.listen_address, ServerCredentialsFor(config.tls), &s->port_);
  builder.RegisterService(s->service_.get());
  builder.experimental().SetInterceptorCreators(metrics::ServerObservers("vault"));
  s->server_ = builder.BuildAndStart();
  if (s->server_ == nullptr || (listens && s->port_ == 0)) {
    s->server_.reset();
    return absl::UnavailableError(
        absl::StrCat("cannot listen on BYOK_VAULT_ADDR ", config.listen_address));
  }
  if (grpc::HealthCheckServiceInterface* health = s->server_->GetHealthCheckService()) {
    health->SetServingStatus(true);
    health->SetServingStatus(v1::Vault::service_full_name(), true);
  }

  // Counted by the store when scraped (one count each), never on the request path.
  s->keys_gauge_ = metrics::AddScrapedGauge("byok_vault_keys", "Provider keys stored", [store = s->store_.get()] {
    absl::StatusOr<int64_t> keys = store->CountKeys();
    return keys.ok() ? static_cast<double>(*keys) : -1.0;
  });
  s->users_gauge_ = metrics::AddScrapedGauge("byok_vault_users", "Users stored (revoked and expired ones until purged)", [store = s->store_.get()] {
    absl::StatusOr<int64_t> users = store->CountUsers();
    return users.ok() ? static_cast<double>(*users) : -1.0;
  });

  s->subscribers_gauge_ = metrics::AddScrapedGauge(
      "byok_vault_change_subscribers", "Open WatchKeyChanges subscriptions (relays and gateways keeping caches)",
      [feed = s->changes_.get()] { return static_cast<double>(feed->subscribers()); });

  s->usage_streams_gauge_ = metrics::AddScrapedGauge(
      "byok_vault_usage_streams", "Open StreamUsage streams (relays sending usage records)",
      [service = s->service_.get()] { return static_cast<double>(service->usage_streams()); });

  VaultCore* core = s->core_.get();
  s->purger_ = std::make_unique<PeriodicTask>(
      [core] {
        absl::StatusOr<int64_t> purged = core->PurgeExpiredUsers();
        if (!purged.ok()) {
          log::Warn("vault", "purge of expired users failed: %s", purged.status().ToString());
        }
        absl::StatusOr<int64_t> aged = core->PurgeOldAuditEvents();
        if (!aged.ok()) {
          log::Warn("vault", "purge of old audit events failed: %s", aged.status().ToString());
        }
      },
      config.purge_interval);
  const char* callers_line = "plaintext, service token required for internal RPCs";
  if (mutual_tls) {
    callers_line = "mutual TLS on";
  } else if (trusts_everyone) {
    callers_line = "plaintext, trusted loopback (every caller is a service)";
  } else if (config.service.token.empty()) {
    callers_line = "plaintext, internal RPCs refused (no service identity)";
  }
  log::Info("vault", "key version %08x is current; %d older secrets configured; %s",
            s->keyring_->primary_key_id(), config.previous_secrets.size(), callers_line);
  return s;
}

void VaultServer::Shutdown(absl::Duration grace) {
  if (shut_down_) return;
  shut_down_ = true;
  if (server_ != nullptr) {
    if (grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService()) {
      health->SetServingStatus(false);
    }
    // Subscribers' streams never end by themselves: end them first so they do not hold the grace.
    if (changes_ != nullptr) changes_->Close();
    // Relays' usage streams neither: they finish once their committing batches are answered.
    if (service_ != nullptr) service_->CloseUsageStreams();
    const absl::Time deadline = absl::Now() + grace;
    // Calls queued for the store keep running during the grace; after it gRPC cancels them and the
    // store threads answer each without store work, so this returns in bounded time.
    server_->Shutdown(absl::ToChronoTime(deadline));
    server_->Wait();
    if (executor_ != nullptr) executor_->Shutdown(std::max(deadline - absl::Now(), absl::ZeroDuration()));
  }
  if (purger_ != nullptr) purger_->Stop();
}

}  // namespace byok::vault
