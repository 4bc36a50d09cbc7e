// The one logging wrapper: leveled, one line per event, to stderr. Never pass a secret (key, token,
// encryption secret) to it; log ids, providers, statuses and sizes instead.
#ifndef BYOK_COMMON_LOGGING_H_
#define BYOK_COMMON_LOGGING_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace byok::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };

// Parses LOG_LEVEL's value (debug, info, warn, error, off; case-insensitive).
absl::Status ParseLevel(absl::string_view text, Level* level);

// Sets the lowest level that is written. Thread-safe.
void SetLevel(Level level);

// Returns true when `level` would be written.
bool Enabled(Level level);

// Writes one line: time, level, component and message. Thread-safe.
void Write(Level level, absl::string_view component, absl::string_view message);

template <typename... Args>
void Debug(absl::string_view component, const absl::FormatSpec<Args...>& format,
           const Args&... args) {
  if (Enabled(Level::kDebug)) Write(Level::kDebug, component, absl::StrFormat(format, args...));
}
template <typename... Args>
void Info(absl::string_view component, const absl::FormatSpec<Args...>& format,
          const Args&... args) {
  if (Enabled(Level::kInfo)) Write(Level::kInfo, component, absl::StrFormat(format, args...));
}
template <typename... Args>
void Warn(absl::string_view component, const absl::FormatSpec<Args...>& format,
          const Args&... args) {
  if (Enabled(Level::kWarn)) Write(Level::kWarn, component, absl::StrFormat(format, args...));
}
template <typename... Args>
void Error(absl::string_view component, const absl::FormatSpec<Args...>& format,
           const Args&... args) {
  if (Enabled(Level::kError)) Write(Level::kError, component, absl::StrFormat(format, args...));
}

}  // namespace byok::log

#endif  // BYOK_COMMON_LOGGING_H_
