#include "common/logging.h"

#include <atomic>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/request_context.h"

namespace byok::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::atomic<int> g_format{static_cast<int>(Format::kText)};

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

// Returns the length of the well-formed UTF-8 sequence (2 to 4 bytes) starting at text[i], or 0 when
// the bytes there are not one (overlong forms, surrogates and values above U+10FFFF included).
size_t Utf8SequenceLength(absl::string_view text, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char lead = byte(i);
  size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return length;
}

// True for well-formed characters that still must not reach a log raw: C1 controls (U+0080..U+009F, a
// terminal reads some as escape sequences), the line and paragraph separators (U+2028, U+2029) and the
// bidirectional overrides (U+202A..U+202E, U+2066..U+2069) that make a line read differently.
bool IsInvisibleControl(absl::string_view seq) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(seq[k]); };
  if (seq.size() == 2) return byte(0) == 0xC2 && byte(1) < 0xA0;
  if (seq.size() != 3 || byte(0) != 0xE2) return false;
  if (byte(1) == 0x80) return byte(2) >= 0xA8 && byte(2) <= 0xAE;
  if (byte(1) == 0x81) return byte(2) >= 0xA6 && byte(2) <= 0xA9;
  return false;
}

}  // namespace

std::string EscapeForLog(absl::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7F) {
      if (c == '\\') out.push_back('\\');
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    if (c >= 0x80) {
      if (size_t n = Utf8SequenceLength(text, i); n > 0) {
        absl::string_view seq = text.substr(i, n);
        if (IsInvisibleControl(seq)) {
          for (char b : seq) absl::StrAppend(&out, "\\x", absl::Hex(static_cast<unsigned char>(b)));
        } else {
          out.append(seq.data(), seq.size());
        }
        i += n;
        continue;
      }
    }
    switch (c) {
      case '\r':
        out += "\\r";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += "\\x";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xF]);
    }
    ++i;
  }
  return out;
}

absl::Status ParseLevel(absl::string_view text, Level* level) {
  std::string v = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text));
  if (v == "debug" || v == "trace") {
    *level = Level::kDebug;
  } else if (v == "info") {
    *level = Level::kInfo;
  } else if (v == "warn" || v == "warning") {
    *level = Level::kWarn;
  } else if (v == "error" || v == "fatal") {  // pino's fatal: errors are the most we log
    *level = Level::kError;
  } else if (v == "off" || v == "silent" || v == "none") {
    *level = Level::kOff;
  } else {
    return absl::InvalidArgumentError(
        "LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent, off");
  }
  return absl::OkStatus();
}

void SetLevel(Level level) { g_level.store(static_cast<int>(level), std::memory_order_relaxed); }

bool Enabled(Level level) {
  return level != Level::kOff &&
         static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

absl::Status ParseFormat(absl::string_view text, Format* format) {
  std::string v = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text));
  if (v == "text" || v.empty()) {
    *format = Format::kText;
  } else if (v == "json") {
    *format = Format::kJson;
  } else {
    return absl::InvalidArgumentError("LOG_FORMAT must be text or json");
  }
  return absl::OkStatus();
}

void SetFormat(Format format) { g_format.store(static_cast<int>(format), std::memory_order_relaxed); }

void Write(Level level, absl::string_view component, absl::string_view message,
           std::initializer_list<Field> fields) {
  const std::string time = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  const trace::RequestContext* context = trace::Current();
  std::string line;
  if (g_format.load(std::memory_order_relaxed) == static_cast<int>(Format::kJson)) {
    // The values are escaped as in text (EscapeForLog is the one escaping owner), then JSON-quoted:
    // a parser reads back exactly what the text form shows.
    nlohmann::ordered_json j;
    j["time"] = time;
    j["level"] = LevelName(level);
    j["service"] = EscapeForLog(component);
    j["message"] = EscapeForLog(message);
    if (context != nullptr) {
      j["request_id"] = EscapeForLog(context->request_id);
      j["trace_id"] = EscapeForLog(context->trace_id);
    }
    if (fields.size() > 0) {
      nlohmann::ordered_json& f = j["fields"];
      for (const Field& field : fields) f[EscapeForLog(field.name)] = EscapeForLog(field.value);
    }
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    line.push_back('\n');
  } else {
    line = absl::StrFormat("%s %-5s [%s] %s", time, LevelName(level), EscapeForLog(component),
                           EscapeForLog(message));
    if (context != nullptr) {
      absl::StrAppend(&line, " request_id=", EscapeForLog(context->request_id),
                      " trace_id=", EscapeForLog(context->trace_id));
    }
    for (const Field& field : fields) {
      absl::StrAppend(&line, " ", EscapeForLog(field.name), "=", EscapeForLog(field.value));
    }
    line.push_back('\n');
  }
  // One fwrite per line keeps lines from different threads whole.
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace byok::log
