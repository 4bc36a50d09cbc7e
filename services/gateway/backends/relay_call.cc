#include "services/gateway/backends/relay_call.h"

#include <grpcpp/support/client_callback.h>

#include <atomic>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include <nlohmann/json.hpp>

#include "common/http/response_headers.h"
#include "common/json/json_nesting.h"
#include "common/logging.h"
#include "common/metrics/grpc_observer.h"
#include "common/request_context.h"
#include "services/relay/policy/model_policy.h"
#include "services/relay/policy/provider_table.h"

namespace byok::gateway {
namespace {

using byok::relay::v1::RelayRequest;
using byok::relay::v1::RelayResponse;

// The relay's list of allowed models, sent with a refused model's error.
std::optional<std::vector<std::string>> AllowedModelsTrailer(const grpc::ClientContext& ctx) {
  const auto& trailers = ctx.GetServerTrailingMetadata();
  auto it = trailers.find(byok::relay::kAllowedModelsTrailer);
  if (it == trailers.end()) return std::nullopt;
  std::optional<nlohmann::json> list =
      ::byok::json::ParseBounded(absl::string_view(it->second.data(), it->second.size()));
  if (!list.has_value() || !list->is_array()) return std::nullopt;
  std::vector<std::string> models;
  for (const auto& m : *list) {
    if (m.is_string()) models.push_back(m.get<std::string>());
  }
  return models;
}

// The reactor for one Relay stream. Lifetime: holds itself (self_) from Start until OnDone.
class RelayCall : public grpc::ClientReadReactor<RelayResponse>,
                  public std::enable_shared_from_this<RelayCall> {
 public:
  RelayCall(Backends& backends, RelayRequest request, std::shared_ptr<ResponseWriter> writer)
      : backends_(backends), request_(std::move(request)), writer_(std::move(writer)) {}

  void Start() {
    self_ = shared_from_this();
    if (const trace::RequestContext* trace = trace::Current()) {
      metrics::AddToClientContext(*trace, &ctx_);
      waits_ = trace->waits;
    }
    backends_.calls().Add(&ctx_);
    std::weak_ptr<RelayCall> weak = self_;
    writer_->OnClientGone([weak] {
      // The browser left: cancel now, so the relay closes the provider connection.
      if (auto call = weak.lock()) call->ctx_.TryCancel();
    });
    backends_.relay_stub().async()->Relay(&ctx_, &request_, this);
    // The hold keeps the RPC open while a piece is being written to the browser (no read pending).
    AddHold();
    StartRead(&message_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      ReleaseHold();
      return;
    }
    if (message_.has_head()) {
      if (head_seen_) return Fail("the relay sent a second response head");
      ReleaseRequest();
      TakeHead(message_.head());
    } else if (!head_seen_) {
      return Fail("the relay sent a body before the response head");
    }
    std::string piece = std::move(*message_.mutable_body());
    if (streaming_) return writer_->WriteChunk(std::move(piece), Continuation());
    held_.append(piece);
    // A small answer of declared length is gathered and sent whole, with a Content-Length, in one
    // write at the end; anything else streams from its first piece on (the head goes with it). A head
    // alone waits for its first piece.
    const bool gather = !sse_ && whole_length_ >= 0 && held_.size() <= kMaxGatheredBytes;
    if (gather || held_.empty()) return ReadNext();
    streaming_ = true;
    writer_->StartStream(status_, std::move(headers_), std::exchange(held_, {}), Continuation());
  }

  void OnDone(const grpc::Status& status) override {
    // Before the response ends: its access line is written then.
    AddWait(waits_.get(), Backend::kRelay, absl::Now() - started_);
    if (status.ok()) {
      if (streaming_) {
        writer_->FinishStream({});
      } else if (head_seen_) {
        writer_->Send(HttpResponse{status_, std::move(headers_), std::move(held_)});
      } else {
        RpcError error;
        error.backend = Backend::kRelay;
        error.code = grpc::StatusCode::INTERNAL;
        writer_->Send(ResponseForRpcError(error));
      }
    } else {
      RpcError error = backends_.relay().MakeError(status, ctx_);
      error.allowed_models = AllowedModelsTrailer(ctx_);
      if (!streaming_) {
        // Nothing reached the browser yet: it gets a clean error instead of a broken answer.
        writer_->Send(ResponseForRpcError(error));
      } else if (sse_ && status.error_code() != grpc::StatusCode::CANCELLED) {
        // The provider broke off after the stream began: say so in the stream itself.
        writer_->FinishStream(SseErrorEvent(error));
      } else {
        writer_->AbortStream();
      }
      switch (status.error_code()) {
        case grpc::StatusCode::UNAVAILABLE:
        case grpc::StatusCode::DEADLINE_EXCEEDED:
        case grpc::StatusCode::ABORTED:
          log::Info("gateway", "relay call for %s failed: %s", Target(),
                    status.error_message());
          break;
        case grpc::StatusCode::INTERNAL:
        case grpc::StatusCode::UNKNOWN:
        case grpc::StatusCode::DATA_LOSS:
          log::Warn("gateway", "relay call for %s failed: %s", Target(),
                    status.error_message());
          break;
        default:  // the client's own errors (bad token, path, model) and cancellations
          break;
      }
    }
    writer_->OnClientGone(nullptr);
    // The session goes before the call counts as finished: shutdown waits for the registry, then
    // destroys the event loop that sessions use.
    writer_.reset();
    backends_.calls().Remove(&ctx_);
    self_.reset();  // may delete this
  }

 private:
  // Largest answer gathered to be sent whole; a longer one streams.
  static constexpr size_t kMaxGatheredBytes = 256 * 1024;

  // The relay answered (its first message is the head), so it has the request: a long stream keeps
  // none of it (the body, nor the user's token and headers), only the provider its log lines name.
  void ReleaseRequest() {
    RelayRequest kept;
    kept.set_provider(request_.provider());
    request_.Swap(&kept);
  }

  void TakeHead(const byok::relay::v1::ResponseHead& head) {
    head_seen_ = true;
    status_ = head.status();
    std::string content_type;
    for (const auto& h : head.headers()) {
      std::string name = absl::AsciiStrToLower(h.name());
      if (!PassResponseHeader(name)) continue;
      if (name == "content-type") content_type = h.value();
      headers_.emplace_back(std::move(name), h.value());
    }
    sse_ = absl::StartsWithIgnoreCase(content_type, "text/event-stream");
    if (sse_) {
      // Proxies in front of the gateway must neither cache nor buffer an event stream.
      std::erase_if(headers_, [](const auto& h) { return h.first == "cache-control"; });
      headers_.emplace_back("cache-control", "no-cache");
      headers_.emplace_back("x-accel-buffering", "no");
    }
    if (head.has_content_length() && head.content_length() <= static_cast<int64_t>(kMaxGatheredBytes)) {
      whole_length_ = head.content_length();
    }
  }

  // What the call was for, in a log line: the provider, or the unified route (the relay routed it).
  const std::string& Target() const {
    static const std::string kUnified = "POST /relay";
    return request_.provider().empty() ? kUnified : request_.provider();
  }

  // Asks the relay for the next message without writing anything to the browser.
  void ReadNext() {
    message_.Clear();
    StartRead(&message_);
  }

  // What runs once the browser took a piece: ask for the next one, or give up when it is gone.
  std::function<void(bool)> Continuation() {
    return [self = shared_from_this()](bool written) {
      if (written) {
        self->ReadNext();
      } else {
        self->ctx_.TryCancel();
        self->ReleaseHold();
      }
    };
  }

  void Fail(const char* what) {
    log::Warn("gateway", "%s", what);
    ctx_.TryCancel();
    ReleaseHold();
  }

  void ReleaseHold() {
    if (!hold_released_.exchange(true)) RemoveHold();
  }

  Backends& backends_;
  grpc::ClientContext ctx_;
  const absl::Time started_ = absl::Now();
  std::shared_ptr<trace::BackendWaits> waits_;  // the request's, for its access line
  RelayRequest request_;
  RelayResponse message_;
  std::shared_ptr<ResponseWriter> writer_;
  std::shared_ptr<RelayCall> self_;
  // The response head, kept until the first write.
  bool head_seen_ = false;
  int status_ = 0;
  HeaderList headers_;
  bool sse_ = false;
  int64_t whole_length_ = -1;  // the provider's declared length when small enough to gather
  std::string held_;           // body gathered before the first write
  bool streaming_ = false;     // the head is on its way to the browser
  std::atomic<bool> hold_released_{false};
};

}  // namespace

bool PassResponseHeader(absl::string_view lower_name) { return !http::IsNeverPassedToBrowser(lower_name); }

bool PassRequestHeader(absl::string_view lower_name) { return relay::IsReadClientHeader(lower_name); }

void StartRelayCall(Backends& backends, RelayRequest request,
                    std::shared_ptr<ResponseWriter> writer) {
  std::make_shared<RelayCall>(backends, std::move(request), std::move(writer))->Start();
}

}  // namespace byok::gateway
