// The relay's end of Vault.StreamUsage: the UsageBatcher's sender, over one long-lived stream per
// VaultClient instead of a RecordUsageBatch call per batch. A batch handed over is written at once
// when no write is outstanding; batches handed over meanwhile leave together, as one message, with the
// next write. Several messages may await their answers (matched by sequence); each batch's `done` runs
// when its message is answered. The stream opens on first use and again after it broke (at most once
// per backoff, 100 ms doubling to 5 s, reset by an answer). When it breaks, every batch not answered
// is handed back UNAVAILABLE (the batcher queues it again: a batch the vault stored without its answer
// arriving is then stored twice). A vault that answers UNIMPLEMENTED (an older one) is called with
// RecordUsageBatch from then on, for good.
#ifndef BYOK_SERVICES_RELAY_USAGE_STREAM_H_
#define BYOK_SERVICES_RELAY_USAGE_STREAM_H_

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "byok/vault/v1/vault.grpc.pb.h"
#include "services/relay/usage_batcher.h"

namespace byok::relay {

// Thread-safe. Owns one thread (the answer watchdog).
class UsageStream {
 public:
  // Batches one message carries at most: the vault's limit per batch, in records.
  static constexpr int kMaxRecordsPerMessage = 1000;

  // Streams over `stub`; a message unanswered for `answer_timeout` breaks the stream (its batches are
  // handed back UNAVAILABLE). After UNIMPLEMENTED, batches go to `unary` (RecordUsageBatch).
  UsageStream(std::shared_ptr<vault::v1::Vault::Stub> stub, absl::Duration answer_timeout,
              UsageBatcher::SendFn unary);
  UsageStream(const UsageStream&) = delete;
  UsageStream& operator=(const UsageStream&) = delete;
  // Cancels the open stream and waits for it to end (its batches are handed back UNAVAILABLE). The
  // batcher using it is drained first.
  ~UsageStream();

  // UsageBatcher's SendFn: `done` runs exactly once, when the batch is answered or handed back.
  void Send(vault::v1::RecordUsageBatchRequest batch, UsageBatcher::Done done);

  // Streams opened so far (for tests).
  int streams_opened() const;

 private:
  class Call;
  friend class Call;
  // Where batches go: over the stream, or (after UNIMPLEMENTED) by RecordUsageBatch, for good.
  enum class Mode { kStream, kUnary };
  struct Entry {
    vault::v1::RecordUsageBatchRequest batch;
    UsageBatcher::Done done;
  };
  struct Unanswered {
    std::vector<Entry> entries;
    absl::Time written_at;
  };

  // Fills `call`'s next message when its buffer is free and batches wait; true if it did.
  bool TakeWrite(Call& call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes the message TakeWrite filled, and the next ones while the writes finish before this returns.
  void Issue(std::shared_ptr<Call> call) ABSL_LOCKS_EXCLUDED(mu_);
  // A write finished (`ok`: it went out): takes the next one if it may. True if one was taken.
  bool AfterWrite(Call& call, bool ok) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The Call's reactions.
  void OnAnswer(Call& call, const vault::v1::StreamUsageResponse& answer);
  void OnWritten(Call& call, bool ok);
  void OnReadsEnded(Call& call);
  void OnEnded(Call& call, const absl::Status& status);
  // The call's object is gone: the destructor may return once every call's is.
  void CallGone();
  // Releases the call's hold once its reads ended and no write is outstanding (then OnDone may run).
  void MaybeRelease(Call& call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Cancels `call` if it is still held open (the destructor, the watchdog).
  void CancelCall(Call& call) ABSL_LOCKS_EXCLUDED(mu_);
  void Watch();

  const std::shared_ptr<vault::v1::Vault::Stub> stub_;
  const absl::Duration answer_timeout_;
  const UsageBatcher::SendFn unary_;

  mutable absl::Mutex mu_;
  absl::CondVar changed_;
  Mode mode_ ABSL_GUARDED_BY(mu_) = Mode::kStream;
  std::shared_ptr<Call> call_ ABSL_GUARDED_BY(mu_);  // the open stream; null when none
  std::deque<Entry> queued_ ABSL_GUARDED_BY(mu_);    // handed over, not yet written
  std::map<uint64_t, Unanswered> unanswered_ ABSL_GUARDED_BY(mu_);  // written, by sequence
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_) = 1;
  absl::Time reopen_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Duration backoff_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
  int opened_ ABSL_GUARDED_BY(mu_) = 0;
  int alive_ ABSL_GUARDED_BY(mu_) = 0;  // calls whose object may still exist (until CallGone)
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // The watchdog waits with no deadline (nothing unanswered): a first unanswered message must wake it.
  bool watchdog_idle_ ABSL_GUARDED_BY(mu_) = false;
  std::thread watchdog_;
};

}  // namespace byok::relay

#endif  // BYOK_SERVICES_RELAY_USAGE_STREAM_H_
