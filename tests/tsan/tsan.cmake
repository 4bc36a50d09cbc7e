# Included by the top-level CMakeLists.txt when BYOK_TSAN is on: every executable links the Abseil
# synchronisation annotations (absl_sync_annotations.cc), and the linker sends our calls to the wrapped
# Abseil functions there.
add_library(byok_tsan_sync STATIC ${CMAKE_CURRENT_LIST_DIR}/absl_sync_annotations.cc)
target_link_libraries(byok_tsan_sync PUBLIC absl::synchronization absl::time)

set(_byok_wrapped
  _ZN4absl7debian35Mutex4LockEv
  _ZN4absl7debian35Mutex10ReaderLockEv
  _ZN4absl7debian35Mutex6UnlockEv
  _ZN4absl7debian35Mutex12ReaderUnlockEv
  _ZN4absl7debian35Mutex7TryLockEv
  _ZN4absl7debian35Mutex13ReaderTryLockEv
  _ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE
  _ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE
  _ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE
  _ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE
  _ZN4absl7debian35Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE
  _ZN4absl7debian35Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE
  _ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE
  _ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE
  _ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE
  _ZN4absl7debian37CondVar4WaitEPNS0_5MutexE
  _ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE
  _ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE
  _ZN4absl7debian312Notification6NotifyEv
  _ZNK4absl7debian312Notification19WaitForNotificationEv
  _ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE
  _ZNK4absl7debian312Notification31WaitForNotificationWithDeadlineENS0_4TimeE
)
# --undefined: the wrappers are wanted from the start of every link, not only once one of our objects
# has called a wrapped function. Abseil's own shared libraries call them too (libabsl_cordz_info locks a
# Mutex), and they come after every static library on the link line: without it an executable whose
# own code takes no Abseil lock (http_test) never pulls the wrappers out of the archive, and its link
# fails on the shared libraries' references to __wrap_...
foreach(sym ${_byok_wrapped})
  add_link_options(LINKER:--wrap=${sym} LINKER:--undefined=__wrap_${sym})
endforeach()
# Every target made after this point links the annotations.
link_libraries(byok_tsan_sync)
