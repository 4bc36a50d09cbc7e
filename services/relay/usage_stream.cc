#include "services/relay/usage_stream.h"

#include <grpcpp/client_context.h>
#include <grpcpp/support/client_callback.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "common/grpc_status.h"
#include "common/logging.h"
#include "common/thread_name.h"

namespace byok::relay {

namespace v1 = vault::v1;

namespace {

constexpr absl::Duration kFirstBackoff = absl::Milliseconds(100);
constexpr absl::Duration kMaxBackoff = absl::Seconds(5);

absl::Status Broken() { return absl::UnavailableError("the usage stream to the vault broke"); }

}  // namespace

// One stream attempt. Holds itself (self_) until OnDone; a hold (AddHold) keeps the call from
// ending while UsageStream may still write to it from outside a reaction. Its state is guarded by
// the owner's mutex.
//
// The message buffer out_ is gRPC's from StartWrite until OnWriteDone, and the issuing thread reads it
// (serialises it) inside StartWrite. OnWriteDone may run on another thread before StartWrite has
// returned; the buffer is free only once both happened, each recorded under the owner's mutex, so
// that its next filling is ordered after the last read by a lock rather than by gRPC's internals.
class UsageStream::Call final : public grpc::ClientBidiReactor<v1::StreamUsageRequest, v1::StreamUsageResponse> {
 public:
  explicit Call(UsageStream& owner) : owner_(owner) {}

  void Start(std::shared_ptr<Call> self) {
    self_ = std::move(self);
    owner_.stub_->async()->StreamUsage(&context_, this);
    AddHold();
    StartRead(&answer_);
    StartCall();
  }
  void Write() { StartWrite(&out_); }
  void Cancel() { context_.TryCancel(); }

  void OnReadDone(bool ok) override {
    if (!ok) return owner_.OnReadsEnded(*this);
    owner_.OnAnswer(*this, answer_);
    StartRead(&answer_);
  }
  void OnWriteDone(bool ok) override { owner_.OnWritten(*this, ok); }
  void OnDone(const grpc::Status& status) override {
    UsageStream& owner = owner_;
    owner.OnEnded(*this, FromGrpcStatus(status));
    std::shared_ptr<Call> self = std::move(self_);
    self.reset();  // may delete this (the context with it)
    owner.CallGone();  // last: the owner may go now
  }

  enum class WriteState {
    kIdle,             // out_ is free
    kIssuing,          // filled; StartWrite has not returned
    kIssuingAnswered,  // OnWriteDone came before StartWrite returned (write_ok holds its result)
    kInFlight,         // StartWrite returned; OnWriteDone to come
  };
  // Guarded by the owner's mu_.
  WriteState write_state = WriteState::kIdle;
  bool write_ok = false;      // the result OnWriteDone left in kIssuingAnswered
  bool reads_ended = false;   // the stream is over: no more writes
  bool released = false;      // the hold was removed
  v1::StreamUsageRequest out_;

 private:
  UsageStream& owner_;
  std::shared_ptr<Call> self_;
  grpc::ClientContext context_;
  v1::StreamUsageResponse answer_;
};

UsageStream::UsageStream(std::shared_ptr<v1::Vault::Stub> stub, absl::Duration answer_timeout,
                         UsageBatcher::SendFn unary)
    : stub_(std::move(stub)),
      answer_timeout_(answer_timeout),
      unary_(std::move(unary)),
      watchdog_(StartNamedThread("usage-watchdog", [this] { Watch(); })) {}

UsageStream::~UsageStream() {
  std::shared_ptr<Call> call;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    call = call_;
    changed_.SignalAll();
  }
  if (call != nullptr) CancelCall(*call);
  {
    absl::MutexLock lock(&mu_);
    while (alive_ > 0) changed_.Wait(&mu_);
  }
  watchdog_.join();
}

int UsageStream::streams_opened() const {
  absl::MutexLock lock(&mu_);
  return opened_;
}

void UsageStream::Send(v1::RecordUsageBatchRequest batch, UsageBatcher::Done done) {
  std::shared_ptr<Call> open, write;
  bool unary = false;
  {
    absl::MutexLock lock(&mu_);
    unary = mode_ == Mode::kUnary;
    if (!unary && !stopping_) {
      if (call_ == nullptr && absl::Now() >= reopen_at_) {
        call_ = std::make_shared<Call>(*this);
        open = call_;
        ++opened_;
        ++alive_;
      }
      if (call_ != nullptr) {
        queued_.push_back(Entry{std::move(batch), std::move(done)});
        if (TakeWrite(*call_)) write = call_;
        done = nullptr;
      }
    }
  }
  if (open != nullptr) open->Start(open);
  if (write != nullptr) Issue(std::move(write));
  if (done == nullptr) return;
  if (unary) return unary_(std::move(batch), std::move(done));
  done(std::move(batch), absl::UnavailableError("the usage stream to the vault is reconnecting"));
}

bool UsageStream::TakeWrite(Call& call) {
  if (call.write_state != Call::WriteState::kIdle || call.reads_ended || queued_.empty()) return false;
  Unanswered message;
  call.out_.Clear();
  const uint64_t sequence = next_sequence_++;
  call.out_.set_sequence(sequence);
  // Every batch waiting leaves now, as one message, within the vault's limit per batch.
  int records = 0;
  while (!queued_.empty() &&
         (message.entries.empty() ||
          records + queued_.front().batch.records_size() <= kMaxRecordsPerMessage)) {
    Entry& entry = queued_.front();
    records += entry.batch.records_size();
    call.out_.mutable_records()->MergeFrom(entry.batch.records());
    message.entries.push_back(std::move(entry));
    queued_.pop_front();
  }
  message.written_at = absl::Now();
  // The watchdog has a deadline to keep. Woken only when it waits without one: one already keeping an
  // earlier deadline sees this message when that deadline passes (a wake-up per message cost about
  // 1.5 context switches per relayed request).
  if (unanswered_.empty() && watchdog_idle_) changed_.SignalAll();
  unanswered_.emplace(sequence, std::move(message));
  call.write_state = Call::WriteState::kIssuing;
  return true;
}

void UsageStream::Issue(std::shared_ptr<Call> call) {
  for (;;) {
    call->Write();
    absl::MutexLock lock(&mu_);
    if (call->write_state == Call::WriteState::kIssuing) {
      call->write_state = Call::WriteState::kInFlight;  // OnWriteDone frees the buffer
      return;
    }
    // Answered already: the buffer is free now; the next write, if any, is this thread's.
    if (!AfterWrite(*call, call->write_ok)) return;
  }
}

bool UsageStream::AfterWrite(Call& call, bool ok) {
  call.write_state = Call::WriteState::kIdle;
  // A failed write means the stream broke: its reads end too, and OnEnded hands everything back.
  const bool next = ok && call_.get() == &call && TakeWrite(call);
  if (!next) MaybeRelease(call);
  return next;
}

void UsageStream::OnAnswer(Call& /*call*/, const v1::StreamUsageResponse& answer) {
  std::vector<Entry> entries;
  {
    absl::MutexLock lock(&mu_);
    auto it = unanswered_.find(answer.sequence());
    if (it == unanswered_.end()) return;  // not ours (the vault echoes what it read)
    entries = std::move(it->second.entries);
    unanswered_.erase(it);
    backoff_ = absl::ZeroDuration();
  }
  const absl::Status status =
      answer.error_code() == 0
          ? absl::OkStatus()
          : absl::Status(static_cast<absl::StatusCode>(answer.error_code()), answer.error_message());
  for (Entry& e : entries) e.done(std::move(e.batch), status);
}

void UsageStream::OnWritten(Call& call, bool ok) {
  std::shared_ptr<Call> write;
  {
    absl::MutexLock lock(&mu_);
    if (call.write_state == Call::WriteState::kIssuing) {
      // StartWrite has not returned yet: its thread frees the buffer (Issue).
      call.write_state = Call::WriteState::kIssuingAnswered;
      call.write_ok = ok;
      return;
    }
    if (AfterWrite(call, ok)) write = call_;
  }
  if (write != nullptr) Issue(std::move(write));
}

void UsageStream::OnReadsEnded(Call& call) {
  absl::MutexLock lock(&mu_);
  call.reads_ended = true;
  MaybeRelease(call);
}

void UsageStream::MaybeRelease(Call& call) {
  if (!call.reads_ended || call.write_state != Call::WriteState::kIdle || call.released) return;
  call.released = true;
  call.RemoveHold();  // OnDone follows (on another thread or inline: it takes no lock held here)
}

void UsageStream::CancelCall(Call& call) {
  {
    // Only while the call is held open: once the hold is gone the call may be over (and gRPC's
    // call object freed) before OnDone clears call_. The extra hold keeps it until TryCancel returns.
    absl::MutexLock lock(&mu_);
    if (call.released) return;
    call.AddHold();
  }
  call.Cancel();  // outside the lock: it may run reactions inline
  call.RemoveHold();
}

void UsageStream::OnEnded(Call& call, const absl::Status& status) {
  std::vector<Entry> entries;
  bool unimplemented = false;
  {
    absl::MutexLock lock(&mu_);
    if (call_.get() == &call) call_ = nullptr;
    for (auto& [sequence, message] : unanswered_) {
      for (Entry& e : message.entries) entries.push_back(std::move(e));
    }
    unanswered_.clear();
    for (Entry& e : queued_) entries.push_back(std::move(e));
    queued_.clear();
    unimplemented = status.code() == absl::StatusCode::kUnimplemented;
    if (unimplemented) {
      mode_ = Mode::kUnary;
      log::Info("relay", "the vault has no usage stream (an older vault): recording usage by RecordUsageBatch");
    } else if (!stopping_) {
      reopen_at_ = absl::Now() + backoff_;
      backoff_ = std::clamp(backoff_ * 2, kFirstBackoff, kMaxBackoff);
      log::Warn("relay", "the usage stream to the vault ended (will reopen): %s", status.message());
    }
    changed_.SignalAll();
  }
  if (unimplemented) {
    for (Entry& e : entries) unary_(std::move(e.batch), std::move(e.done));
  } else {
    // A refused caller: the batcher drops the batches, as it would the calls'. Any other end says
    // nothing about what was stored: the batches are queued again.
    const bool refused = absl::IsUnauthenticated(status) || absl::IsPermissionDenied(status);
    for (Entry& e : entries) e.done(std::move(e.batch), refused ? status : Broken());
  }
}

void UsageStream::CallGone() {
  absl::MutexLock lock(&mu_);
  --alive_;
  changed_.SignalAll();
}

void UsageStream::Watch() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    if (unanswered_.empty() || call_ == nullptr) {
      watchdog_idle_ = true;
      changed_.Wait(&mu_);
      watchdog_idle_ = false;
      continue;
    }
    const absl::Time due = unanswered_.begin()->second.written_at + answer_timeout_;
    if (absl::Now() < due) {
      changed_.WaitWithDeadline(&mu_, due);
      continue;
    }
    // The vault holds an answer too long: break the stream, so that its batches are handed back.
    std::shared_ptr<Call> late = call_;
    log::Warn("relay", "the vault did not answer a usage batch in time; reopening the usage stream");
    mu_.Unlock();
    CancelCall(*late);
    mu_.Lock();
    while (call_ == late) changed_.Wait(&mu_);
  }
}

}  // namespace byok::relay
