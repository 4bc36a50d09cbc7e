#include "services/relay/relay_exchange.h"

#include <utility>

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/http/headers.h"
#include "common/logging.h"
#include "services/relay/relay_metrics.h"

namespace byok::relay {
namespace {

// A JSON response is kept (up to this size) only to read its token counts.
constexpr size_t kMaxUsageJsonBytes = 256 * 1024;

// The trace goes on in this hop's own headers (the policy's closed list never holds the client's).
void AddTraceHeaders(const trace::RequestContext& trace, UpstreamRequest& request) {
  request.headers.push_back({std::string(trace::kTraceparentHeader), trace.Traceparent()});
  if (!trace.tracestate.empty()) request.headers.push_back({std::string(trace::kTracestateHeader), trace.tracestate});
}

// The client's x-relay-base-url: its own field, else the header.
std::string ClientBaseUrl(const v1::RelayRequest& request) {
  if (!request.base_url().empty()) return request.base_url();
  for (const auto& h : request.headers()) {
    if (absl::EqualsIgnoreCase(h.name(), "x-relay-base-url")) return h.value();
  }
  return "";
}

}  // namespace

RelayExchange::RelayExchange(const RelayDeps& deps, trace::RequestContext trace, v1::RelayRequest* request)
    : deps_(deps), request_(request), trace_(std::move(trace)) {}

void RelayExchange::Start() {
  trace::ScopedContext scope(&trace_);  // the vault call carries it; log lines name it
  if (request_->token().empty()) {
    FinishOnce(WithReason(absl::UnauthenticatedError("missing token"), reason::kTokenMissing,
                          kRelayDomain));
    return;
  }
  // The original's order: provider, path, model allowlist (unified: model required, routable,
  // allowlist); then the key; then the base URL. Built once: the checks read it (a unified one is
  // routed here, its body parsed once), and the upstream request is made from it by move.
  client_ = TakeClientRequest();
  absl::StatusOr<CheckedRequest> checked = deps_.policy->Check(request_->provider(), client_);
  if (!checked.ok()) {
    if (checked.status().code() == absl::StatusCode::kPermissionDenied &&
        absl::StartsWith(checked.status().message(), "Model ")) {
      allowed_models_ = nlohmann::json(deps_.policy->config().allowed_models.patterns()).dump();
    }
    FinishOnce(checked.status());
    return;
  }
  checked_ = *std::move(checked);
  // Not under the lock: gRPC may run the callback inline when the call fails at once. The transport
  // keeps the exchange alive until Start has returned, even if it finished meanwhile.
  std::shared_ptr<PendingResolve> resolve = deps_.vault->ResolveKey(
      request_->token(), checked_.provider->name,
      [this](absl::StatusOr<vault::v1::ResolveKeyResponse> resolved) {
        OnKeyResolved(std::move(resolved));
      });
  bool cancel_now = false;
  {
    absl::MutexLock lock(&mu_);
    if (phase_ == Phase::kResolving) resolve_ = resolve;  // unless it was answered inline
    cancel_now = cancelled_;
  }
  if (cancel_now) resolve->Cancel();
}

ClientRequest RelayExchange::TakeClientRequest() {
  ClientRequest client;
  client.method = request_->method();
  client.path = request_->path();
  client.query = request_->query();
  client.unified = request_->unified();
  client.raw_model = request_->model();
  // The one header policy: only the closed list is read (IsReadClientHeader), and PrepareRequest
  // decides what of it is sent.
  for (const auto& h : request_->headers()) {
    std::string name = absl::AsciiStrToLower(h.name());
    if (IsReadClientHeader(name)) client.headers.push_back({std::move(name), h.value()});
  }
  // Moved, not copied: the transport reads the request no more once the exchange has it; the exchange
  // reads its other fields until it ends.
  client.body = std::move(*request_->mutable_body());
  return client;
}

const std::string& RelayExchange::ProviderName() const {
  return checked_.provider != nullptr ? checked_.provider->name : request_->provider();
}

void RelayExchange::OnKeyResolved(absl::StatusOr<vault::v1::ResolveKeyResponse> resolved) {
  if (!resolved.ok()) {
    // The vault's "no key stored" (its code differs between versions): the original's 400 text.
    if (resolved.status().code() == absl::StatusCode::kNotFound ||
        resolved.status().code() == absl::StatusCode::kFailedPrecondition) {
      return FinishOnce(WithReason(absl::FailedPreconditionError(NoKeyMessage(checked_.provider->name)),
                                   reason::kKeyNotFound, kVaultDomain));
    }
    // The vault's own reason (a token's), or the relay's VAULT_UNAVAILABLE: the gateway tells a
    // vault failure from a provider's by it.
    return FinishOnce(resolved.status());
  }
  user_id_ = resolved->user_id();

  absl::StatusOr<UpstreamRequest> upstream =
      deps_.policy->Prepare(checked_, std::move(client_), resolved->key(),
                            ClientBaseUrl(*request_), resolved->base_url());
  WipeString(resolved->mutable_key());
  if (!upstream.ok()) return FinishOnce(upstream.status());
  AddTraceHeaders(trace_, *upstream);

  {
    absl::MutexLock lock(&mu_);
    resolve_.reset();
    if (!cancelled_ && Advance(Phase::kForwarding)) {
      forwarded_ = true;
      upstream_started_ = absl::Now();
      // Under the lock: an upstream callback that comes quickly waits until call_ is set. Start only
      // queues work, so no callback runs inline.
      call_ = deps_.upstream->Start(*std::move(upstream), this);
      return;
    }
  }
  FinishOnce(absl::CancelledError("cancelled"));
}

void RelayExchange::OnUpstreamHead(UpstreamHead head) {
  std::shared_ptr<UpstreamCall> call;
  {
    absl::MutexLock lock(&mu_);
    FillHead(std::move(head));
    call = call_;
  }
  // The head waits in response_ for the first body piece (or the end) and goes in the same message:
  // one message, one write and one wake-up of the caller fewer per response.
  if (call) call->Next();
}

void RelayExchange::FillHead(UpstreamHead head) {
  upstream_status_ = head.status;
  head_at_ = absl::Now();
  if (RelayMetrics* m = RelayMetrics::Get()) m->FirstByte(checked_.provider->name, head_at_ - upstream_started_);
  v1::ResponseHead* out = response_.mutable_head();
  out->set_status(head.status);
  std::optional<std::string> content_type;
  std::optional<std::string> content_disposition;
  std::optional<int64_t> content_length;
  for (const auto& [name, value] : head.headers) {
    if (name == "content-type" && !content_type.has_value()) content_type = value;
    if (name == "content-disposition" && !content_disposition.has_value()) content_disposition = value;
    int64_t length = 0;
    if (name == "content-length" && absl::SimpleAtoi(value, &length) && length >= 0) content_length = length;
  }
  mode_ = ChooseResponseMode(checked_.provider->binary_responses, checked_.stream, head.status, content_type);
  if (mode_ == ResponseMode::kNoContent) {
    out->set_content_length(0);
  } else if (content_length.has_value() && mode_ != ResponseMode::kSse) {
    out->set_content_length(*content_length);
  }
  collect_usage_ = mode_ == ResponseMode::kJson;
  scan_usage_ = mode_ == ResponseMode::kSse;
  for (http::HeaderField& h : ModeHeaders(mode_, content_type, content_disposition)) {
    v1::Header* added = out->add_headers();
    added->set_name(std::move(h.name));
    added->set_value(std::move(h.value));
  }
  // The provider's Connection options name more hop-by-hop headers.
  const std::string connection = http::ConnectionOptions(head.headers);
  for (auto& [name, value] : head.headers) {
    if (!IsPassedResponseHeader(*checked_.provider, name) || http::ListsToken(connection, name)) continue;
    v1::Header* h = out->add_headers();
    h->set_name(std::move(name));
    h->set_value(std::move(value));
  }
}

void RelayExchange::OnUpstreamBody(std::string piece, bool last) {
  std::shared_ptr<UpstreamCall> call;
  bool write = false;
  {
    absl::MutexLock lock(&mu_);
    if (mode_ == ResponseMode::kNoContent) piece.clear();  // a 204/304 has no body, whatever was sent
    if (collect_usage_) {
      if (usage_json_.size() + piece.size() <= kMaxUsageJsonBytes) {
        usage_json_.append(piece);
      } else {
        collect_usage_ = false;
        usage_json_.clear();
      }
    }
    if (scan_usage_) stream_usage_.Feed(piece);
    body_bytes_ += static_cast<int64_t>(piece.size());
    if (last && body_.state() == http::BodyCoalescer::State::kIdle) {
      // OnUpstreamDone(OK) follows at once: the piece goes with the call's status (FinishOnce).
      response_.set_body(std::move(piece));
      return;
    }
    absl::StatusOr<http::BodyCoalescer::Step> step = body_.Offer(std::move(piece));
    if (!step.ok()) return;  // the caller is gone; the upstream call is being cancelled
    if (step->write.has_value()) {
      response_.set_body(std::move(*step->write));  // with the head, when it is still here
      write = true;
    }
    // Read on while this piece is written; a full hold waits for WriteDone.
    if (step->more && !last) call = call_;
  }
  if (write) SendMessage(&response_, /*last=*/false);
  if (call) call->Next();
}

void RelayExchange::WriteDone(bool ok) {
  bool last = false;
  {
    absl::MutexLock lock(&mu_);
    last = std::exchange(last_write_, false);
  }
  // The call's last message is written (or the caller is gone): the status follows. Outside the
  // lock, as the transport may destroy this at once.
  if (last) return SendStatus(grpc::Status::OK, "");
  std::shared_ptr<UpstreamCall> call;
  bool write = false;
  bool next = false;
  std::optional<Ending> ending;
  {
    absl::MutexLock lock(&mu_);
    // The transport is done with the message: the next one starts empty (no head), and a stream
    // waiting for its next piece keeps no piece buffer.
    if (!response_.body().empty()) std::string().swap(*response_.mutable_body());
    response_.Clear();
    http::BodyCoalescer::Step step;
    if (ok) {
      absl::StatusOr<http::BodyCoalescer::Step> done = body_.WriteDone();
      if (!done.ok()) {
        log::Error("relay", "%s", done.status().message());
        return;
      }
      step = *std::move(done);
    } else {
      body_.Close();  // the caller is gone: nothing more is written
    }
    if (step.write.has_value()) response_.set_body(std::move(*step.write));
    if (phase_ == Phase::kFinishing) {
      if (step.write.has_value() && !finish_status_.ok()) {
        write = true;  // what the provider sent before it failed goes before the error
      } else {
        ending = EndNow(finish_status_, step.write.has_value());
      }
    } else {
      write = step.write.has_value();
      next = step.more;
      call = call_;
    }
  }
  if (write) SendMessage(&response_, /*last=*/false);
  if (ending.has_value()) return End(*std::move(ending));
  if (!call) return;
  if (!ok) {
    call->Cancel();  // the client is gone: stop reading from the provider
  } else if (next) {
    call->Next();
  }
}

void RelayExchange::Cancelled() {
  std::shared_ptr<UpstreamCall> call;
  std::shared_ptr<PendingResolve> resolve;
  {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    call = call_;
    resolve = resolve_;
  }
  if (call) call->Cancel();
  if (resolve) resolve->Cancel();
}

void RelayExchange::OnUpstreamDone(absl::Status status) { FinishOnce(std::move(status)); }

void RelayExchange::FinishOnce(absl::Status status) {
  Ending ending;
  {
    absl::MutexLock lock(&mu_);
    if (phase_ == Phase::kDone || phase_ == Phase::kFinishing) return;
    if (body_.state() == http::BodyCoalescer::State::kWriting) {
      // The write in flight completes first; WriteDone ends the call.
      Advance(Phase::kFinishing);
      finish_status_ = std::move(status);
      return;
    }
    // A held head or last piece goes with a successful end; after a failure the caller gets the
    // error alone (it can still answer with a clean error status, having seen no head).
    ending = EndNow(std::move(status), response_.has_head() || !response_.body().empty());
  }
  End(std::move(ending));
}

RelayExchange::Ending RelayExchange::EndNow(absl::Status status, bool held) {
  Advance(Phase::kDone);
  body_.Close();
  const bool send_unsent = held && status.ok();
  return Ending{std::move(status), send_unsent, cancelled_};
}

void RelayExchange::End(Ending ending) {
  const absl::Status& status = ending.status;
  // A base-URL refusal after resolution (InvalidArgument) is a rejected request, not a forwarded one.
  const bool went_upstream = forwarded_ && status.code() != absl::StatusCode::kInvalidArgument;
  if (went_upstream) CountUpstream(status, ending.cancelled_by_client);
  // Recorded only when the request went upstream and the client did not leave (compat.md §10.5).
  if (!went_upstream || ending.cancelled_by_client) return Complete(status, ending.send_unsent);
  vault::v1::RecordUsageRequest record = UsageRecord(status);
  if (std::function<void()> stored = EndBeforeUsage()) {
    // The caller holds its later reads of the statistics until `stored` tells it, so the record may
    // wait a little for others to share its vault write; `this` may be gone once Complete returns.
    VaultClient* vault = deps_.vault;
    Complete(status, ending.send_unsent);
    vault->RecordUsage(std::move(record), std::move(stored), UsageBatcher::Due::kSoon);
    return;
  }
  // The end waits for the record, so a later GET /stats counts the request (compat.md).
  deps_.vault->RecordUsage(std::move(record),
                           [this, status, send_unsent = ending.send_unsent] { Complete(status, send_unsent); });
}

bool RelayExchange::CanAdvance(Phase from, Phase to) {
  switch (from) {
    case Phase::kResolving:
      return to == Phase::kForwarding || to == Phase::kDone;
    case Phase::kForwarding:
      return to == Phase::kFinishing || to == Phase::kDone;
    case Phase::kFinishing:
      return to == Phase::kDone;
    case Phase::kDone:
      return false;
  }
  return false;
}

bool RelayExchange::Advance(Phase to) {
  if (!CanAdvance(phase_, to)) {
    log::Error("relay", "relay call: impossible phase change %d -> %d", static_cast<int>(phase_),
               static_cast<int>(to));
    return false;
  }
  phase_ = to;
  return true;
}

namespace {

// The ErrorInfo reason of a failure that has none yet: the provider's, by its code.
absl::Status WithUpstreamReason(const absl::Status& status) {
  if (status.ok() || !ReasonOf(status).empty()) return status;
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
      return WithReason(status, reason::kUpstreamUnreachable, kRelayDomain);
    case absl::StatusCode::kDeadlineExceeded:
      return WithReason(status, reason::kUpstreamTimeout, kRelayDomain);
    case absl::StatusCode::kAborted:
      return WithReason(status, reason::kUpstreamAborted, kRelayDomain);
    default:
      return WithDefaultReason(status, kRelayDomain);
  }
}

}  // namespace

void RelayExchange::Complete(const absl::Status& status, bool send_unsent) {
  {
    trace::ScopedContext scope(&trace_);
    log::Debug("relay", "%s %s -> %d, %s", ProviderName(), request_->method(), upstream_status_,
               status.ok() ? "ok" : absl::StatusCodeToString(status.code()));
  }
  // Nothing of `this` may be touched after SendStatus: the transport may destroy it at once.
  if (send_unsent) {
    // The last message, then the status once it is written (WriteDone). Not gRPC's
    // StartWriteAndFinish: over an in-process channel (byok-relay) its message was sometimes lost
    // when it came with the status.
    {
      absl::MutexLock lock(&mu_);
      last_write_ = true;
    }
    SendMessage(&response_, /*last=*/true);
  } else {
    SendStatus(ToGrpcStatus(WithUpstreamReason(status)), std::move(allowed_models_));
  }
}

vault::v1::RecordUsageRequest RelayExchange::UsageRecord(const absl::Status& status) {
  vault::v1::RecordUsageRequest usage;
  usage.set_user_id(user_id_);
  usage.set_provider(checked_.provider->name);
  usage.set_model(checked_.logged_model.value_or(""));
  // 502 for every failure after forwarding: unreachable, timed out, broken off (compat.md §10.5).
  const int status_code = status.ok() && upstream_status_ != 0 ? upstream_status_ : 502;
  usage.set_status(status_code);
  usage.set_latency_ms(absl::ToInt64Milliseconds(absl::Now() - started_));
  usage.set_error(status_code < 200 || status_code >= 300);
  if (status.ok() && (collect_usage_ || scan_usage_)) {
    TokenUsage tokens = collect_usage_ ? ParseTokenUsage(usage_json_) : stream_usage_.Finish();
    usage.set_input_tokens(tokens.input);
    usage.set_output_tokens(tokens.output);
  }
  return usage;
}

void RelayExchange::CountUpstream(const absl::Status& status, bool cancelled_by_client) const {
  RelayMetrics* m = RelayMetrics::Get();
  if (m == nullptr) return;
  const std::string& provider = checked_.provider->name;
  m->Upstream(provider, status.ok() ? upstream_status_ : 0, body_bytes_);
  if (cancelled_by_client) m->Cancelled(provider);
  if (mode_ == ResponseMode::kSse && head_at_ != absl::Time()) m->Stream(provider, absl::Now() - head_at_);
}

}  // namespace byok::relay
