// The one logging wrapper: leveled, one line per event, to stderr. Never pass a secret (key, token,
// encryption secret) to it; log ids, providers, statuses and sizes instead.
//
// Messages often quote what came from the network (a provider name, a path, a peer's error text).
// Write escapes the component and the whole message, so no caller can forge a line or write raw
// control bytes: one event is always exactly one line of printable text.
#ifndef BYOK_COMMON_LOGGING_H_
#define BYOK_COMMON_LOGGING_H_

#include <initializer_list>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace byok::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };

// How lines are written (LOG_FORMAT): text (the default) or one JSON object per line with time, level,
// service, message, request_id, trace_id and fields. Both forms hold the same escaped values.
enum class Format { kText = 0, kJson = 1 };

// Parses LOG_FORMAT's value (text, json; case-insensitive).
absl::Status ParseFormat(absl::string_view text, Format* format);

// Sets the format. Call before other threads log.
void SetFormat(Format format);

// Parses LOG_LEVEL's value (debug, info, warn, error, off; case-insensitive).
absl::Status ParseLevel(absl::string_view text, Level* level);

// Sets the lowest level that is written. Thread-safe.
void SetLevel(Level level);

// Returns true when `level` would be written.
bool Enabled(Level level);

// Returns `text` with every byte that could break a log line escaped: CR, LF, TAB as \r \n \t, other
// control bytes (NUL included), DEL, bytes that are not part of well-formed UTF-8, and the C1 controls,
// line separators and bidirectional overrides of Unicode as \xNN per byte, and the
// backslash itself as \\ (so an escape in the output always means an escaped byte). Well-formed UTF-8
// and printable ASCII pass unchanged.
std::string EscapeForLog(absl::string_view text);

// A named value added to a line (an access log's route, status, duration).
struct Field {
  absl::string_view name;
  std::string value;
};

// Writes one line: time, level, component (JSON: "service") and message, the request and trace ids of
// the current request context (request_context.h) when there is one, and `fields`; every name and
// value escaped with EscapeForLog (in JSON, then JSON-quoted). Thread-safe.
void Write(Level level, absl::string_view component, absl::string_view message,
           std::initializer_list<Field> fields = {});

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
