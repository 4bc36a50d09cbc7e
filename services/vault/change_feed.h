// The vault's change feed: turns each key event (key_events.h) that makes a cached key or verified
// token stale into a WatchKeyChanges message and hands it to every subscriber, each through a bounded
// queue of its own. A subscriber that falls behind gets KIND_RESET (drop everything) instead of a
// silent gap.
#ifndef BYOK_SERVICES_VAULT_CHANGE_FEED_H_
#define BYOK_SERVICES_VAULT_CHANGE_FEED_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "byok/vault/v1/vault.pb.h"
#include "services/vault/key_events.h"

namespace byok::vault {

// Returns the change `event` announces to caches, or nothing (a registration, a resolution, a
// failed call that changed nothing). Key stored/rotated/deleted/rewrapped: KIND_KEY_CHANGED; token
// revoked or user deleted: KIND_USER_CHANGED; users purged: KIND_RESET. A failure whose write may
// still have happened (the store unreachable mid-call) counts as a change: a needless invalidation
// costs one vault call, a missed one would keep a stale key.
std::optional<v1::WatchKeyChangesResponse> ChangeFor(const KeyEvent& event);

// One subscriber's queue. Thread-safe.
class ChangeSubscription {
 public:
  // `wake` runs (on the thread that queued) whenever a message is queued or the subscription closes.
  ChangeSubscription(size_t limit, std::function<void()> wake);

  // Takes the oldest queued message, or nothing when the queue is empty.
  std::optional<v1::WatchKeyChangesResponse> Next();
  // True once the feed closed this subscription and every queued message was taken.
  bool Ended();
  // Stops `wake` from being called; returns once no call of it is running.
  void Detach();

 private:
  friend class ChangeFeed;
  void Push(const v1::WatchKeyChangesResponse& change);
  void Close();
  void Wake();

  const size_t limit_;
  absl::Mutex mu_;
  std::deque<v1::WatchKeyChangesResponse> queue_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  // Held while `wake_` runs, so Detach from another thread waits for it. Recursive: a wake may finish
  // the stream, and gRPC may then run the reactor's OnDone (which detaches) inline on this thread.
  std::recursive_mutex wake_mu_;
  std::function<void()> wake_;  // guarded by wake_mu_
};

// Fans changes out to every subscription. Thread-safe. Registered as a KeyEventSink on VaultCore
// (local changes); on PostgreSQL, PgChangeRelay also publishes changes from other replicas into it
// and says whether it can hear them (SetLive).
class ChangeFeed final : public KeyEventSink {
 public:
  // Each subscription queues at most `queue_limit` messages before it is reset. `live`: whether
  // every change is heard from the start (false on PostgreSQL until the LISTEN connection is up).
  explicit ChangeFeed(size_t queue_limit = 1024, bool live = true);

  // Opens a subscription whose first message is KIND_SUBSCRIBED, or returns null while the feed is
  // closed or not live (the caller answers UNAVAILABLE).
  std::shared_ptr<ChangeSubscription> Subscribe(std::function<void()> wake);
  // Forgets `subscription` (its stream ended) and detaches its wake callback.
  void Unsubscribe(const std::shared_ptr<ChangeSubscription>& subscription);

  void OnKeyEvent(const KeyEvent& event) override;
  // Sends `change` to every subscription.
  void Publish(const v1::WatchKeyChangesResponse& change);
  // Live: subscriptions may open. Not live (changes may be missed): every open subscription gets
  // KIND_RESET and ends, and new ones are refused until live again.
  void SetLive(bool live);
  // Ends every subscription and refuses new ones for good (server shutdown).
  void Close();

  size_t subscribers();

 private:
  void EndAll(bool for_good);

  const size_t queue_limit_;
  absl::Mutex mu_;
  bool live_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_set<std::shared_ptr<ChangeSubscription>> subscriptions_ ABSL_GUARDED_BY(mu_);
};

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_CHANGE_FEED_H_
