// The server side of Vault.StreamUsage: one bidi reactor per relay stream. Each batch read is checked
// (VaultCore::CheckUsageBatch) and queued on UsageCommit, so batches of every stream and of unary
// RecordUsageBatch calls that wait together share one transaction; its answer is queued once that
// transaction committed, and written one at a time. Reading goes on while batches commit, up to
// kMaxBatchesInFlight per stream; then the reactor stops reading until answers are written.
#ifndef BYOK_SERVICES_VAULT_USAGE_STREAM_H_
#define BYOK_SERVICES_VAULT_USAGE_STREAM_H_

#include <grpcpp/support/server_callback.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <optional>
#include <set>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "byok/vault/v1/vault.pb.h"
#include "services/vault/usage_commit.h"
#include "services/vault/vault_core.h"

namespace byok::vault {

class UsageStreamReactor;

// The open StreamUsage streams of one service, so that shutdown can end them (a relay's stream never
// ends by itself). Thread-safe.
class UsageStreams {
 public:
  // Batches one stream holds unanswered at most (read, committing, or answer not yet written).
  static constexpr int kMaxBatchesInFlight = 64;

  UsageStreams() = default;
  UsageStreams(const UsageStreams&) = delete;
  UsageStreams& operator=(const UsageStreams&) = delete;

  // Returns the reactor for a new stream: one that only finishes with `refusal` when it is not OK
  // or the streams are closed (UNAVAILABLE), else a UsageStreamReactor storing through `core` and
  // `usage` (which outlive every stream).
  grpc::ServerBidiReactor<v1::StreamUsageRequest, v1::StreamUsageResponse>* Start(
      VaultCore& core, UsageCommit& usage, const absl::Status& refusal);

  // Ends every open stream and refuses new ones: each stops taking batches, writes the answers of
  // those already committing, and finishes with UNAVAILABLE (the relay reconnects, elsewhere or
  // later). Idempotent.
  void Close();

  // Streams open now (for the byok_vault_usage_streams gauge and tests).
  int open() const;

 private:
  friend class UsageStreamReactor;
  void Remove(UsageStreamReactor* stream);

  mutable absl::Mutex mu_;
  std::set<UsageStreamReactor*> open_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

// Deletes itself once gRPC is done with it (OnDone) and no batch of it is still committing (their
// answers refer to it). gRPC's reactions, UsageCommit's answers (on store threads) and Close may run
// at once; `mu_` orders them, and gRPC is called outside it.
class UsageStreamReactor final
    : public grpc::ServerBidiReactor<v1::StreamUsageRequest, v1::StreamUsageResponse> {
 public:
  UsageStreamReactor(VaultCore& core, UsageCommit& usage, UsageStreams& streams);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

  // Starts reading, then lets go of the creator's hold (UsageStreams::Start).
  void Begin();
  // Stops taking batches; finishes with UNAVAILABLE once the batches committing are answered.
  void Close();
  // Keeps this alive outside the streams' lock (Close) until Release.
  void Hold();
  void Release() { ReleaseIfDone(/*release_hold=*/true); }

 private:
  // Where the stream is. Open: batches are read. Draining: no more batches are taken (the relay
  // half-closed, or shutdown); the stream finishes once every answer is written. Finished: Finish
  // was called (or is due after the write in flight); nothing more is written.
  enum class Phase { kOpen, kDraining, kFinished };

  // One batch read (counted in committing_ already): checked and queued for the shared
  // transaction, or answered at once.
  void Take(v1::StreamUsageRequest request);
  // Starts what is due (the next write, the next read, or Finish), outside the lock.
  void Pump();
  // A write finished: the buffer is free; a failed write finishes the stream.
  void WriteEnded(bool ok) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FinishWith(grpc::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Deletes this when gRPC is done with it and no answer is still to come.
  void ReleaseIfDone(bool release_hold = false) ABSL_LOCKS_EXCLUDED(mu_);

  VaultCore& core_;
  UsageCommit& usage_;
  UsageStreams& streams_;
  std::atomic<bool> cancelled_{false};  // read by UsageCommit at its flush

  absl::Mutex mu_;
  Phase phase_ ABSL_GUARDED_BY(mu_) = Phase::kOpen;
  bool reading_ ABSL_GUARDED_BY(mu_) = false;  // a read is outstanding
  // The answer buffer's owner. gRPC reads writing_message_ inside StartWrite and may answer
  // (OnWriteDone, another thread) before StartWrite returns: the buffer is free once both happened,
  // each recorded under mu_, so its next filling is ordered after gRPC's read by the lock.
  enum class Write { kIdle, kIssuing, kIssuingAnswered, kInFlight };
  Write write_ ABSL_GUARDED_BY(mu_) = Write::kIdle;
  bool write_ok_ ABSL_GUARDED_BY(mu_) = true;  // OnWriteDone's result, kept in kIssuingAnswered
  // Finish is due but waits for the write in flight (never Finish under a write).
  std::optional<grpc::Status> finish_ ABSL_GUARDED_BY(mu_);
  bool finish_started_ ABSL_GUARDED_BY(mu_) = false;
  // How the stream finishes once drained: OK after the relay's half-close, UNAVAILABLE at shutdown.
  grpc::Status drain_status_ ABSL_GUARDED_BY(mu_);
  int committing_ ABSL_GUARDED_BY(mu_) = 0;  // batches read and not yet answered (queued or checking)
  std::deque<v1::StreamUsageResponse> answers_ ABSL_GUARDED_BY(mu_);  // to be written, in order
  bool done_ ABSL_GUARDED_BY(mu_) = false;  // OnDone ran
  // Callers using this outside gRPC's reactions: the creator until Begin returns, Close, and an
  // answer's callback while it pumps.
  int holds_ ABSL_GUARDED_BY(mu_) = 1;
  bool released_ ABSL_GUARDED_BY(mu_) = false;  // deletion decided (exactly once)

  // gRPC borrows these until OnReadDone / OnWriteDone.
  v1::StreamUsageRequest request_;
  v1::StreamUsageResponse writing_message_;
};

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_USAGE_STREAM_H_
