// ThreadSanitizer build only. Debian's Abseil is not built with TSan, so its Mutex, CondVar and
// Notification are invisible to it: every value our code guards with an absl::Mutex would be reported
// as a race. The linker (--wrap, see tsan.cmake) sends our code's calls to these functions here; each
// calls the real function and tells TSan the happens-before edge it creates (release before unlocking
// or notifying, acquire after locking or waking). Calls made inside Abseil, gRPC or protobuf are not
// redirected: what those libraries synchronise internally stays invisible (docs/security.md).
#include <sanitizer/tsan_interface.h>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

using absl::CondVar;
using absl::Condition;
using absl::Duration;
using absl::Mutex;
using absl::Notification;
using absl::Time;

// The real functions (the linker names them __real_<symbol>) and the wrappers (__wrap_<symbol>), by
// their mangled names in Debian's Abseil (inline namespace absl::debian3). A member function takes
// `this` as its first argument.
#define BYOK_SYM(name) _ZN4absl7debian3##name
#define BYOK_CSYM(name) _ZNK4absl7debian3##name

#define BYOK_REAL(sym) __real_##sym
#define BYOK_WRAP(sym) __wrap_##sym

namespace {
void Acquire(const void* p) { __tsan_acquire(const_cast<void*>(p)); }
void Release(const void* p) { __tsan_release(const_cast<void*>(p)); }
}  // namespace

// Declares the real function and defines its wrapper. `before` and `after` run around the call.
#define BYOK_WRAP_VOID(sym, params, args, before, after) \
  extern "C" void BYOK_REAL(sym) params;                   \
  extern "C" void BYOK_WRAP(sym) params {                  \
    before;                                                \
    BYOK_REAL(sym) args;                                   \
    after;                                                 \
  }
#define BYOK_WRAP_BOOL(sym, params, args, before, after) \
  extern "C" bool BYOK_REAL(sym) params;                   \
  extern "C" bool BYOK_WRAP(sym) params {                  \
    before;                                                \
    bool result = BYOK_REAL(sym) args;                     \
    after;                                                 \
    return result;                                         \
  }

// Mutex: lock and unlock.
BYOK_WRAP_VOID(BYOK_SYM(5Mutex4LockEv), (Mutex * mu), (mu), , Acquire(mu))
BYOK_WRAP_VOID(BYOK_SYM(5Mutex10ReaderLockEv), (Mutex * mu), (mu), , Acquire(mu))
BYOK_WRAP_VOID(BYOK_SYM(5Mutex6UnlockEv), (Mutex * mu), (mu), Release(mu), )
BYOK_WRAP_VOID(BYOK_SYM(5Mutex12ReaderUnlockEv), (Mutex * mu), (mu), Release(mu), )
BYOK_WRAP_BOOL(BYOK_SYM(5Mutex7TryLockEv), (Mutex * mu), (mu), , if (result) Acquire(mu))
BYOK_WRAP_BOOL(BYOK_SYM(5Mutex13ReaderTryLockEv), (Mutex * mu), (mu), , if (result) Acquire(mu))

// Mutex: lock when a condition holds (the lock is held on return, even after a timeout).
BYOK_WRAP_VOID(BYOK_SYM(5Mutex8LockWhenERKNS0_9ConditionE), (Mutex * mu, const Condition& c), (mu, c), ,
               Acquire(mu))
BYOK_WRAP_VOID(BYOK_SYM(5Mutex14ReaderLockWhenERKNS0_9ConditionE), (Mutex * mu, const Condition& c),
               (mu, c), , Acquire(mu))
BYOK_WRAP_BOOL(BYOK_SYM(5Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE),
               (Mutex * mu, const Condition& c, Duration d), (mu, c, d), , Acquire(mu))
BYOK_WRAP_BOOL(BYOK_SYM(5Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE),
               (Mutex * mu, const Condition& c, Time t), (mu, c, t), , Acquire(mu))
BYOK_WRAP_BOOL(BYOK_SYM(5Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE),
               (Mutex * mu, const Condition& c, Duration d), (mu, c, d), , Acquire(mu))
BYOK_WRAP_BOOL(BYOK_SYM(5Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE),
               (Mutex * mu, const Condition& c, Time t), (mu, c, t), , Acquire(mu))

// Mutex: await (releases the lock while waiting, holds it again on return).
BYOK_WRAP_VOID(BYOK_SYM(5Mutex5AwaitERKNS0_9ConditionE), (Mutex * mu, const Condition& c), (mu, c),
               Release(mu), Acquire(mu))
BYOK_WRAP_BOOL(BYOK_SYM(5Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE),
               (Mutex * mu, const Condition& c, Duration d), (mu, c, d), Release(mu), Acquire(mu))
BYOK_WRAP_BOOL(BYOK_SYM(5Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE),
               (Mutex * mu, const Condition& c, Time t), (mu, c, t), Release(mu), Acquire(mu))

// CondVar: waiting releases the mutex and takes it again.
BYOK_WRAP_VOID(BYOK_SYM(7CondVar4WaitEPNS0_5MutexE), (CondVar * cv, Mutex* mu), (cv, mu), Release(mu),
               Acquire(mu))
BYOK_WRAP_BOOL(BYOK_SYM(7CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE),
               (CondVar * cv, Mutex* mu, Duration d), (cv, mu, d), Release(mu), Acquire(mu))
BYOK_WRAP_BOOL(BYOK_SYM(7CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE),
               (CondVar * cv, Mutex* mu, Time t), (cv, mu, t), Release(mu), Acquire(mu))

// Notification: what happened before Notify is seen after a wait returns.
BYOK_WRAP_VOID(BYOK_SYM(12Notification6NotifyEv), (Notification * n), (n), Release(n), )
BYOK_WRAP_VOID(BYOK_CSYM(12Notification19WaitForNotificationEv), (const Notification* n), (n), ,
               Acquire(n))
BYOK_WRAP_BOOL(BYOK_CSYM(12Notification30WaitForNotificationWithTimeoutENS0_8DurationE),
               (const Notification* n, Duration d), (n, d), , if (result) Acquire(n))
BYOK_WRAP_BOOL(BYOK_CSYM(12Notification31WaitForNotificationWithDeadlineENS0_4TimeE),
               (const Notification* n, Time t), (n, t), , if (result) Acquire(n))
