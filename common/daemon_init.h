// Process set-up shared by every daemon's main.
#ifndef BYOK_COMMON_DAEMON_INIT_H_
#define BYOK_COMMON_DAEMON_INIT_H_

namespace byok {

// Prepares a daemon process: blocks the shutdown signals (see shutdown.h) and turns off Abseil's
// mutex deadlock detection, which Debian's Abseil build leaves on and which costs every lock a graph
// update on the request path (seen in the benchmark's profile). Call first thing in main, before any
// thread exists.
void InitDaemonProcess();

}  // namespace byok

#endif  // BYOK_COMMON_DAEMON_INIT_H_
