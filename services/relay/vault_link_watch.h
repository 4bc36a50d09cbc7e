// Keeps the relay's health truthful about its link to the vault: a relay whose vault channel is in
// TRANSIENT_FAILURE (the vault down, or back but not yet reconnected) cannot serve a relayed request,
// so its health says NOT_SERVING until the channel is usable again.
#ifndef BYOK_SERVICES_RELAY_VAULT_LINK_WATCH_H_
#define BYOK_SERVICES_RELAY_VAULT_LINK_WATCH_H_

#include <grpcpp/channel.h>

#include <functional>
#include <memory>
#include <thread>

#include "absl/synchronization/mutex.h"

namespace byok::relay {

// True when a channel in `state` can carry a call now or after a connect attempt: IDLE, CONNECTING
// and READY. gRPC keeps a channel in TRANSIENT_FAILURE through its reconnect attempts until one
// succeeds, so that state covers every moment calls would fail.
bool ChannelIsUsable(grpc_connectivity_state state);

// Watches `channel` on a thread of its own and calls `report(usable)` once at start and on every
// change of usability. Keeps the channel connected (an IDLE channel is asked to connect) so the state
// it reports follows the vault and not the last call. Stops and joins in the destructor; `report` is
// not called after that.
class VaultLinkWatch {
 public:
  VaultLinkWatch(std::shared_ptr<grpc::Channel> channel, std::function<void(bool usable)> report);
  VaultLinkWatch(const VaultLinkWatch&) = delete;
  VaultLinkWatch& operator=(const VaultLinkWatch&) = delete;
  ~VaultLinkWatch();

 private:
  void Run();
  bool Stopping();

  std::shared_ptr<grpc::Channel> channel_;
  std::function<void(bool)> report_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace byok::relay

#endif  // BYOK_SERVICES_RELAY_VAULT_LINK_WATCH_H_
