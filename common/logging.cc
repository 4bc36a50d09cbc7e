#include "common/logging.h"

#include <atomic>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace byok::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
    case Level::kOff:
      break;
  }
  return "off";
}

}  // namespace

absl::Status ParseLevel(absl::string_view text, Level* level) {
  std::string v = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text));
  if (v == "debug" || v == "trace") {
    *level = Level::kDebug;
  } else if (v == "info") {
    *level = Level::kInfo;
  } else if (v == "warn" || v == "warning") {
    *level = Level::kWarn;
  } else if (v == "error") {
    *level = Level::kError;
  } else if (v == "off" || v == "silent" || v == "none") {
    *level = Level::kOff;
  } else {
    return absl::InvalidArgumentError("LOG_LEVEL must be one of debug, info, warn, error, off");
  }
  return absl::OkStatus();
}

void SetLevel(Level level) { g_level.store(static_cast<int>(level), std::memory_order_relaxed); }

bool Enabled(Level level) {
  return level != Level::kOff &&
         static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

void Write(Level level, absl::string_view component, absl::string_view message) {
  std::string line = absl::StrFormat(
      "%s %-5s [%s] %s\n", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
      LevelName(level), component, message);
  // One fwrite per line keeps lines from different threads whole.
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace byok::log
