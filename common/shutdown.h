// Graceful shutdown on SIGTERM and SIGINT, without async-signal handlers: the signals are blocked in
// every thread and one thread waits for them.
#ifndef BYOK_COMMON_SHUTDOWN_H_
#define BYOK_COMMON_SHUTDOWN_H_

namespace byok {

// Blocks SIGTERM, SIGINT and SIGPIPE in the calling thread and every thread it starts afterwards.
// Call first thing in main, before any thread exists.
void BlockShutdownSignals();

// Waits until SIGTERM or SIGINT arrives and returns its number.
int WaitForShutdownSignal();

}  // namespace byok

#endif  // BYOK_COMMON_SHUTDOWN_H_
