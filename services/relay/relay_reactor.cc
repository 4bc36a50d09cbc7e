#include "services/relay/relay_reactor.h"

#include <grpcpp/server_context.h>

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/http/headers.h"
#include "common/logging.h"
#include "services/relay/usage_parser.h"

namespace byok::relay {
namespace {

// A JSON response is kept (up to this size) only to read its token counts.
constexpr size_t kMaxUsageJsonBytes = 256 * 1024;

UpstreamRequest ToUpstream(PreparedRequest prepared) {
  UpstreamRequest out;
  out.tls = prepared.tls;
  out.host = std::move(prepared.host);
  out.port = prepared.port;
  out.host_header = std::move(prepared.host_header);
  out.method = std::move(prepared.method);
  out.target = std::move(prepared.target);
  out.headers.reserve(prepared.headers.size());
  for (auto& field : prepared.headers) {
    out.headers.emplace_back(std::move(field.name), std::move(field.value));
  }
  out.body = std::move(prepared.body);
  if (prepared.check_addresses) {
    out.address_guard = [](const std::string& address) { return CheckAddress(address); };
  }
  return out;
}

}  // namespace

RelayReactor::RelayReactor(const RelayDeps& deps, grpc::CallbackServerContext* context,
                           const v1::RelayRequest* request)
    : deps_(deps), context_(context), request_(request) {
  absl::StatusOr<const ProviderSpec*> provider = deps_.policy->FindProvider(request_->provider());
  if (!provider.ok()) {
    FinishOnce(provider.status());
    return;
  }
  provider_ = *provider;
  if (request_->token().empty()) {
    FinishOnce(absl::UnauthenticatedError("missing token"));
    return;
  }
  // Not under the lock: gRPC may run the callback inline when the call fails at once. gRPC keeps the
  // reactor alive until this constructor has returned, even if the call finished meanwhile.
  std::shared_ptr<PendingResolve> resolve = deps_.vault->ResolveKey(
      request_->token(), request_->provider(),
      [this](absl::StatusOr<vault::v1::ResolveKeyResponse> resolved) {
        OnKeyResolved(std::move(resolved));
      });
  bool cancel_now = false;
  {
    absl::MutexLock lock(&mu_);
    if (!finished_ && call_ == nullptr) resolve_ = resolve;
    cancel_now = cancelled_;
  }
  if (cancel_now) resolve->Cancel();
}

void RelayReactor::OnKeyResolved(absl::StatusOr<vault::v1::ResolveKeyResponse> resolved) {
  if (!resolved.ok()) return FinishOnce(resolved.status(), kErrorSourceVault);
  user_id_ = resolved->user_id();

  ClientRequest client;
  client.method = request_->method();
  client.path_and_query = request_->path();
  client.headers.reserve(request_->headers_size());
  for (const auto& h : request_->headers()) client.headers.push_back({h.name(), h.value()});
  client.body = request_->body();
  absl::StatusOr<PreparedRequest> prepared =
      deps_.policy->Prepare(request_->provider(), std::move(client), resolved->key(),
                            request_->base_url(), resolved->base_url());
  WipeString(resolved->mutable_key());
  if (!prepared.ok()) return FinishOnce(prepared.status());
  model_ = !request_->model().empty() ? request_->model() : prepared->model.value_or("");

  {
    absl::MutexLock lock(&mu_);
    resolve_.reset();
    if (!cancelled_) {
      // Under the lock: an upstream callback that comes quickly waits until call_ is set. Start only
      // queues work, so no callback runs inline.
      call_ = deps_.upstream->Start(ToUpstream(*std::move(prepared)), this);
      return;
    }
  }
  FinishOnce(absl::CancelledError("cancelled"));
}

void RelayReactor::OnUpstreamHead(UpstreamHead head) {
  upstream_status_ = head.status;
  v1::ResponseHead* out = response_.mutable_head();
  out->set_status(head.status);
  // The provider's Connection options name more hop-by-hop headers.
  const std::string connection = http::ConnectionOptions(head.headers);
  for (auto& [name, value] : head.headers) {
    if (name == "content-length") {
      int64_t length = 0;
      if (absl::SimpleAtoi(value, &length) && length >= 0) out->set_content_length(length);
    }
    if (!IsPassedResponseHeader(*provider_, name) || http::ListsToken(connection, name)) continue;
    if (name == "content-type" && absl::StartsWithIgnoreCase(value, "application/json")) {
      collect_usage_ = true;
    }
    v1::Header* h = out->add_headers();
    h->set_name(std::move(name));
    h->set_value(std::move(value));
  }
  // The head waits for the first body piece (or the end) and goes in the same message: one message,
  // one write and one wake-up of the caller fewer per response.
  std::shared_ptr<UpstreamCall> call;
  {
    absl::MutexLock lock(&mu_);
    unsent_ = true;
    call = call_;
  }
  if (call) call->Next();
}

void RelayReactor::OnUpstreamBody(std::string piece, bool last) {
  if (collect_usage_) {
    if (usage_json_.size() + piece.size() <= kMaxUsageJsonBytes) {
      usage_json_.append(piece);
    } else {
      collect_usage_ = false;
      usage_json_.clear();
    }
  }
  response_.set_body(std::move(piece));
  if (last) {
    // OnUpstreamDone(OK) follows at once: the piece goes with the call's status (FinishOnce).
    absl::MutexLock lock(&mu_);
    unsent_ = true;
    return;
  }
  Write();
}

void RelayReactor::Write() {
  {
    absl::MutexLock lock(&mu_);
    write_pending_ = true;
    unsent_ = false;
  }
  StartWrite(&response_);
}

void RelayReactor::OnWriteDone(bool ok) {
  std::shared_ptr<UpstreamCall> call;
  std::optional<absl::Status> finish;
  {
    absl::MutexLock lock(&mu_);
    write_pending_ = false;
    finish.swap(finish_after_write_);
    call = call_;
  }
  // gRPC is done with the message: the next one starts empty (no head), and a stream waiting for its
  // next piece keeps no piece buffer.
  if (!response_.body().empty()) std::string().swap(*response_.mutable_body());
  response_.Clear();
  if (finish.has_value()) return FinishOnce(*std::move(finish));
  if (!call) return;
  if (ok) {
    call->Next();
  } else {
    call->Cancel();  // the client is gone: stop reading from the provider
  }
}

void RelayReactor::OnCancel() {
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

void RelayReactor::OnUpstreamDone(absl::Status status) { FinishOnce(std::move(status)); }

void RelayReactor::FinishOnce(absl::Status status, const char* error_source) {
  bool send_unsent = false;
  {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    if (write_pending_) {
      if (!finish_after_write_.has_value()) finish_after_write_ = std::move(status);
      return;
    }
    finished_ = true;
    // A held head or last piece goes with a successful end; after a failure the caller gets the
    // error alone (it can still answer with a clean error status, having seen no head).
    send_unsent = unsent_ && status.ok();
    unsent_ = false;
  }
  if (!user_id_.empty()) RecordUsage(status);
  if (error_source != nullptr && !status.ok()) {
    context_->AddTrailingMetadata(kErrorSourceTrailer, error_source);
  }
  log::Debug("relay", "%s %s -> %d, %s", request_->provider(), request_->method(),
             upstream_status_, status.ok() ? "ok" : absl::StatusCodeToString(status.code()));
  // Nothing of `this` may be touched after Finish: OnDone may delete it at once.
  if (send_unsent) {
    StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
  } else {
    Finish(ToGrpcStatus(status));
  }
}

void RelayReactor::RecordUsage(const absl::Status& status) {
  vault::v1::RecordUsageRequest usage;
  usage.set_user_id(user_id_);
  usage.set_provider(request_->provider());
  usage.set_model(model_);
  usage.set_status(upstream_status_);
  usage.set_latency_ms(absl::ToInt64Milliseconds(absl::Now() - started_));
  usage.set_error(!status.ok() || upstream_status_ < 200 || upstream_status_ >= 300);
  if (status.ok() && collect_usage_) {
    TokenUsage tokens = ParseTokenUsage(usage_json_);
    usage.set_input_tokens(tokens.input);
    usage.set_output_tokens(tokens.output);
  }
  deps_.vault->RecordUsage(std::move(usage));
}

void RelayReactor::OnDone() { delete this; }

}  // namespace byok::relay
