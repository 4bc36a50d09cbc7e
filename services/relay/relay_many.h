// The bidirectional RelayMany RPC: many relayed requests over one long-lived stream (what the gateway
// uses), each a RelayExchange as a Relay call's, told apart by the caller's id. Pieces of any requests
// that are ready while a write is in flight leave together in the next message. Per request, a piece
// goes only while the caller's credit for it is above zero, so a slow browser stalls its own request
// and never the stream.
#ifndef BYOK_SERVICES_RELAY_RELAY_MANY_H_
#define BYOK_SERVICES_RELAY_RELAY_MANY_H_

#include <grpcpp/support/server_callback.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "byok/relay/v1/relay.pb.h"
#include "services/relay/relay_exchange.h"

namespace byok::relay {

class RelayManyReactor;

// The RelayMany streams open on a server, so shutdown can ask each to drain. Thread-safe.
class RelayManyStreams {
 public:
  void Add(RelayManyReactor* stream);
  void Remove(RelayManyReactor* stream);
  // Asks every open stream, and every later one, to send its caller `drain`.
  void DrainAll();

 private:
  absl::Mutex mu_;
  absl::flat_hash_set<RelayManyReactor*> streams_ ABSL_GUARDED_BY(mu_);
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
};

// One RelayMany stream. Deletes itself when gRPC is done with it, which is only after every request
// it started has ended and every usage record sent after its end was answered: the stream finishes
// once the caller has half-closed (or left) and nothing remains, so no exchange or record outlives it.
class RelayManyReactor final : public grpc::ServerBidiReactor<v1::RelayManyRequest, v1::RelayManyResponse> {
 public:
  // Requests running at once on one stream; a start past it ends at once with RESOURCE_EXHAUSTED.
  static constexpr size_t kMaxRequests = 20000;

  RelayManyReactor(const RelayDeps& deps, RelayManyStreams* streams);

  // Sends the caller `drain` (at once, or with the next message).
  void Drain();

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  class Exchange;
  // Where an exchange's last message is.
  enum class WriteState {
    kIdle,             // nothing given to SendMessage awaits its WriteDone
    kQueued,           // in the next message to write
    kWriting,          // in the message being written
    kAwaitingCredit,   // written; WriteDone waits for the caller's credit
  };
  // A message being built or written, and whose replies it carries (an exchange's message; ends
  // need nothing once queued).
  struct Batch {
    v1::RelayManyResponse message;
    std::vector<Exchange*> sent;
    size_t bytes = 0;  // about the message's size (bodies and a little per reply)
  };
  // A message is closed to more replies past this size: the next starts (so none nears gRPC's limit).
  static constexpr size_t kMaxBatchBytes = 4 * 1024 * 1024;
  // What to do with exchanges once the lock is released.
  struct Actions {
    std::vector<Exchange*> start;
    std::vector<Exchange*> write_done;        // WriteDone(true)
    std::vector<Exchange*> write_failed;      // WriteDone(false)
    std::vector<Exchange*> cancel;            // Cancelled()
    std::vector<Exchange*> destroy;
    bool write = false;                       // StartWrite(&writing_.message)
    bool finish = false;                      // Finish, OK or (the caller left) CANCELLED
    bool cancelled = false;
  };

  // Where a request's usage record is, for a caller that takes the end before it (end_before_usage).
  enum class Usage {
    kNone,     // no record, or the end waits for it
    kPending,  // the record is on its way to the vault; the end says usage_pending
    kStored,   // stored (or given up) before the end left: the end says nothing of it
  };

  // Exchange's transport (called outside the exchange's lock).
  void Send(Exchange* exchange, v1::RelayResponse* message, bool last);
  void End(Exchange* exchange, const grpc::Status& status, std::string allowed_models);
  // The exchange's record goes after its end: returns what runs once it is stored.
  std::function<void()> EndBeforeUsage(Exchange* exchange);
  // The record of request `id` is stored or given up: the caller is told (after the id's end).
  void UsageStored(uint64_t id);
  // The batch replies go into (a new one when the last is full).
  Batch& OpenBatch() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Puts `exchange` on an Actions list, pinned: it is not destroyed until Run has called into it.
  void Pin(std::vector<Exchange*>& list, Exchange* exchange) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // An exchange's pin (taken while Actions holds it) is released; it is destroyed when it had ended.
  void Unpin(Exchange* exchange, Actions& actions) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Applies one frame of the caller's.
  void Apply(v1::RelayFrame& frame, Actions& actions) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Moves the queued replies into the write, when none is in flight and some are queued.
  void MaybeWrite(Actions& actions) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Decides whether the stream finishes now (the caller half-closed or left, nothing remains).
  void MaybeFinish(Actions& actions) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The caller is gone: every request stops; writes that cannot happen fail.
  void Abandon(Actions& actions) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Run(Actions& actions);

  const RelayDeps deps_;
  RelayManyStreams* const streams_;

  v1::RelayManyRequest read_;  // gRPC's until OnReadDone

  absl::Mutex mu_;
  // Requests that have not ended, by the caller's id.
  absl::flat_hash_map<uint64_t, Exchange*> live_ ABSL_GUARDED_BY(mu_);
  // Exchanges not yet destroyed (ended ones may still be pinned): the stream finishes at zero.
  size_t exchanges_ ABSL_GUARDED_BY(mu_) = 0;
  // Usage records whose UsageStored has not run: the stream finishes at zero (it is called into).
  size_t usage_owed_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<Batch> queued_ ABSL_GUARDED_BY(mu_);
  Batch writing_ ABSL_GUARDED_BY(mu_);  // its message is gRPC's until OnWriteDone
  bool write_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  bool reading_ ABSL_GUARDED_BY(mu_) = true;      // a read is outstanding or being applied
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;  // the caller half-closed (or the stream broke)
  bool gone_ ABSL_GUARDED_BY(mu_) = false;        // the caller left: nothing more is written
  bool drain_ ABSL_GUARDED_BY(mu_) = false;       // `drain` is owed to the caller
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace byok::relay

#endif  // BYOK_SERVICES_RELAY_RELAY_MANY_H_
