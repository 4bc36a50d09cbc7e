// Reads configuration from environment variables, validating each value. A bad value is an error that
// names the variable (never its value, which may be a secret), so start-up can stop with a clear message.
#ifndef BYOK_COMMON_ENV_H_
#define BYOK_COMMON_ENV_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace byok {

// A source of configuration variables. The default reads the process environment; tests pass a map.
// Thread-compatible; Get is const and safe to call concurrently once constructed.
class Env {
 public:
  // Reads the process environment.
  Env();
  // Reads only `vars` (for tests).
  explicit Env(absl::flat_hash_map<std::string, std::string> vars);

  // Returns the variable's value, or nullopt when it is unset. An empty value counts as unset.
  std::optional<std::string> Get(absl::string_view name) const;

  // Returns the value, or `fallback` when unset.
  std::string GetString(absl::string_view name, absl::string_view fallback) const;

  // Returns the value parsed as a decimal integer in [min, max], or `fallback` when unset.
  absl::StatusOr<int64_t> GetInt(absl::string_view name, int64_t fallback, int64_t min,
                                 int64_t max) const;

  // Returns the value read as JavaScript's parseInt reads it (leading whitespace, an optional sign, the
  // leading digits: "30d" is 30, "1.5" is 1), or `fallback` when unset, not a number, or negative (as
  // the original reads TOKEN_EXPIRY_DAYS).
  int64_t GetLeadingInt(absl::string_view name, int64_t fallback) const;

  // Returns the value parsed as a boolean (1/0, true/false, yes/no, on/off), or `fallback` when unset.
  absl::StatusOr<bool> GetBool(absl::string_view name, bool fallback) const;

 private:
  std::optional<absl::flat_hash_map<std::string, std::string>> vars_;
};

// Loads `path` (a dotenv file: `NAME=value` lines, `export ` allowed, `#` comments, values optionally in
// single or double quotes, `\n` expanded inside double quotes) into the process environment, without
// replacing a variable that is already set: the environment wins, as the original's dotenv. A missing
// file is fine (OK, nothing loaded), and lines that are not assignments are skipped, as dotenv does. Call
// before any thread starts (it uses setenv). A file over 1 MiB is refused.
absl::Status LoadDotEnv(const std::string& path);

}  // namespace byok

#endif  // BYOK_COMMON_ENV_H_
