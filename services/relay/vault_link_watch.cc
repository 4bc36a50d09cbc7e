#include "services/relay/vault_link_watch.h"

#include <chrono>
#include <optional>
#include <utility>

#include "common/thread_name.h"

namespace byok::relay {
namespace {

// How long one wait for a state change lasts: bounds how long the destructor waits for the thread.
constexpr std::chrono::milliseconds kPollInterval{100};

}  // namespace

bool ChannelIsUsable(grpc_connectivity_state state) {
  return state == GRPC_CHANNEL_IDLE || state == GRPC_CHANNEL_CONNECTING || state == GRPC_CHANNEL_READY;
}

VaultLinkWatch::VaultLinkWatch(std::shared_ptr<grpc::Channel> channel,
                               std::function<void(bool usable)> report)
    : channel_(std::move(channel)),
      report_(std::move(report)),
      thread_(StartNamedThread("vault-link", [this] { Run(); })) {}

VaultLinkWatch::~VaultLinkWatch() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

bool VaultLinkWatch::Stopping() {
  absl::MutexLock lock(&mu_);
  return stopping_;
}

void VaultLinkWatch::Run() {
  std::optional<bool> reported;
  while (!Stopping()) {
    // try_to_connect: an IDLE channel (none yet, or the connection dropped) starts connecting, so a
    // vault that went away shows as TRANSIENT_FAILURE without waiting for a relayed request to fail.
    grpc_connectivity_state state = channel_->GetState(/*try_to_connect=*/true);
    bool usable = ChannelIsUsable(state);
    if (!reported.has_value() || *reported != usable) {
      report_(usable);
      reported = usable;
    }
    // Blocking here makes this thread one of gRPC's pollers (it also serves other calls' I/O, about 3 %
    // of the relay's samples when streaming). It is what notices a vault that went away: with a timed
    // sleep instead, nothing polls an idle channel's socket and its state stayed READY; with a
    // non-polling completion queue and NotifyOnStateChange, the link never showed usable.
    channel_->WaitForStateChange(state, std::chrono::system_clock::now() + kPollInterval);
  }
}

}  // namespace byok::relay
