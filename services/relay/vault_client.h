// The relay's asynchronous client for the vault: key resolution on the request's path, usage records
// off it (batched). One shared channel for every call.
#ifndef BYOK_SERVICES_RELAY_VAULT_CLIENT_H_
#define BYOK_SERVICES_RELAY_VAULT_CLIENT_H_

#include <grpcpp/security/credentials.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "byok/vault/v1/vault.grpc.pb.h"
#include "common/crypto/secret_bytes.h"
#include "services/relay/key_cache.h"
#include "services/relay/usage_batcher.h"
#include "services/relay/usage_stream.h"

namespace grpc {
class ClientContext;
}  // namespace grpc

namespace byok::relay {

// A key resolution in flight. Cancel() ends it early (the callback then reports CANCELLED).
// Thread-safe.
class PendingResolve {
 public:
  virtual ~PendingResolve() = default;
  virtual void Cancel() = 0;
};

// Thread-safe; the callbacks run on gRPC's threads and must not block.
class VaultClient {
 public:
  // Connects (lazily) to `address` (host:port) with `credentials` (mutual TLS or plaintext).
  // `timeout` bounds each call; usage records wait at most `usage.flush_interval` before they are sent.
  // Every call carries `service_token` (common/service_auth.h) unless it is empty.
  VaultClient(const std::string& address, std::shared_ptr<grpc::ChannelCredentials> credentials,
              absl::Duration timeout, UsageBatcherOptions usage = {},
              const crypto::SecretBytes& service_token = {});
  // Calls the vault over `channel`, made by the caller (byok-relay's in-process channel, which
  // carries the service token itself).
  VaultClient(std::shared_ptr<grpc::Channel> channel, absl::Duration timeout, UsageBatcherOptions usage = {});

  // Answers from `cache` first from now on (null: never), and keeps the vault's answers in it. Call
  // before the first ResolveKey; `cache` outlives this client.
  void UseKeyCache(KeyCache* cache) { cache_ = cache; }

  // Asks the vault for the key of `token`'s user for `provider`. `done` gets the response or the
  // relay-facing error: UNAVAILABLE when the vault cannot be reached or answers too late,
  // FAILED_PRECONDITION when no key is stored, the vault's UNAUTHENTICATED / DATA_LOSS otherwise.
  // The response holds the plaintext key: the callee wipes it when done. With a key cache, a hit
  // calls `done` before ResolveKey returns (as an immediate failure of the call may too).
  std::shared_ptr<PendingResolve> ResolveKey(
      const std::string& token, const std::string& provider,
      std::function<void(absl::StatusOr<vault::v1::ResolveKeyResponse>)> done);

  // Queues one finished request's usage record; it reaches the vault with the next batch, over the
  // vault's usage stream (usage_stream.h; RecordUsageBatch with an older vault), at once or soon
  // (`due`) when `settled` is given. Never blocks. `settled` runs, on another thread, once the vault
  // has answered for the record (see UsageBatcher::Add).
  void RecordUsage(vault::v1::RecordUsageRequest request, std::function<void()> settled = nullptr,
                   UsageBatcher::Due due = UsageBatcher::Due::kAtOnce);

  // Sends the queued usage records and waits up to `timeout` for the vault to take them (at shutdown,
  // once no request runs any more).
  void DrainUsage(absl::Duration timeout) { usage_.Drain(timeout); }

  // Usage streams opened so far (for tests).
  int usage_streams_opened() const { return usage_stream_.streams_opened(); }

  // The channel to the vault (for watching its connectivity).
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

 private:
  // One RecordUsageBatch call (the fallback for a vault without StreamUsage).
  void SendUsageBatch(vault::v1::RecordUsageBatchRequest batch, UsageBatcher::Done done);

  std::shared_ptr<grpc::Channel> channel_;
  std::shared_ptr<vault::v1::Vault::Stub> stub_;
  absl::Duration timeout_;
  KeyCache* cache_ = nullptr;
  UsageStream usage_stream_;
  UsageBatcher usage_;  // last: its thread uses the members above, and it drains before they go
};

// Overwrites `text`'s bytes before it is freed (for plaintext keys).
void WipeString(std::string* text);

}  // namespace byok::relay

#endif  // BYOK_SERVICES_RELAY_VAULT_CLIENT_H_
