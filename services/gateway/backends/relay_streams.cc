#include "services/gateway/backends/relay_streams.h"

#include <grpcpp/client_context.h>
#include <grpcpp/support/client_callback.h>

#include <algorithm>
#include <deque>
#include <optional>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/time/clock.h"
#include "services/gateway/backends/backends.h"
#include "services/gateway/backends/direct_relay_call.h"

namespace byok::gateway {

using byok::relay::v1::RelayFrame;
using byok::relay::v1::RelayManyRequest;
using byok::relay::v1::RelayManyResponse;
using byok::relay::v1::RelayRequest;
using byok::relay::v1::RelayResponse;

namespace {

// A message to the relay is closed to more frames past this size (starts carry request bodies).
constexpr size_t kMaxBatchBytes = 4 * 1024 * 1024;

}  // namespace

// One request on a stream. Its state is the stream's, guarded by the stream's mutex.
class StreamedRequest final : public RelayTransport, public std::enable_shared_from_this<StreamedRequest> {
 public:
  StreamedRequest(std::shared_ptr<RelayStream> on, uint64_t number, RelayReceiver* hears)
      : stream(std::move(on)), id(number), receiver(hears) {}

  void Read() override;
  void Cancel() override;

  const std::shared_ptr<RelayStream> stream;
  const uint64_t id;
  RelayReceiver* const receiver;

  std::deque<RelayResponse> messages;  // received, not yet delivered (bounded by the credit)
  bool want = false;                   // the receiver asked for the next message
  bool delivering = false;             // a call into the receiver is running
  bool ended = false;                  // `status` is how it ended (the relay's end, the stream's, or Cancel)
  bool cancelled = false;              // the end is delivered without waiting for a Read
  bool finished = false;               // OnEnd was delivered
  grpc::Status status;
  std::string allowed_models;
  uint32_t last_size = 0;   // body bytes of the message the receiver holds
  uint32_t unreturned = 0;  // body bytes taken and not yet given back as credit
  // Set when the relay has no RelayMany: the request went as a Relay call of its own instead.
  std::shared_ptr<RelayTransport> fallback;
};

class RelayStream final : public grpc::ClientBidiReactor<RelayManyRequest, RelayManyResponse>,
                          public std::enable_shared_from_this<RelayStream> {
 public:
  // A request handed to a Relay call of its own, with whether its receiver had asked for a message.
  using Moved = std::pair<std::shared_ptr<StreamedRequest>, bool>;

  RelayStream(RelayStreams* owner, byok::relay::v1::Relay::Stub* stub, CallRegistry* registry,
              const RelayStreams::Options& options)
      : owner_(owner),
        stub_(stub),
        registry_(registry),
        retire_at_(absl::Now() + options.max_age),
        end_before_usage_(options.end_before_usage) {}

  // Starts the call; the stream holds itself until it is done and its requests heard their end.
  void Open() {
    self_ = shared_from_this();
    registry_->Add(&ctx_);
    stub_->async()->RelayMany(&ctx_, this);
    AddHold();  // writes start from other threads, whenever a request comes
    StartRead(&read_);
    StartCall();
  }

  // Starts a request; null when the stream takes no new ones (retired, failed).
  std::shared_ptr<StreamedRequest> Start(RelayRequest& request, const trace::RequestContext* trace,
                                         RelayReceiver* receiver) {
    Io io;
    std::shared_ptr<StreamedRequest> started;
    {
      absl::MutexLock lock(&mu_);
      if (!retiring_ && absl::Now() >= retire_at_) retiring_ = true;
      if (dead_ || retiring_) {
        MaybeWrite(io);  // a retired stream that is idle half-closes
      } else {
        started = std::make_shared<StreamedRequest>(shared_from_this(), next_id_++, receiver);
        live_.emplace(started->id, started);
        ++open_requests_;
        RelayFrame& frame = AddFrame(request.body().size());  // the rest is small beside the limit
        frame.set_id(started->id);
        frame.set_credit(RelayStreams::kFirstCredit);
        frame.set_end_before_usage(end_before_usage_);  // the fence holds GET /stats until it is stored
        if (trace != nullptr) {
          frame.set_request_id(trace->request_id);
          frame.set_traceparent(trace->Traceparent());
          frame.set_tracestate(trace->tracestate);
        }
        frame.mutable_start()->Swap(&request);
        MaybeWrite(io);
      }
    }
    Perform(io);
    return started;
  }

  void Read(const std::shared_ptr<StreamedRequest>& r) {
    Io io;
    std::shared_ptr<RelayTransport> fallback;
    {
      absl::MutexLock lock(&mu_);
      fallback = r->fallback;
      if (!fallback) AskNext(*r, io);
    }
    if (fallback) return fallback->Read();
    Perform(io);
    Deliver(r);
  }

  void Cancel(const std::shared_ptr<StreamedRequest>& r) {
    Io io;
    std::shared_ptr<RelayTransport> fallback;
    {
      absl::MutexLock lock(&mu_);
      fallback = r->fallback;
      if (!fallback) Stop(*r, io);
    }
    if (fallback) return fallback->Cancel();
    Perform(io);
    Deliver(r);
  }

  void OnReadDone(bool ok) override {
    std::shared_ptr<RelayStream> keep = shared_from_this();
    std::vector<std::shared_ptr<StreamedRequest>> touched;
    std::vector<uint64_t> stored;
    Io io;
    {
      absl::MutexLock lock(&mu_);
      if (!ok) {
        dead_ = true;  // the relay finished the stream or it broke: OnDone tells the requests how
      } else {
        for (byok::relay::v1::RelayReply& reply : *read_.mutable_replies()) {
          auto it = live_.find(reply.id());
          if (it == live_.end()) continue;  // cancelled meanwhile
          std::shared_ptr<StreamedRequest> r = it->second;
          if (reply.has_response()) r->messages.push_back(std::move(*reply.mutable_response()));
          if (reply.has_end()) {
            const byok::relay::v1::RelayEnd& end = reply.end();
            r->ended = true;
            r->status = grpc::Status(static_cast<grpc::StatusCode>(end.code()), end.message(), end.details());
            r->allowed_models = end.allowed_models();
            // Before the browser can see the end, so a GET /stats after it waits for the record.
            if (end.usage_pending()) usage_owed_.emplace(r->id, owner_->fence_.Pending());
            live_.erase(it);
          }
          touched.push_back(std::move(r));
        }
        // Always after their ends (in this message's replies or an earlier one's).
        for (uint64_t id : read_.usage_stored()) {
          auto it = usage_owed_.find(id);
          if (it == usage_owed_.end()) continue;  // a request cancelled here, whose end was not read
          stored.push_back(it->second);
          usage_owed_.erase(it);
        }
        if (read_.drain()) retiring_ = true;
      }
      MaybeWrite(io);
    }
    if (ok) {
      read_.Clear();
      StartRead(&read_);
    }
    Perform(io);
    for (uint64_t ticket : stored) owner_->fence_.Stored(ticket);
    for (const auto& r : touched) Deliver(r);
  }

  void OnWriteDone(bool ok) override {
    std::shared_ptr<RelayStream> keep = shared_from_this();
    Io io;
    {
      absl::MutexLock lock(&mu_);
      write_in_flight_ = false;
      writing_ = RelayManyRequest();  // the bodies it carried go now
      if (!ok) dead_ = true;          // the stream broke: OnDone follows once the read ends
      MaybeWrite(io);
    }
    Perform(io);
  }

  void OnWritesDoneDone(bool /*ok*/) override {
    std::shared_ptr<RelayStream> keep = shared_from_this();
    Io io;
    {
      absl::MutexLock lock(&mu_);
      write_in_flight_ = false;
      MaybeWrite(io);
    }
    Perform(io);
  }

  void OnReadInitialMetadataDone(bool ok) override {
    if (!ok) return;  // the stream failed before the relay answered: OnDone says how
    std::shared_ptr<RelayStream> keep = shared_from_this();
    Io io;
    {
      absl::MutexLock lock(&mu_);
      confirmed_ = true;  // the relay serves RelayMany: the frames held until now go
      MaybeWrite(io);
    }
    Perform(io);
  }

  void OnDone(const grpc::Status& status) override {
    std::shared_ptr<RelayStream> keep = std::move(self_);
    std::vector<std::shared_ptr<StreamedRequest>> touched;
    std::vector<Moved> moved;
    std::vector<uint64_t> unowed;
    bool remove = false;
    {
      absl::MutexLock lock(&mu_);
      dead_ = true;
      done_ = true;
      if (!confirmed_ && status.error_code() != grpc::StatusCode::CANCELLED) {
        // The relay's headers never came, so none of the frames was written: each request goes as a
        // Relay call of its own (unless shutdown cancelled the stream). A relay older than RelayMany
        // (UNIMPLEMENTED) gets calls only, for a while.
        if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED) owner_->RelayManyUnsupported();
        moved = MoveToCalls();  // what each had asked for goes to its call below
      }
      // Requests still running when the stream ended: the relay went away (or shutdown cancelled
      // the stream). A stream the relay finished normally has none.
      const grpc::Status ended = status.ok() ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "relay stream ended")
                                             : status;
      for (auto& [id, r] : live_) {
        r->ended = true;
        r->status = ended;
        touched.push_back(r);
      }
      live_.clear();
      // Records never heard of again: stored or lost, nothing more will tell (a read waits no longer).
      for (const auto& [id, ticket] : usage_owed_) unowed.push_back(ticket);
      usage_owed_.clear();
      remove = open_requests_ == 0 && !removed_;
      removed_ = removed_ || remove;
    }
    // Before the stream leaves the registry: what a released read does starts before shutdown ends.
    for (uint64_t ticket : unowed) owner_->fence_.Stored(ticket);
    // A request that had asked for its first message asks its call (later asks go to the call).
    for (const auto& [r, wanted] : moved) {
      if (wanted) r->fallback->Read();
    }
    for (const auto& r : touched) Deliver(r);
    // Shutdown waits for the registry, then destroys what sessions use: a stream counts as
    // finished only once every request on it heard its end (Deliver removes it then).
    if (remove) registry_->Remove(&ctx_);
  }

  // Sends every running request as a Relay call of its own, from its start frame (never written: the
  // stream was not confirmed). They are no longer this stream's.
  std::vector<Moved> MoveToCalls() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::vector<Moved> moved;
    for (RelayManyRequest& batch : out_) {
      for (RelayFrame& frame : *batch.mutable_frames()) {
        if (!frame.has_start()) continue;
        auto it = live_.find(frame.id());
        if (it == live_.end()) continue;  // cancelled meanwhile
        std::shared_ptr<StreamedRequest> r = it->second;
        trace::RequestContext trace;
        trace.request_id = frame.request_id();
        trace.tracestate = frame.tracestate();
        const bool traced =
            trace::ParseTraceparent(frame.traceparent(), &trace.trace_id, &trace.span_id, &trace.flags);
        r->fallback = StartDirectRelayCall(*stub_, *registry_, std::move(*frame.mutable_start()),
                                           traced ? &trace : nullptr, r->receiver);
        live_.erase(it);
        --open_requests_;  // the call registers itself
        const bool wanted = std::exchange(r->want, false);
        moved.emplace_back(std::move(r), wanted);
      }
    }
    return moved;
  }

  // Hands `r` what it may have now: its next message when it asked, or its end.
  void Deliver(const std::shared_ptr<StreamedRequest>& r) {
    for (;;) {
      std::optional<RelayResponse> message;
      bool end_follows = false;
      {
        absl::MutexLock lock(&mu_);
        if (r->delivering || r->finished) return;
        if (r->want && !r->messages.empty()) {
          message = std::move(r->messages.front());
          r->messages.pop_front();
          r->want = false;
          r->last_size = static_cast<uint32_t>(message->body().size());
          end_follows = r->ended && r->messages.empty();
        } else if (r->ended && r->messages.empty() && (r->want || r->cancelled)) {
          r->finished = true;
        } else {
          return;
        }
        r->delivering = true;
      }
      if (!message.has_value()) {
        r->receiver->OnEnd(r->status, r->allowed_models);
        bool remove = false;
        {
          absl::MutexLock lock(&mu_);
          --open_requests_;
          remove = done_ && open_requests_ == 0 && !removed_;
          removed_ = removed_ || remove;
        }
        if (remove) registry_->Remove(&ctx_);
        return;
      }
      r->receiver->OnMessage(*message, end_follows);
      absl::MutexLock lock(&mu_);
      r->delivering = false;
    }
  }

 private:
  // gRPC operations decided under the lock, started after it.
  struct Io {
    bool write = false;
    bool writes_done = false;
    bool remove_hold = false;
  };

  // The receiver is done with its message: it wants the next, and the message's bytes come back as
  // credit (in kCreditReturnBytes steps).
  void AskNext(StreamedRequest& r, Io& io) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (r.finished) return;
    r.want = true;
    if (!r.ended && !dead_) {
      r.unreturned += r.last_size;
      if (r.unreturned >= RelayStreams::kCreditReturnBytes) {
        RelayFrame& frame = AddFrame(0);
        frame.set_id(r.id);
        frame.set_credit(r.unreturned);
        r.unreturned = 0;
        MaybeWrite(io);
      }
    }
    r.last_size = 0;
  }

  // The browser left: the request ends CANCELLED here at once, and the relay is told.
  void Stop(StreamedRequest& r, Io& io) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (r.finished || r.cancelled) return;
    r.cancelled = true;
    r.messages.clear();
    if (r.ended) return;
    r.ended = true;
    r.status = grpc::Status(grpc::StatusCode::CANCELLED, "Cancelled");
    live_.erase(r.id);
    if (!dead_) {
      RelayFrame& frame = AddFrame(0);
      frame.set_id(r.id);
      frame.set_cancel(true);
    }
    MaybeWrite(io);
  }

  RelayFrame& AddFrame(size_t bytes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (out_.empty() || out_bytes_ >= kMaxBatchBytes) {
      out_.emplace_back();
      out_bytes_ = 0;
    }
    out_bytes_ += bytes + 32;
    return *out_.back().add_frames();
  }

  void MaybeWrite(Io& io) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!write_in_flight_ && !dead_ && !writes_done_) {
      if (!out_.empty() && confirmed_) {
        writing_ = std::move(out_.front());
        out_.pop_front();
        write_in_flight_ = true;
        io.write = true;
      } else if (retiring_ && live_.empty()) {
        writes_done_ = true;  // the relay finishes the stream once it saw this
        write_in_flight_ = true;
        io.writes_done = true;
      }
    }
    if (dead_ && done_) out_.clear();  // before OnDone, MoveToCalls may still need the start frames
    // Nothing more is started from outside a reaction once the stream is half-closed or dead.
    if (hold_ && !write_in_flight_ && (dead_ || writes_done_)) {
      hold_ = false;
      io.remove_hold = true;
    }
  }

  void Perform(const Io& io) {
    if (io.write) StartWrite(&writing_);
    if (io.writes_done) StartWritesDone();
    if (io.remove_hold) RemoveHold();
  }

  RelayStreams* const owner_;
  byok::relay::v1::Relay::Stub* const stub_;
  CallRegistry* const registry_;
  const absl::Time retire_at_;
  const bool end_before_usage_;
  grpc::ClientContext ctx_;
  std::shared_ptr<RelayStream> self_;
  RelayManyResponse read_;  // gRPC's while a read is outstanding

  absl::Mutex mu_;
  absl::flat_hash_map<uint64_t, std::shared_ptr<StreamedRequest>> live_ ABSL_GUARDED_BY(mu_);
  // Ended requests whose usage record the relay still owes word of: their fence tickets, by id.
  absl::flat_hash_map<uint64_t, uint64_t> usage_owed_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  size_t open_requests_ ABSL_GUARDED_BY(mu_) = 0;  // started, OnEnd not yet delivered
  std::deque<RelayManyRequest> out_ ABSL_GUARDED_BY(mu_);
  size_t out_bytes_ ABSL_GUARDED_BY(mu_) = 0;  // about the size of out_'s last message
  RelayManyRequest writing_ ABSL_GUARDED_BY(mu_);  // gRPC's while a write is in flight
  bool write_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  bool writes_done_ ABSL_GUARDED_BY(mu_) = false;
  bool hold_ ABSL_GUARDED_BY(mu_) = true;
  bool confirmed_ ABSL_GUARDED_BY(mu_) = false;  // the relay's headers came: it serves RelayMany
  bool retiring_ ABSL_GUARDED_BY(mu_) = false;
  bool dead_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  bool removed_ ABSL_GUARDED_BY(mu_) = false;
};

void StreamedRequest::Read() { stream->Read(shared_from_this()); }

void StreamedRequest::Cancel() { stream->Cancel(shared_from_this()); }

RelayStreams::RelayStreams(byok::relay::v1::Relay::Stub* stub, CallRegistry* registry, Options options)
    : stub_(stub), registry_(registry), options_(options) {
  slots_.resize(static_cast<size_t>(std::max(1, options_.streams)));
}

RelayStreams::~RelayStreams() = default;

void RelayStreams::RelayManyUnsupported() {
  absl::MutexLock lock(&mu_);
  calls_until_ = absl::Now() + options_.max_age;
}

std::shared_ptr<RelayTransport> RelayStreams::Start(RelayRequest request, const trace::RequestContext* trace,
                                                    RelayReceiver* receiver) {
  // A slot's stream refuses only once retired or failed: then a new one takes its place (and the
  // old one finishes when its requests have). Streams are opened under the lock, so no request
  // is started on a stream before its call exists.
  std::shared_ptr<RelayStream> refused;
  size_t slot = 0;
  bool calls = false;
  {
    absl::MutexLock lock(&mu_);
    calls = absl::Now() < calls_until_;
    slot = next_++ % slots_.size();
  }
  if (calls) return StartDirectRelayCall(*stub_, *registry_, std::move(request), trace, receiver);
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::shared_ptr<RelayStream> stream;
    {
      absl::MutexLock lock(&mu_);
      if (slots_[slot] == nullptr || slots_[slot] == refused) {
        slots_[slot] = std::make_shared<RelayStream>(this, stub_, registry_, options_);
        slots_[slot]->Open();
      }
      stream = slots_[slot];
    }
    if (std::shared_ptr<StreamedRequest> started = stream->Start(request, trace, receiver)) return started;
    refused = std::move(stream);
  }
  // Both streams had failed as the request came (the relay channel fails new calls at once just now, or
  // shutdown cancels them): a Relay call of its own, which succeeds or fails on its own.
  return StartDirectRelayCall(*stub_, *registry_, std::move(request), trace, receiver);
}

}  // namespace byok::gateway
