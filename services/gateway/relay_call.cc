#include "services/gateway/relay_call.h"

#include <grpcpp/support/client_callback.h>

#include <atomic>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "common/logging.h"

namespace byok::gateway {
namespace {

using byok::relay::v1::RelayRequest;
using byok::relay::v1::RelayResponse;

constexpr absl::string_view kHopByHop[] = {"connection",        "keep-alive", "proxy-authenticate",
                                           "proxy-authorization", "te",       "trailer",
                                           "transfer-encoding", "upgrade",    "content-length",
                                           "host"};

bool IsHopByHop(absl::string_view name) {
  for (absl::string_view h : kHopByHop) {
    if (name == h) return true;
  }
  return false;
}

// The reactor for one Relay stream. Lifetime: holds itself (self_) from Start until OnDone.
class RelayCall : public grpc::ClientReadReactor<RelayResponse>,
                  public std::enable_shared_from_this<RelayCall> {
 public:
  RelayCall(Backends& backends, RelayRequest request, std::shared_ptr<ResponseWriter> writer)
      : backends_(backends), request_(std::move(request)), writer_(std::move(writer)) {}

  void Start() {
    self_ = shared_from_this();
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
      if (head_sent_) return Fail("the relay sent a second response head");
      head_sent_ = true;
      HeaderList headers;
      std::string content_type;
      for (const auto& h : message_.head().headers()) {
        std::string name = absl::AsciiStrToLower(h.name());
        if (!PassResponseHeader(name)) continue;
        if (name == "content-type") content_type = h.value();
        headers.emplace_back(std::move(name), h.value());
      }
      sse_ = absl::StartsWithIgnoreCase(content_type, "text/event-stream");
      if (sse_) {
        // Proxies in front of the gateway must neither cache nor buffer an event stream.
        std::erase_if(headers, [](const auto& h) { return h.first == "cache-control"; });
        headers.emplace_back("cache-control", "no-cache");
        headers.emplace_back("x-accel-buffering", "no");
      }
      writer_->StartStream(message_.head().status(), std::move(headers), Continuation());
      return;
    }
    if (!head_sent_) return Fail("the relay sent a body before the response head");
    writer_->WriteChunk(std::move(*message_.mutable_body()), Continuation());
  }

  void OnDone(const grpc::Status& status) override {
    if (status.ok()) {
      if (head_sent_) {
        writer_->FinishStream({});
      } else {
        RpcError error;
        error.backend = Backend::kRelay;
        error.code = grpc::StatusCode::INTERNAL;
        writer_->Send(ResponseForRpcError(error));
      }
    } else {
      RpcError error = backends_.relay().MakeError(status, ctx_);
      if (!head_sent_) {
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
          log::Info("gateway", "relay call for %s failed: %s", request_.provider(),
                    status.error_message());
          break;
        case grpc::StatusCode::INTERNAL:
        case grpc::StatusCode::UNKNOWN:
        case grpc::StatusCode::DATA_LOSS:
          log::Warn("gateway", "relay call for %s failed: %s", request_.provider(),
                    status.error_message());
          break;
        default:  // the client's own errors (bad token, path, model) and cancellations
          break;
      }
    }
    writer_->OnClientGone(nullptr);
    backends_.calls().Remove(&ctx_);
    self_.reset();  // may delete this
  }

 private:
  // What runs once the browser took a piece: ask for the next one, or give up when it is gone.
  std::function<void(bool)> Continuation() {
    return [self = shared_from_this()](bool written) {
      if (written) {
        self->message_.Clear();
        self->StartRead(&self->message_);
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
  RelayRequest request_;
  RelayResponse message_;
  std::shared_ptr<ResponseWriter> writer_;
  std::shared_ptr<RelayCall> self_;
  bool head_sent_ = false;
  bool sse_ = false;
  std::atomic<bool> hold_released_{false};
};

}  // namespace

bool PassResponseHeader(absl::string_view lower_name) {
  if (IsHopByHop(lower_name)) return false;
  if (absl::StartsWith(lower_name, "access-control-")) return false;
  if (lower_name == "set-cookie" || lower_name == "vary") return false;
  return true;
}

bool PassRequestHeader(absl::string_view lower_name) {
  if (IsHopByHop(lower_name)) return false;
  if (lower_name == "x-relay-token" || lower_name == "x-relay-base-url" || lower_name == "cookie" ||
      lower_name == "authorization" || lower_name == "origin" || lower_name == "referer" ||
      lower_name == "x-forwarded-for" || lower_name == "forwarded" || lower_name == "expect") {
    return false;
  }
  return true;
}

void StartRelayCall(Backends& backends, RelayRequest request,
                    std::shared_ptr<ResponseWriter> writer) {
  std::make_shared<RelayCall>(backends, std::move(request), std::move(writer))->Start();
}

}  // namespace byok::gateway
