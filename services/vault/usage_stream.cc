#include "services/vault/usage_stream.h"

#include <utility>
#include <vector>

#include "common/grpc_status.h"

namespace byok::vault {
namespace {

// Finishes at once with the caller's refusal (or with UNAVAILABLE after shutdown began).
class RefusedUsageStream final
    : public grpc::ServerBidiReactor<v1::StreamUsageRequest, v1::StreamUsageResponse> {
 public:
  explicit RefusedUsageStream(const absl::Status& status) {
    Finish(ToGrpcStatus(WithDefaultReason(status, kVaultDomain)));
  }
  void OnDone() override { delete this; }
};

v1::StreamUsageResponse Failed(uint64_t sequence, const absl::Status& status) {
  v1::StreamUsageResponse answer;
  answer.set_sequence(sequence);
  answer.set_error_code(static_cast<int32_t>(status.code()));
  answer.set_error_message(std::string(status.message()));
  return answer;
}

}  // namespace

grpc::ServerBidiReactor<v1::StreamUsageRequest, v1::StreamUsageResponse>* UsageStreams::Start(
    VaultCore& core, UsageCommit& usage, const absl::Status& refusal) {
  if (!refusal.ok()) return new RefusedUsageStream(refusal);
  UsageStreamReactor* stream = nullptr;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) {
      return new RefusedUsageStream(absl::UnavailableError("the vault is shutting down; reconnect"));
    }
    stream = new UsageStreamReactor(core, usage, *this);
    open_.insert(stream);
  }
  stream->Begin();
  return stream;
}

void UsageStreams::Close() {
  std::vector<UsageStreamReactor*> streams;
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    // Held before the lock is let go: a stream in the set cannot leave it (OnDone) meanwhile.
    for (UsageStreamReactor* s : open_) {
      s->Hold();
      streams.push_back(s);
    }
  }
  for (UsageStreamReactor* s : streams) {
    s->Close();
    s->Release();
  }
}

int UsageStreams::open() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(open_.size());
}

void UsageStreams::Remove(UsageStreamReactor* stream) {
  absl::MutexLock lock(&mu_);
  open_.erase(stream);
}

UsageStreamReactor::UsageStreamReactor(VaultCore& core, UsageCommit& usage, UsageStreams& streams)
    : core_(core), usage_(usage), streams_(streams) {}

void UsageStreamReactor::Begin() {
  Pump();
  Release();
}

void UsageStreamReactor::Hold() {
  absl::MutexLock lock(&mu_);
  ++holds_;
}

void UsageStreamReactor::OnReadDone(bool ok) {
  std::optional<v1::StreamUsageRequest> taken;
  {
    absl::MutexLock lock(&mu_);
    if (!ok) {
      // The relay half-closed (or left): answer what is committing, then finish.
      if (phase_ == Phase::kOpen) {
        phase_ = Phase::kDraining;
        drain_status_ = grpc::Status::OK;
      }
    } else if (phase_ == Phase::kOpen) {
      // Out of request_ and counted before the next read may start (from another thread's Pump).
      taken = std::move(request_);
      ++committing_;
    }
    // Else closing: the batch is not taken, so not answered (the relay sends it again).
    reading_ = false;
  }
  if (taken.has_value()) Take(*std::move(taken));
  Pump();
}

void UsageStreamReactor::Take(v1::StreamUsageRequest request) {
  const uint64_t sequence = request.sequence();
  v1::RecordUsageBatchRequest batch_request;
  batch_request.mutable_records()->Swap(request.mutable_records());
  absl::StatusOr<std::vector<UsageRecord>> records = core_.CheckUsageBatch(batch_request);
  if (!records.ok()) {
    absl::MutexLock lock(&mu_);
    --committing_;
    answers_.push_back(Failed(sequence, records.status()));
    return;
  }
  UsageCommit::Batch batch;
  batch.records = *std::move(records);
  batch.cancelled = [this] { return cancelled_.load(std::memory_order_relaxed); };
  // Runs once the shared transaction committed (or failed): the answer says what was stored.
  batch.done = [this, sequence](absl::StatusOr<int64_t> stored) {
    v1::StreamUsageResponse answer;
    if (stored.ok()) {
      answer.set_sequence(sequence);
      answer.set_recorded(static_cast<int32_t>(*stored));
    } else {
      answer = Failed(sequence, stored.status());
    }
    {
      absl::MutexLock lock(&mu_);
      --committing_;
      answers_.push_back(std::move(answer));
      // Once committing_ may be 0, OnDone on another thread could delete this: held until Release.
      ++holds_;
    }
    Pump();
    Release();
  };
  usage_.Add(std::move(batch));
}

void UsageStreamReactor::Pump() {
  for (;;) {
    bool read = false, write = false;
    std::optional<grpc::Status> finish;
    {
      absl::MutexLock lock(&mu_);
      const bool idle = write_ == Write::kIdle;
      if (phase_ == Phase::kDraining && committing_ == 0 && answers_.empty() && idle) {
        FinishWith(drain_status_);
      }
      if (phase_ == Phase::kFinished) {
        if (idle && !finish_started_ && finish_.has_value()) {
          finish_started_ = true;
          finish = finish_;
        }
      } else {
        if (idle && !answers_.empty()) {
          writing_message_ = std::move(answers_.front());
          answers_.pop_front();
          write_ = Write::kIssuing;
          write = true;
        }
        // Bounded: a batch counts from its read until its answer is written.
        const size_t held =
            static_cast<size_t>(committing_) + answers_.size() + (write_ == Write::kIdle ? 0 : 1);
        if (phase_ == Phase::kOpen && !reading_ &&
            held < static_cast<size_t>(UsageStreams::kMaxBatchesInFlight)) {
          reading_ = true;
          read = true;
        }
      }
    }
    if (read) StartRead(&request_);
    if (finish.has_value()) Finish(*finish);
    if (!write) return;
    StartWrite(&writing_message_);
    absl::MutexLock lock(&mu_);
    if (write_ == Write::kIssuing) {
      write_ = Write::kInFlight;  // OnWriteDone frees the buffer and pumps
      return;
    }
    WriteEnded(write_ok_);  // answered already: this thread pumps what is due next
  }
}

void UsageStreamReactor::WriteEnded(bool ok) {
  write_ = Write::kIdle;
  if (!ok) FinishWith(grpc::Status(grpc::StatusCode::CANCELLED, "the relay left"));
}

void UsageStreamReactor::FinishWith(grpc::Status status) {
  if (phase_ == Phase::kFinished) return;
  phase_ = Phase::kFinished;
  finish_ = std::move(status);
}

void UsageStreamReactor::OnWriteDone(bool ok) {
  {
    absl::MutexLock lock(&mu_);
    if (write_ == Write::kIssuing) {
      // StartWrite has not returned yet: its thread frees the buffer and pumps (Pump).
      write_ = Write::kIssuingAnswered;
      write_ok_ = ok;
      return;
    }
    WriteEnded(ok);
  }
  Pump();
}

void UsageStreamReactor::OnCancel() {
  cancelled_.store(true, std::memory_order_relaxed);
  {
    absl::MutexLock lock(&mu_);
    FinishWith(grpc::Status(grpc::StatusCode::CANCELLED, "the relay left"));
  }
  Pump();
}

void UsageStreamReactor::Close() {
  {
    absl::MutexLock lock(&mu_);
    if (phase_ != Phase::kOpen) return;
    phase_ = Phase::kDraining;
    drain_status_ = grpc::Status(grpc::StatusCode::UNAVAILABLE, "the vault is shutting down; reconnect");
  }
  Pump();
}

void UsageStreamReactor::OnDone() {
  streams_.Remove(this);
  {
    absl::MutexLock lock(&mu_);
    done_ = true;
  }
  ReleaseIfDone();
}

void UsageStreamReactor::ReleaseIfDone(bool release_hold) {
  {
    absl::MutexLock lock(&mu_);
    if (release_hold) --holds_;
    if (!done_ || committing_ > 0 || holds_ > 0 || released_) return;
    released_ = true;
  }
  delete this;
}

}  // namespace byok::vault
