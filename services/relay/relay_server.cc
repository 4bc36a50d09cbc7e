#include "services/relay/relay_server.h"

#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/channel_arguments.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/caller_policy.h"
#include "common/grpc_channel.h"
#include "common/grpc_reflection.h"
#include "common/grpc_status.h"
#include "common/grpc_tls.h"
#include "common/service_auth.h"
#include "common/logging.h"
#include "common/metrics/grpc_observer.h"
#include "services/relay/key_cache.h"
#include "services/relay/key_check_limiter.h"
#include "services/relay/policy/relay_policy.h"
#include "services/relay/relay_metrics.h"
#include "services/relay/relay_service.h"
#include "services/relay/upstream/upstream_client.h"
#include "services/relay/vault_client.h"
#include "services/relay/vault_link_watch.h"
#include "services/vault/client/key_change_watch.h"

namespace byok::relay {
namespace {

// Largest request the relay accepts: the gateway's body limit (REQUEST_BODY_LIMIT_BYTES, 10 MiB by
// default) plus headroom for headers and fields.
constexpr int kMaxReceiveBytes = 64 * 1024 * 1024;

// How long shutdown waits for the vault to take the last usage records.
constexpr absl::Duration kUsageDrainTimeout = absl::Seconds(2);

}  // namespace

RelayServer::RelayServer() = default;

RelayServer::~RelayServer() { Shutdown(absl::ZeroDuration()); }

absl::StatusOr<std::unique_ptr<RelayServer>> RelayServer::Start(RelayConfig config, InProcessLinks links) {
  std::unique_ptr<RelayServer> s(new RelayServer());
  if (config.policy.test_upstream_override.has_value()) {
    log::Warn("relay",
              "NODE_ENV=test: requests presenting x-relay-e2e-base-url-token go to "
              "E2E_OPENAI_COMPATIBLE_BASE_URL (the original's test-only override; never in production)");
  }
  s->policy_ = std::make_unique<RelayPolicy>(std::move(config.policy));
  RelayMetrics::Get();  // when metrics are on, installs the upstream pools' observer first
  absl::StatusOr<std::unique_ptr<UpstreamClient>> upstream =
      UpstreamClient::Create(config.upstream);
  if (!upstream.ok()) return upstream.status();
  s->upstream_ = *std::move(upstream);
  if (links.vault != nullptr) {
    s->vault_ = std::make_unique<VaultClient>(
        CreateInProcessServiceChannel(*links.vault, grpc::ChannelArguments(), config.service.token),
        config.vault_timeout, config.usage);
  } else {
    s->vault_ =
        std::make_unique<VaultClient>(config.vault_address, ChannelCredentialsFor(config.tls),
                                      config.vault_timeout, config.usage, config.service.token);
  }
  // Resolved keys are kept only while the vault's change stream is live (docs/key-cache.md).
  s->key_cache_ = std::make_unique<KeyCache>(config.key_cache);
  if (s->key_cache_->enabled()) {
    s->vault_->UseKeyCache(s->key_cache_.get());
    s->key_watch_ = std::make_unique<vault::KeyChangeWatch>(s->vault_->channel(),
                                                            s->key_cache_->listener());
  }
  s->check_key_limiter_ = std::make_unique<KeyCheckLimiter>(config.check_key_per_minute);
  CallerPolicy::Options callers;
  callers.mutual_tls = config.tls.has_value();
  callers.service = config.service;
  callers.domain = kRelayDomain;
  s->service_ = std::make_unique<RelayService>(
      RelayDeps{s->policy_.get(), s->upstream_.get(), s->vault_.get()},
      CallerPolicy(std::move(callers)), config.check_key_callers, s->check_key_limiter_.get());

  grpc::EnableDefaultHealthCheckService(true);
  EnableServerReflection(config.reflection);
  grpc::ServerBuilder builder;
  if (!links.called_in_process) AddServerBalancingArguments(builder);  // callers find new replicas
  AddServerKeepalivePolicy(builder);  // callers' keepalive on silent streams
  const bool listens = !links.called_in_process || !config.listen_address.empty();
  if (listens) builder.AddListeningPort(config.listen_address, ServerCredentialsFor(config.tls), &s->port_);
  builder.SetMaxReceiveMessageSize(kMaxReceiveBytes);
  builder.RegisterService(s->service_.get());
  builder.experimental().SetInterceptorCreators(metrics::ServerObservers("relay"));
  s->server_ = builder.BuildAndStart();
  if (s->server_ == nullptr || (listens && s->port_ == 0)) {
    s->server_.reset();
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", config.listen_address, " (BYOK_RELAY_ADDR)"));
  }
  if (grpc::HealthCheckServiceInterface* health = s->server_->GetHealthCheckService()) {
    // The server ("") is SERVING while the process runs (liveness); the Relay service only while the
    // relay can reach the vault (readiness): /health must not say ok while relayed requests would fail
    // (docs/security.md, item 9), and a vault outage must not get relays restarted.
    health->SetServingStatus(true);
    if (links.vault != nullptr) {
      // In one process the vault is up while the relay is (it stops last); an in-process channel has
      // no connectivity state to watch.
      health->SetServingStatus(v1::Relay::service_full_name(), true);
    } else {
      s->vault_link_ = std::make_unique<VaultLinkWatch>(s->vault_->channel(), [health](bool usable) {
        health->SetServingStatus(v1::Relay::service_full_name(), usable);
      });
    }
  }
  return s;
}

void RelayServer::Shutdown(absl::Duration grace) {
  if (shut_down_) return;
  shut_down_ = true;
  vault_link_.reset();  // no more health reports: the server says NOT_SERVING from here on
  key_watch_.reset();   // unsubscribed: the cache empties and is bypassed from here on
  if (server_ != nullptr) {
    if (grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService()) {
      health->SetServingStatus(false);
    }
    // RelayMany callers move new requests to another replica; the ones running here go on.
    service_->DrainStreams();
    // Waits for running calls until the deadline, then cancels them; each cancelled stream closes
    // its provider connection and finishes.
    server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
    server_->Wait();
  }
  // Every call has recorded its usage: hand the last batch to the vault.
  if (vault_ != nullptr) vault_->DrainUsage(kUsageDrainTimeout);
  // Every call has ended: the upstream threads can stop.
  upstream_.reset();
}

}  // namespace byok::relay
