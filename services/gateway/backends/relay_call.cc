#include "services/gateway/backends/relay_call.h"

#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include <nlohmann/json.hpp>

#include "common/http/response_headers.h"
#include "common/json/json_nesting.h"
#include "common/logging.h"
#include "common/request_context.h"
#include "services/gateway/backends/direct_relay_call.h"
#include "services/gateway/backends/relay_streams.h"
#include "services/relay/policy/model_policy.h"
#include "services/relay/policy/provider_table.h"

namespace byok::gateway {
namespace {

using byok::relay::v1::RelayRequest;
using byok::relay::v1::RelayResponse;

// The relay's list of allowed models, sent with a refused model's error (a JSON array).
std::optional<std::vector<std::string>> AllowedModels(const std::string& json) {
  if (json.empty()) return std::nullopt;
  std::optional<nlohmann::json> list = ::byok::json::ParseBounded(json);
  if (!list.has_value() || !list->is_array()) return std::nullopt;
  std::vector<std::string> models;
  for (const auto& m : *list) {
    if (m.is_string()) models.push_back(m.get<std::string>());
  }
  return models;
}

// One relayed request's browser side, whatever carries it to the relay (relay_transport.h). Lifetime:
// holds itself (self_) from Start until OnEnd.
class RelayCall : public RelayReceiver, public std::enable_shared_from_this<RelayCall> {
 public:
  RelayCall(Backends& backends, std::shared_ptr<ResponseWriter> writer)
      : backends_(backends), writer_(std::move(writer)) {}

  void Start(RelayRequest request) {
    self_ = shared_from_this();
    provider_ = request.provider();
    const trace::RequestContext* trace = trace::Current();
    if (trace != nullptr) waits_ = trace->waits;
    if (RelayStreams* streams = backends_.relay_streams()) {
      transport_ = streams->Start(std::move(request), trace, this);
    } else {
      transport_ = StartDirectRelayCall(backends_.relay_stub(), backends_.calls(), std::move(request), trace, this);
    }
    std::weak_ptr<RelayCall> weak = self_;
    writer_->OnClientGone([weak] {
      // The browser left: cancel now, so the relay closes the provider connection.
      if (auto call = weak.lock()) call->transport_->Cancel();
    });
    transport_->Read();
  }

  void OnMessage(RelayResponse& message, bool end_follows) override {
    if (message.has_head()) {
      if (head_seen_) return Fail("the relay sent a second response head");
      TakeHead(message.head());
    } else if (!head_seen_) {
      return Fail("the relay sent a body before the response head");
    }
    std::string piece = std::move(*message.mutable_body());
    if (streaming_ && end_follows) {
      // The stream's last piece goes with its end (one write to the browser, not two).
      tail_ = std::move(piece);
      return transport_->Read();
    }
    if (streaming_) return writer_->WriteChunk(std::move(piece), Continuation());
    held_.append(piece);
    // A small answer of declared length is gathered and sent whole, with a Content-Length, in one
    // write at the end; anything else streams from its first piece on (the head goes with it). A head
    // alone waits for its first piece.
    const bool gather = !sse_ && whole_length_ >= 0 && held_.size() <= kMaxGatheredBytes;
    if (gather || held_.empty()) return transport_->Read();
    streaming_ = true;
    writer_->StartStream(status_, std::move(headers_), std::exchange(held_, {}), Continuation());
  }

  void OnEnd(const grpc::Status& status, const std::string& allowed_models) override {
    // Before the response ends: its access line is written then.
    AddWait(waits_.get(), Backend::kRelay, absl::Now() - started_);
    if (status.ok()) {
      if (streaming_) {
        writer_->FinishStream(std::move(tail_));
      } else if (head_seen_) {
        writer_->Send(HttpResponse{status_, std::move(headers_), std::move(held_)});
      } else {
        RpcError error;
        error.backend = Backend::kRelay;
        error.code = grpc::StatusCode::INTERNAL;
        writer_->Send(ResponseForRpcError(error));
      }
    } else {
      RpcError error = backends_.relay().MakeError(status);
      error.allowed_models = AllowedModels(allowed_models);
      if (!streaming_) {
        // Nothing reached the browser yet: it gets a clean error instead of a broken answer.
        writer_->Send(ResponseForRpcError(error));
      } else if (sse_ && status.error_code() != grpc::StatusCode::CANCELLED) {
        // The provider broke off after the stream began: say so in the stream itself.
        writer_->FinishStream(tail_ + SseErrorEvent(error));
      } else {
        if (!tail_.empty()) writer_->WriteChunk(std::move(tail_), [](bool) {});
        writer_->AbortStream();
      }
      switch (status.error_code()) {
        case grpc::StatusCode::UNAVAILABLE:
        case grpc::StatusCode::DEADLINE_EXCEEDED:
        case grpc::StatusCode::ABORTED:
          log::Info("gateway", "relay call for %s failed: %s", Target(), status.error_message());
          break;
        case grpc::StatusCode::INTERNAL:
        case grpc::StatusCode::UNKNOWN:
        case grpc::StatusCode::DATA_LOSS:
          log::Warn("gateway", "relay call for %s failed: %s", Target(), status.error_message());
          break;
        default:  // the client's own errors (bad token, path, model) and cancellations
          break;
      }
    }
    writer_->OnClientGone(nullptr);
    writer_.reset();
    self_.reset();  // may delete this (the transport holds no reference to it)
  }

 private:
  // Largest answer gathered to be sent whole; a longer one streams.
  static constexpr size_t kMaxGatheredBytes = 256 * 1024;

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
    return provider_.empty() ? kUnified : provider_;
  }

  // What runs once the browser took a piece: ask for the next one, or give up when it is gone.
  std::function<void(bool)> Continuation() {
    return [self = shared_from_this()](bool written) {
      if (written) {
        self->transport_->Read();
      } else {
        self->transport_->Cancel();
      }
    };
  }

  void Fail(const char* what) {
    log::Warn("gateway", "%s", what);
    transport_->Cancel();
  }

  Backends& backends_;
  const absl::Time started_ = absl::Now();
  std::shared_ptr<trace::BackendWaits> waits_;  // the request's, for its access line
  std::string provider_;                        // for log lines
  std::shared_ptr<ResponseWriter> writer_;
  std::shared_ptr<RelayTransport> transport_;
  std::shared_ptr<RelayCall> self_;
  // The response head, kept until the first write.
  bool head_seen_ = false;
  int status_ = 0;
  HeaderList headers_;
  bool sse_ = false;
  int64_t whole_length_ = -1;  // the provider's declared length when small enough to gather
  std::string held_;           // body gathered before the first write
  std::string tail_;           // a stream's last piece, held to go with its end
  bool streaming_ = false;     // the head is on its way to the browser
};

}  // namespace

bool PassResponseHeader(absl::string_view lower_name) { return !http::IsNeverPassedToBrowser(lower_name); }

bool PassRequestHeader(absl::string_view lower_name) { return relay::IsReadClientHeader(lower_name); }

void StartRelayCall(Backends& backends, RelayRequest request,
                    std::shared_ptr<ResponseWriter> writer) {
  std::make_shared<RelayCall>(backends, std::move(writer))->Start(std::move(request));
}

}  // namespace byok::gateway
