#include "common/daemon_init.h"

#include "absl/synchronization/mutex.h"
#include "common/shutdown.h"

namespace byok {

void InitDaemonProcess() {
  BlockShutdownSignals();
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

}  // namespace byok
