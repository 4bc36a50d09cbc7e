#include "services/relay/relay_many.h"

#include <grpcpp/server_context.h>

#include <utility>

#include "absl/time/clock.h"
#include "common/logging.h"
#include "common/metrics/grpc_observer.h"
#include "common/request_context.h"

namespace byok::relay {
namespace {

// The request an exchange reads, constructed before the exchange that points at it.
struct RequestHolder {
  v1::RelayRequest request;
};

// Bytes a reply adds to its message besides its body (ids, tags, a head's few headers).
constexpr size_t kReplyOverheadBytes = 64;

}  // namespace

// One request of the stream. The fields below are the stream's, guarded by its mu_.
class RelayManyReactor::Exchange final : private RequestHolder, public RelayExchange {
 public:
  Exchange(RelayManyReactor* stream, uint64_t id, const RelayDeps& deps, trace::RequestContext trace,
           v1::RelayRequest start, int64_t first_credit, bool end_before_usage)
      : RequestHolder{std::move(start)},
        RelayExchange(deps, std::move(trace), &this->request),
        credit(first_credit),
        stream_(stream),
        id_(id),
        end_before_usage_(end_before_usage) {}

  uint64_t id() const { return id_; }

  int64_t credit;                      // body bytes the caller still takes
  WriteState write = WriteState::kIdle;
  bool cancelled = false;              // by the caller, or the stream is gone
  bool ended = false;                  // SendStatus was called
  int pins = 0;                        // Actions that will call into it
  Usage usage = Usage::kNone;

 private:
  void SendMessage(v1::RelayResponse* message, bool last) override { stream_->Send(this, message, last); }
  void SendStatus(const grpc::Status& status, std::string allowed_models) override {
    stream_->End(this, status, std::move(allowed_models));
  }
  std::function<void()> EndBeforeUsage() override {
    return end_before_usage_ ? stream_->EndBeforeUsage(this) : nullptr;
  }

  RelayManyReactor* const stream_;
  const uint64_t id_;
  const bool end_before_usage_;
};

void RelayManyStreams::Add(RelayManyReactor* stream) {
  bool drain = false;
  {
    absl::MutexLock lock(&mu_);
    streams_.insert(stream);
    drain = draining_;
  }
  if (drain) stream->Drain();
}

void RelayManyStreams::Remove(RelayManyReactor* stream) {
  absl::MutexLock lock(&mu_);
  streams_.erase(stream);
}

void RelayManyStreams::DrainAll() {
  // Under the lock: a stream removes itself (and is deleted) only after taking it.
  absl::MutexLock lock(&mu_);
  draining_ = true;
  for (RelayManyReactor* stream : streams_) stream->Drain();
}

RelayManyReactor::RelayManyReactor(const RelayDeps& deps, RelayManyStreams* streams)
    : deps_(deps), streams_(streams) {
  // Headers at once: the caller sends its frames only once they came (a relay without RelayMany
  // answers UNIMPLEMENTED with none, and the caller sends its requests as Relay calls instead).
  StartSendInitialMetadata();
  streams_->Add(this);
  StartRead(&read_);
}

void RelayManyReactor::Drain() {
  Actions actions;
  {
    absl::MutexLock lock(&mu_);
    if (gone_ || finished_) return;
    drain_ = true;
    MaybeWrite(actions);
  }
  Run(actions);
}

void RelayManyReactor::OnReadDone(bool ok) {
  Actions actions;
  bool read_more = false;
  {
    absl::MutexLock lock(&mu_);
    if (!ok) {
      reads_done_ = true;
      reading_ = false;
    } else {
      for (v1::RelayFrame& frame : *read_.mutable_frames()) Apply(frame, actions);
      // Reading stops once the caller left; the stream cannot finish while a read is applied or
      // outstanding, so the next read never follows Finish.
      read_more = !gone_;
      reading_ = read_more;
      MaybeWrite(actions);
    }
    MaybeFinish(actions);
  }
  if (read_more) {
    read_.Clear();
    StartRead(&read_);
  }
  Run(actions);
}

void RelayManyReactor::Apply(v1::RelayFrame& frame, Actions& actions) {
  const uint64_t id = frame.id();
  if (frame.has_start()) {
    if (live_.contains(id)) {
      log::Warn("relay", "RelayMany: a second start for a running request was ignored");
      return;
    }
    if (gone_) return;
    if (live_.size() >= kMaxRequests) {
      Batch& batch = OpenBatch();
      v1::RelayReply* reply = batch.message.add_replies();
      reply->set_id(id);
      reply->mutable_end()->set_code(grpc::StatusCode::RESOURCE_EXHAUSTED);
      reply->mutable_end()->set_message("too many requests on one RelayMany stream");
      batch.bytes += kReplyOverheadBytes;
      return;
    }
    auto* exchange = new Exchange(this, id, deps_,
                                  trace::Continue(frame.request_id(), frame.traceparent(), frame.tracestate()),
                                  std::move(*frame.mutable_start()), frame.credit(), frame.end_before_usage());
    live_.emplace(id, exchange);
    ++exchanges_;
    Pin(actions.start, exchange);
    return;
  }
  auto it = live_.find(id);
  if (it == live_.end()) return;  // it ended already (its end may be on its way)
  Exchange* exchange = it->second;
  if (frame.credit() > 0) {
    exchange->credit += frame.credit();
    if (exchange->write == WriteState::kAwaitingCredit && exchange->credit > 0) {
      exchange->write = WriteState::kIdle;
      Pin(actions.write_done, exchange);
    }
  }
  if (frame.cancel() && !exchange->cancelled) {
    exchange->cancelled = true;
    Pin(actions.cancel, exchange);
    if (exchange->write == WriteState::kAwaitingCredit) {
      exchange->write = WriteState::kIdle;
      Pin(actions.write_failed, exchange);
    }
  }
}

void RelayManyReactor::Send(Exchange* exchange, v1::RelayResponse* message, bool last) {
  Actions actions;
  {
    absl::MutexLock lock(&mu_);
    if (gone_ || exchange->cancelled) {
      // Nothing more reaches the caller: the write fails at once (the exchange allows it inline,
      // as it allows a transport's completion on another thread before SendMessage returned).
      Pin(actions.write_failed, exchange);
    } else {
      const size_t body = message->body().size();
      exchange->credit -= static_cast<int64_t>(body);
      Batch& batch = OpenBatch();
      v1::RelayReply* reply = batch.message.add_replies();
      reply->set_id(exchange->id());
      reply->mutable_response()->Swap(message);
      batch.bytes += body + kReplyOverheadBytes;
      if (last) {
        // Only the end follows, whatever the credit: it is done at once, so the end joins this
        // message (the write starts from End) and a small answer costs one message, not two.
        Pin(actions.write_done, exchange);
      } else {
        exchange->write = WriteState::kQueued;
        batch.sent.push_back(exchange);
        MaybeWrite(actions);
      }
    }
  }
  Run(actions);
}

void RelayManyReactor::End(Exchange* exchange, const grpc::Status& status, std::string allowed_models) {
  metrics::CountServerCall("relay", "Relay", status.error_code(), absl::Now() - exchange->started());
  Actions actions;
  {
    absl::MutexLock lock(&mu_);
    if (!gone_ && !exchange->cancelled) {
      Batch& batch = OpenBatch();
      v1::RelayReply* reply = batch.message.add_replies();
      reply->set_id(exchange->id());
      v1::RelayEnd* end = reply->mutable_end();
      end->set_code(status.error_code());
      end->set_message(status.error_message());
      end->set_details(status.error_details());
      end->set_allowed_models(std::move(allowed_models));
      end->set_usage_pending(exchange->usage == Usage::kPending);
      batch.bytes += kReplyOverheadBytes + status.error_message().size() + status.error_details().size();
    }
    live_.erase(exchange->id());
    exchange->ended = true;
    if (exchange->pins == 0) {
      --exchanges_;
      actions.destroy.push_back(exchange);
    }
    MaybeWrite(actions);
    MaybeFinish(actions);
  }
  // The exchange does nothing after SendStatus: destroying it here is as its own last act.
  Run(actions);
}

std::function<void()> RelayManyReactor::EndBeforeUsage(Exchange* exchange) {
  absl::MutexLock lock(&mu_);
  exchange->usage = Usage::kPending;
  ++usage_owed_;
  return [this, id = exchange->id()] { UsageStored(id); };
}

void RelayManyReactor::UsageStored(uint64_t id) {
  Actions actions;
  {
    absl::MutexLock lock(&mu_);
    --usage_owed_;
    auto it = live_.find(id);
    if (it != live_.end() && it->second->usage == Usage::kPending) {
      // Stored while its last message waited (for credit, or a write): its end says nothing of it.
      it->second->usage = Usage::kStored;
    } else if (!gone_) {
      Batch& batch = OpenBatch();
      batch.message.add_usage_stored(id);
      batch.bytes += sizeof(id);
      MaybeWrite(actions);
    }
    MaybeFinish(actions);
  }
  Run(actions);
}

RelayManyReactor::Batch& RelayManyReactor::OpenBatch() {
  if (queued_.empty() || queued_.back().bytes >= kMaxBatchBytes) queued_.emplace_back();
  return queued_.back();
}

void RelayManyReactor::MaybeWrite(Actions& actions) {
  if (write_in_flight_ || gone_ || finished_) return;
  if (queued_.empty() && !drain_) return;
  if (queued_.empty()) {
    writing_ = Batch();
  } else {
    writing_ = std::move(queued_.front());
    queued_.pop_front();
  }
  if (drain_) writing_.message.set_drain(true);
  drain_ = false;
  for (Exchange* exchange : writing_.sent) exchange->write = WriteState::kWriting;
  write_in_flight_ = true;
  actions.write = true;
}

void RelayManyReactor::OnWriteDone(bool ok) {
  Actions actions;
  {
    absl::MutexLock lock(&mu_);
    write_in_flight_ = false;
    for (Exchange* exchange : writing_.sent) {
      if (!ok || gone_ || exchange->cancelled) {
        exchange->write = WriteState::kIdle;
        Pin(actions.write_failed, exchange);
      } else if (exchange->credit > 0) {
        exchange->write = WriteState::kIdle;
        Pin(actions.write_done, exchange);
      } else {
        exchange->write = WriteState::kAwaitingCredit;  // the caller's next credit completes it
      }
    }
    writing_ = Batch();  // its pieces' memory goes now, not when the next write reuses it
    if (!ok) Abandon(actions);
    MaybeWrite(actions);
    MaybeFinish(actions);
  }
  Run(actions);
}

void RelayManyReactor::OnCancel() {
  Actions actions;
  {
    absl::MutexLock lock(&mu_);
    Abandon(actions);
    MaybeFinish(actions);
  }
  Run(actions);
}

void RelayManyReactor::Abandon(Actions& actions) {
  if (gone_) return;
  gone_ = true;
  for (auto& [id, exchange] : live_) {
    if (!exchange->cancelled) {
      exchange->cancelled = true;
      Pin(actions.cancel, exchange);
    }
    if (exchange->write == WriteState::kQueued || exchange->write == WriteState::kAwaitingCredit) {
      exchange->write = WriteState::kIdle;
      Pin(actions.write_failed, exchange);
    }
  }
  queued_.clear();  // never written; their exchanges' writes failed above
}

void RelayManyReactor::MaybeFinish(Actions& actions) {
  if (finished_ || reading_ || write_in_flight_ || exchanges_ != 0 || usage_owed_ != 0) return;
  if (!reads_done_ && !gone_) return;
  if (!gone_ && !queued_.empty()) return;  // the last ends go first (MaybeWrite started them)
  finished_ = true;
  actions.finish = true;
  actions.cancelled = gone_;
}

void RelayManyReactor::Pin(std::vector<Exchange*>& list, Exchange* exchange) {
  ++exchange->pins;
  list.push_back(exchange);
}

void RelayManyReactor::Unpin(Exchange* exchange, Actions& actions) {
  if (--exchange->pins == 0 && exchange->ended) {
    --exchanges_;
    actions.destroy.push_back(exchange);
  }
}

void RelayManyReactor::Run(Actions& actions) {
  for (Exchange* exchange : actions.start) exchange->Start();
  for (Exchange* exchange : actions.cancel) exchange->Cancelled();
  for (Exchange* exchange : actions.write_done) exchange->WriteDone(true);
  for (Exchange* exchange : actions.write_failed) exchange->WriteDone(false);
  if (!actions.start.empty() || !actions.cancel.empty() || !actions.write_done.empty() ||
      !actions.write_failed.empty()) {
    absl::MutexLock lock(&mu_);
    for (auto* list : {&actions.start, &actions.cancel, &actions.write_done, &actions.write_failed}) {
      for (Exchange* exchange : *list) Unpin(exchange, actions);
    }
    MaybeFinish(actions);
  }
  for (Exchange* exchange : actions.destroy) delete exchange;
  if (actions.write) StartWrite(&writing_.message);
  // Last: OnDone may delete the stream at once.
  if (actions.finish) {
    Finish(actions.cancelled ? grpc::Status::CANCELLED : grpc::Status::OK);
  }
}

void RelayManyReactor::OnDone() {
  streams_->Remove(this);
  delete this;
}

}  // namespace byok::relay
