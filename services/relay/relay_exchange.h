// One relayed request: resolve the key (vault, async), prepare the upstream request (policy), send it
// (upstream client), stream the head and each body piece back as it arrives, finish with a clear
// status, record usage. No thread is held while waiting. Where the messages go is the transport's: a
// Relay call of its own (relay_reactor.h) or frames on a RelayMany stream (relay_many.h).
#ifndef BYOK_SERVICES_RELAY_RELAY_EXCHANGE_H_
#define BYOK_SERVICES_RELAY_RELAY_EXCHANGE_H_

#include <grpcpp/support/status.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "byok/relay/v1/relay.pb.h"
#include "byok/vault/v1/vault.pb.h"
#include "common/http/body_coalescer.h"
#include "common/request_context.h"
#include "services/relay/policy/relay_policy.h"
#include "services/relay/upstream/upstream_client.h"
#include "services/relay/usage_parser.h"
#include "services/relay/vault_client.h"

namespace byok::relay {

// What every exchange uses; owned by the service and outliving every call.
struct RelayDeps {
  const RelayPolicy* policy;
  UpstreamClient* upstream;
  VaultClient* vault;
};

// The transport's reactions (WriteDone, Cancelled) and the upstream callbacks run on different threads:
// every field they share is guarded by `mu_`, and the call's progress is one Phase changed only by
// Advance. The transport's operations (SendMessage, SendStatus) are called outside the lock, one
// message at a time, and nothing of the exchange is touched after SendStatus: the transport may
// destroy it at once.
//
// Streaming: a body piece that finds no write in flight leaves at once (the first byte is not held back)
// and the next read from the provider starts while it is written; pieces that come meanwhile are joined
// and leave as one message when the write completes (BodyCoalescer). Past kMaxHeldBytes held, the
// provider is not read until a write takes them: a slow caller slows the provider, memory stays bounded.
class RelayExchange : public UpstreamHandler {
 public:
  // Where the call is.
  enum class Phase {
    kResolving,   // the checks passed or failed; the vault's key is awaited
    kForwarding,  // the upstream call runs; head and pieces go out
    kFinishing,   // the end is known; it leaves when the write in flight completes
    kDone,        // Finish or StartWriteAndFinish was called
  };
  // Whether the call may go from `from` to `to` (Advance refuses the rest).
  static bool CanAdvance(Phase from, Phase to);
  // Body bytes held while a write is in flight before the provider is read no further.
  static constexpr size_t kMaxHeldBytes = 64 * 1024;

  // `request` is the transport's and stays valid (and unread by it) until the exchange is destroyed;
  // its body is moved out. `trace` is the caller's request id and trace, with this hop's span.
  RelayExchange(const RelayDeps& deps, trace::RequestContext trace, v1::RelayRequest* request);
  virtual ~RelayExchange() = default;

  // Runs the checks and asks the vault for the key (called once, by the transport, when it is ready
  // for SendMessage and SendStatus).
  void Start();
  // The message given to SendMessage was sent (ok) or can no longer be (the caller is gone).
  void WriteDone(bool ok);
  // The caller left: the upstream call (or the key lookup) stops; the exchange then ends.
  void Cancelled();
  // When the request came.
  absl::Time started() const { return started_; }

  void OnUpstreamHead(UpstreamHead head) override;
  void OnUpstreamBody(std::string piece, bool last) override;
  void OnUpstreamDone(absl::Status status) override;

 protected:
  // Sends one message of the response; WriteDone follows. `message` is the exchange's until then:
  // the transport may take its contents. `last`: only the status follows it.
  virtual void SendMessage(v1::RelayResponse* message, bool last) = 0;
  // Ends the request with `status`; `allowed_models` (ALLOWED_MODELS as a JSON array) comes with a
  // refused model, else empty. The last thing the exchange does.
  virtual void SendStatus(const grpc::Status& status, std::string allowed_models) = 0;
  // Called once, before the end of a request that has a usage record. Null (the default): the end
  // waits until the record is stored. Else the end goes at once and the record after it; the
  // function returned runs (on any thread, possibly after the exchange is destroyed) once the record
  // is stored or given up.
  virtual std::function<void()> EndBeforeUsage() { return nullptr; }

 private:
  void OnKeyResolved(absl::StatusOr<vault::v1::ResolveKeyResponse> resolved);
  // Moves to `to`; false (and logged) for an impossible transition.
  bool Advance(Phase to) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The client request as the policy reads it, its body moved out of the gRPC request.
  ClientRequest TakeClientRequest();
  // The checked provider's name; before the checks, the one the caller named.
  const std::string& ProviderName() const;
  // Fills response_'s head from the provider's (kept until the first piece or the end goes out).
  void FillHead(UpstreamHead head) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Finishes the RPC once: at once, or after the write in flight completes. A failure goes out with
  // its ErrorInfo reason (a provider failure without one gets UPSTREAM_*).
  void FinishOnce(absl::Status status);
  // How the call ends, decided under the lock and carried out after it.
  struct Ending {
    absl::Status status;
    bool send_unsent = false;  // response_ holds a head or piece that goes with the end
    bool cancelled_by_client = false;
  };
  // Moves to kDone; `held`: response_ holds something not yet sent.
  Ending EndNow(absl::Status status, bool held) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Counts and records the request, then completes the RPC.
  void End(Ending ending);
  // Ends the RPC (FinishOnce's last step; after the usage record is stored when there is one, unless
  // the transport takes the end before it).
  void Complete(const absl::Status& status, bool send_unsent);
  // The request's usage record (status, latency, token counts where the answer had them).
  vault::v1::RecordUsageRequest UsageRecord(const absl::Status& status);
  // Counts a forwarded request's end in the metrics (when they are on).
  void CountUpstream(const absl::Status& status, bool cancelled_by_client) const;

  const RelayDeps deps_;
  v1::RelayRequest* const request_;
  const absl::Time started_ = absl::Now();
  // The caller's request id and trace, with this hop's span (sent on to the vault and the provider).
  const trace::RequestContext trace_;
  // With a refused model: ALLOWED_MODELS as a JSON array, sent with the status.
  std::string allowed_models_;
  // The client request as the policy reads it (moved into the upstream request once the key is known).
  ClientRequest client_;
  // What the checks before the key lookup established.
  CheckedRequest checked_;

  absl::Mutex mu_;
  Phase phase_ ABSL_GUARDED_BY(mu_) = Phase::kResolving;
  // The caller cancelled (a fact for metrics and usage, not a phase: the end still runs its course).
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  // The call's last message is in flight; its completion finishes the RPC (Complete).
  bool last_write_ ABSL_GUARDED_BY(mu_) = false;
  // kFinishing: the status the call ends with.
  absl::Status finish_status_ ABSL_GUARDED_BY(mu_);
  // Body pieces between the provider and the write in flight.
  http::BodyCoalescer body_ ABSL_GUARDED_BY(mu_){kMaxHeldBytes};
  std::shared_ptr<PendingResolve> resolve_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<UpstreamCall> call_ ABSL_GUARDED_BY(mu_);

  // Written before the upstream call starts, read after: ordered by the call's start.
  std::string user_id_;
  // True once the request went upstream: only such requests are recorded (compat.md §10.5).
  bool forwarded_ = false;
  // Set from upstream callbacks (one at a time, under mu_) and read once the upstream call ended.
  int upstream_status_ = 0;
  ResponseMode mode_ = ResponseMode::kText;
  bool collect_usage_ = false;  // a JSON reply, kept whole (bounded) to read its counts
  std::string usage_json_;
  // For metrics: when the request went upstream, when its head came, the body bytes relayed.
  absl::Time upstream_started_;
  absl::Time head_at_;
  int64_t body_bytes_ = 0;
  bool scan_usage_ = false;  // an SSE reply, read for counts as it passes
  StreamUsageScanner stream_usage_;

  // The message being written (the transport borrows it until WriteDone), or a head or last piece
  // held to go with the first piece or the end.
  v1::RelayResponse response_ ABSL_GUARDED_BY(mu_);
};

}  // namespace byok::relay

#endif  // BYOK_SERVICES_RELAY_RELAY_EXCHANGE_H_
