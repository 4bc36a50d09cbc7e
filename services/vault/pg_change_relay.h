// Carries the change feed across vault replicas that share one PostgreSQL: each change made through
// this replica is published with NOTIFY, and a dedicated connection LISTENs for the changes made
// through the others and hands them to the local ChangeFeed. While that connection is down the feed
// is not live (its subscribers get KIND_RESET and resubscribe once it is back), so no subscriber
// believes it hears every change while it cannot.
#ifndef BYOK_SERVICES_VAULT_PG_CHANGE_RELAY_H_
#define BYOK_SERVICES_VAULT_PG_CHANGE_RELAY_H_

#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "byok/vault/v1/vault.pb.h"
#include "services/vault/change_feed.h"
#include "services/vault/key_events.h"
#include "services/vault/pg_connection.h"

namespace byok::vault {

// The NOTIFY channel every replica listens on.
inline constexpr char kChangeChannel[] = "byok_key_changes";

// The NOTIFY payload of `change` from replica `origin`, and back. Parse refuses anything malformed
// or oversized (anyone who can connect to the database can NOTIFY).
std::string ChangePayload(absl::string_view origin, const v1::WatchKeyChangesResponse& change);
struct ParsedChange {
  std::string origin;
  v1::WatchKeyChangesResponse change;
};
std::optional<ParsedChange> ParseChangePayload(absl::string_view payload);

// A KeyEventSink (register it on VaultCore beside the ChangeFeed). Thread-safe.
class PgChangeRelay final : public KeyEventSink {
 public:
  // Starts listening on `url` for `feed`, which must have been created not live; it becomes live
  // once LISTEN is in place. `feed` outlives this.
  PgChangeRelay(std::string url, ChangeFeed& feed);
  PgChangeRelay(const PgChangeRelay&) = delete;
  PgChangeRelay& operator=(const PgChangeRelay&) = delete;
  // Stops listening and joins the thread.
  ~PgChangeRelay() override;

  // Publishes the change `event` makes (if any) to the other replicas, before the call that made it
  // returns to its caller.
  void OnKeyEvent(const KeyEvent& event) override;

 private:
  void Listen();
  // Waits up to `d`; false once stopping.
  bool WaitUnlessStopping(absl::Duration d);
  absl::Status Publish(const std::string& payload) ABSL_EXCLUSIVE_LOCKS_REQUIRED(publish_mu_);

  const std::string url_;
  const std::string origin_;  // this replica, so its own notifications are skipped
  ChangeFeed& feed_;
  int wake_[2] = {-1, -1};  // a pipe: the destructor writes to end the listener's poll

  absl::Mutex publish_mu_;
  std::unique_ptr<PgConnection> publisher_ ABSL_GUARDED_BY(publish_mu_);

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_PG_CHANGE_RELAY_H_
