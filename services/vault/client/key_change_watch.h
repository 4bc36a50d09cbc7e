// The client side of Vault.WatchKeyChanges, shared by every cache of vault answers (the relay's
// resolved keys, the gateway's verified tokens): keeps one subscription open, reconnecting with
// backoff, and tells a listener when it is live, what changed, and when it broke.
#ifndef BYOK_SERVICES_VAULT_CLIENT_KEY_CHANGE_WATCH_H_
#define BYOK_SERVICES_VAULT_CLIENT_KEY_CHANGE_WATCH_H_

#include <grpcpp/channel.h>

#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "byok/vault/v1/vault.grpc.pb.h"

namespace byok::vault {

// What a cache does with the subscription. Calls come one at a time, in stream order.
class KeyChangeListener {
 public:
  virtual ~KeyChangeListener() = default;
  // The subscription is live (KIND_SUBSCRIBED): drop what was kept before; keeping may start.
  virtual void OnSubscribed() = 0;
  // A change (KIND_KEY_CHANGED, KIND_USER_CHANGED, KIND_RESET, or a kind this build does not know,
  // which the listener treats as a reset).
  virtual void OnChange(const v1::WatchKeyChangesResponse& change) = 0;
  // The subscription ended: drop everything and keep nothing until OnSubscribed.
  virtual void OnUnsubscribed() = 0;
};

struct KeyChangeWatchOptions {
  absl::Duration first_retry = absl::Milliseconds(100);
  absl::Duration last_retry = absl::Seconds(5);
  // Names the watching service in the log line said when the vault refuses it.
  std::string who = "relay";
};

// Subscribes on a thread of its own through `channel` (which carries the caller's service
// identity) and reports to `listener`, which must outlive it. Thread-safe.
class KeyChangeWatch {
 public:
  KeyChangeWatch(std::shared_ptr<grpc::Channel> channel, KeyChangeListener& listener,
                 KeyChangeWatchOptions options = {});
  KeyChangeWatch(const KeyChangeWatch&) = delete;
  KeyChangeWatch& operator=(const KeyChangeWatch&) = delete;
  // Ends the subscription (the listener hears OnUnsubscribed) and joins the thread.
  ~KeyChangeWatch();

  // Subscriptions that reached KIND_SUBSCRIBED so far (for tests and logs).
  int subscriptions();

 private:
  class Reader;
  void Run();
  bool WaitUnlessStopping(absl::Duration d);

  std::unique_ptr<v1::Vault::Stub> stub_;
  KeyChangeListener& listener_;
  const KeyChangeWatchOptions options_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  Reader* reader_ ABSL_GUARDED_BY(mu_) = nullptr;
  int subscriptions_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_CLIENT_KEY_CHANGE_WATCH_H_
