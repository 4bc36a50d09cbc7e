// Which sanitizer instruments this build, as one spelling for GCC (__SANITIZE_*__) and clang
// (__has_feature): BYOK_ASAN and BYOK_TSAN are 1 or 0. Tests that measure memory or locked pages
// skip what a sanitizer's own allocator or interceptors make meaningless.
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#define BYOK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BYOK_ASAN 1
#endif
#endif
#ifndef BYOK_ASAN
#define BYOK_ASAN 0
#endif

#if defined(__SANITIZE_THREAD__)
#define BYOK_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define BYOK_TSAN 1
#endif
#endif
#ifndef BYOK_TSAN
#define BYOK_TSAN 0
#endif
