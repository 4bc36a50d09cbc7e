// The server-streaming Relay RPC, one reactor per call: resolve the key (vault, async), prepare the
// upstream request (policy), send it (upstream client), stream the head and each body piece back as it
// arrives, finish with a clear status, record usage. No thread is held while waiting.
#ifndef BYOK_SERVICES_RELAY_RELAY_REACTOR_H_
#define BYOK_SERVICES_RELAY_RELAY_REACTOR_H_

#include <grpcpp/support/server_callback.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "byok/relay/v1/relay.pb.h"
#include "byok/vault/v1/vault.pb.h"
#include "common/request_context.h"
#include "services/relay/policy/relay_policy.h"
#include "services/relay/upstream/upstream_client.h"
#include "services/relay/usage_parser.h"
#include "services/relay/vault_client.h"

namespace grpc {
class CallbackServerContext;
}  // namespace grpc

namespace byok::relay {

// What every reactor uses; owned by the service and outliving every call.
struct RelayDeps {
  const RelayPolicy* policy;
  UpstreamClient* upstream;
  VaultClient* vault;
};

// Deletes itself when gRPC is done with it. Reactions and upstream callbacks may run concurrently on
// different threads; `mu_` orders them. gRPC calls (StartWrite, Finish) are made outside the lock.
class RelayReactor : public grpc::ServerWriteReactor<v1::RelayResponse>, public UpstreamHandler {
 public:
  // Starts the call. `request` is owned by gRPC and valid until OnDone.
  RelayReactor(const RelayDeps& deps, grpc::CallbackServerContext* context,
               const v1::RelayRequest* request);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

  void OnUpstreamHead(UpstreamHead head) override;
  void OnUpstreamBody(std::string piece, bool last) override;
  void OnUpstreamDone(absl::Status status) override;

 private:
  void OnKeyResolved(absl::StatusOr<vault::v1::ResolveKeyResponse> resolved);
  // The client request as the policy reads it.
  ClientRequest MakeClientRequest() const;
  // Starts a write of `response_` (which the caller filled).
  void Write();
  // Finishes the RPC once: at once, or after the write in flight completes. A failure goes out with
  // its ErrorInfo reason (a provider failure without one gets UPSTREAM_*).
  void FinishOnce(absl::Status status);
  // Ends the RPC (FinishOnce's last step, after the usage record is stored when there is one).
  void Complete(const absl::Status& status, bool send_unsent);
  // Records the request's usage; `then` runs once the vault has it (the response ends after it, so a
  // later GET /stats counts the request, as the original's synchronous write did).
  void RecordUsage(const absl::Status& status, std::function<void()> then);
  // Counts a forwarded request's end in the metrics (when they are on).
  void CountUpstream(const absl::Status& status, bool cancelled_by_client) const;

  const RelayDeps deps_;
  grpc::CallbackServerContext* const context_;
  const v1::RelayRequest* const request_;
  const absl::Time started_ = absl::Now();
  // The caller's request id and trace, with this hop's span (sent on to the vault and the provider).
  const trace::RequestContext trace_;
  // What the checks before the key lookup established.
  CheckedRequest checked_;

  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool write_pending_ ABSL_GUARDED_BY(mu_) = false;
  // response_ holds a head or a last piece not yet written.
  bool unsent_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<absl::Status> finish_after_write_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<PendingResolve> resolve_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<UpstreamCall> call_ ABSL_GUARDED_BY(mu_);

  // Written before the upstream call starts, read after: ordered by the call's start.
  std::string user_id_;
  // True once the request went upstream: only such requests are recorded (compat.md §10.5).
  bool forwarded_ = false;
  bool binary_provider_ = false;
  bool stream_requested_ = false;
  // Set from upstream callbacks (one at a time) and read when finishing.
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

  // The message being written; gRPC borrows it until OnWriteDone.
  v1::RelayResponse response_;
};

}  // namespace byok::relay

#endif  // BYOK_SERVICES_RELAY_RELAY_REACTOR_H_
