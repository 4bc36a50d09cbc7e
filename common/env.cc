#include "common/env.h"

#include <cstdlib>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace byok {

Env::Env() = default;

Env::Env(absl::flat_hash_map<std::string, std::string> vars) : vars_(std::move(vars)) {}

std::optional<std::string> Env::Get(absl::string_view name) const {
  if (vars_.has_value()) {
    auto it = vars_->find(name);
    if (it == vars_->end() || it->second.empty()) return std::nullopt;
    return it->second;
  }
  const char* value = std::getenv(std::string(name).c_str());
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

std::string Env::GetString(absl::string_view name, absl::string_view fallback) const {
  std::optional<std::string> value = Get(name);
  return value.has_value() ? *std::move(value) : std::string(fallback);
}

absl::StatusOr<int64_t> Env::GetInt(absl::string_view name, int64_t fallback, int64_t min,
                                    int64_t max) const {
  std::optional<std::string> value = Get(name);
  if (!value.has_value()) return fallback;
  int64_t parsed = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(*value), &parsed) || parsed < min ||
      parsed > max) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " must be a whole number from ", min, " to ", max));
  }
  return parsed;
}

absl::StatusOr<bool> Env::GetBool(absl::string_view name, bool fallback) const {
  std::optional<std::string> value = Get(name);
  if (!value.has_value()) return fallback;
  std::string v = absl::AsciiStrToLower(absl::StripAsciiWhitespace(*value));
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "false" || v == "no" || v == "off") return false;
  return absl::InvalidArgumentError(absl::StrCat(name, " must be 1 or 0 (true or false)"));
}

}  // namespace byok
