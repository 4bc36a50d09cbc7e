#include "services/relay/vault_client.h"

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>
#include <openssl/crypto.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/grpc_channel.h"
#include "common/grpc_status.h"
#include "common/logging.h"
#include "common/metrics/grpc_observer.h"
#include "common/request_context.h"
#include "common/service_auth.h"

namespace byok::relay {
namespace {

namespace v1 = vault::v1;

bool RefusedTheRelay(const absl::Status& status) {
  const std::string why = ReasonOf(status);
  return why == reason::kCallerUnauthenticated || why == reason::kServiceTokenInvalid ||
         why == reason::kCallerNotAllowed;
}

absl::Status RelayFacingError(const grpc::Status& status, const std::string& provider) {
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return WithReason(absl::UnavailableError("the vault is unavailable"),
                        reason::kVaultUnavailable, kRelayDomain);
    case grpc::StatusCode::NOT_FOUND:
      return WithReason(
          absl::FailedPreconditionError(absl::StrCat("no key stored for provider ", provider)),
          reason::kKeyNotFound, kVaultDomain);
    default:
      break;
  }
  absl::Status from_vault = FromGrpcStatus(status);
  if (RefusedTheRelay(from_vault)) {
    // A misconfiguration between services (token or certificate), not the client's fault: the
    // vault's words about the relay's credential never reach a client.
    log::Error("relay", "the vault refused the relay's service identity: %s", from_vault.message());
    return WithReason(absl::InternalError("the vault refused the relay's service identity"),
                      reason::kCallerNotAllowed, kVaultDomain);
  }
  return from_vault;
}

// One ResolveKey call: owns what gRPC borrows until the callback.
class ResolveCall : public PendingResolve {
 public:
  void Cancel() override { context.TryCancel(); }

  grpc::ClientContext context;
  v1::ResolveKeyRequest request;
  v1::ResolveKeyResponse response;
};

// A resolution answered from the key cache: nothing to cancel.
class Answered : public PendingResolve {
 public:
  void Cancel() override {}
};

// Round-robin over every vault replica the address names, reconnecting soon after a restart. Pings
// while a call is open (BalancedTarget): the key-change subscription is silent when nothing changes,
// and a vault gone without closing the connection (a partition) is then noticed within about 40 s.
std::shared_ptr<grpc::Channel> VaultChannel(const std::string& address,
                                            std::shared_ptr<grpc::ChannelCredentials> credentials,
                                            const crypto::SecretBytes& service_token) {
  grpc::ChannelArguments args;
  std::string target = BalancedTarget(address, &args);
  return CreateServiceChannel(target, std::move(credentials), args, service_token);
}

}  // namespace

void WipeString(std::string* text) {
  if (!text->empty()) OPENSSL_cleanse(text->data(), text->size());
  text->clear();
}

VaultClient::VaultClient(const std::string& address,
                         std::shared_ptr<grpc::ChannelCredentials> credentials,
                         absl::Duration timeout, UsageBatcherOptions usage,
                         const crypto::SecretBytes& service_token)
    : VaultClient(VaultChannel(address, std::move(credentials), service_token), timeout, usage) {}

VaultClient::VaultClient(std::shared_ptr<grpc::Channel> channel, absl::Duration timeout,
                         UsageBatcherOptions usage)
    : channel_(std::move(channel)),
      stub_(v1::Vault::NewStub(channel_)),
      timeout_(timeout),
      usage_stream_(stub_, timeout_,
                    [this](v1::RecordUsageBatchRequest batch, UsageBatcher::Done done) {
                      SendUsageBatch(std::move(batch), std::move(done));
                    }),
      usage_([this](v1::RecordUsageBatchRequest batch,
                    UsageBatcher::Done done) { usage_stream_.Send(std::move(batch), std::move(done)); },
             usage) {}

std::shared_ptr<PendingResolve> VaultClient::ResolveKey(
    const std::string& token, const std::string& provider,
    std::function<void(absl::StatusOr<v1::ResolveKeyResponse>)> done) {
  vault::CacheTicket ticket;
  if (cache_ != nullptr) {
    v1::ResolveKeyResponse cached;
    if (cache_->Find(token, provider, &cached, &ticket)) {
      done(std::move(cached));
      return std::make_shared<Answered>();
    }
  }
  auto call = std::make_shared<ResolveCall>();
  call->request.set_token(token);
  call->request.set_provider(provider);
  call->context.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
  if (const trace::RequestContext* trace = trace::Current()) metrics::AddToClientContext(*trace, &call->context);
  stub_->async()->ResolveKey(
      &call->context, &call->request, &call->response,
      [this, call, provider, ticket, done = std::move(done)](grpc::Status status) {
        if (status.ok()) {
          // Kept only if no change arrived since the lookup (the answer may predate it).
          if (cache_ != nullptr) cache_->Insert(ticket, call->request.token(), provider, call->response);
          done(std::move(call->response));
        } else {
          done(RelayFacingError(status, provider));
        }
        WipeString(call->response.mutable_key());
      });
  return call;
}

void VaultClient::RecordUsage(v1::RecordUsageRequest request, std::function<void()> settled,
                              UsageBatcher::Due due) {
  usage_.Add(std::move(request), std::move(settled), due);
}

void VaultClient::SendUsageBatch(v1::RecordUsageBatchRequest batch, UsageBatcher::Done done) {
  struct Call {
    grpc::ClientContext context;
    v1::RecordUsageBatchRequest request;
    v1::RecordUsageBatchResponse response;
  };
  auto call = std::make_shared<Call>();
  call->request = std::move(batch);
  call->context.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
  stub_->async()->RecordUsageBatch(&call->context, &call->request, &call->response,
                                   [call, done = std::move(done)](grpc::Status status) {
                                     done(std::move(call->request), FromGrpcStatus(status));
                                   });
}

}  // namespace byok::relay
