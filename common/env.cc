#include "common/env.h"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

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

int64_t Env::GetLeadingInt(absl::string_view name, int64_t fallback) const {
  std::optional<std::string> value = Get(name);
  if (!value.has_value()) return fallback;
  absl::string_view v = absl::StripLeadingAsciiWhitespace(*value);
  bool negative = false;
  if (!v.empty() && (v.front() == '+' || v.front() == '-')) {
    negative = v.front() == '-';
    v.remove_prefix(1);
  }
  size_t digits = 0;
  while (digits < v.size() && digits < 15 && absl::ascii_isdigit(static_cast<unsigned char>(v[digits]))) {
    ++digits;
  }
  int64_t parsed = 0;
  if (digits == 0 || !absl::SimpleAtoi(v.substr(0, digits), &parsed)) return fallback;
  if (negative && parsed != 0) return fallback;
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

namespace {

constexpr size_t kMaxDotEnvBytes = 1 << 20;

// The value part of one dotenv line: quoted ('...' literal, "..." with \n), or bare up to a " #" comment.
std::string DotEnvValue(absl::string_view v) {
  v = absl::StripAsciiWhitespace(v);
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'' || v.front() == '`')) {
    size_t close = v.find(v.front(), 1);
    if (close != absl::string_view::npos) {
      std::string inner(v.substr(1, close - 1));
      if (v.front() == '"') {
        std::string out;
        for (size_t i = 0; i < inner.size(); ++i) {
          if (inner[i] == '\\' && i + 1 < inner.size() && (inner[i + 1] == 'n' || inner[i + 1] == 'r')) {
            out.push_back(inner[i + 1] == 'n' ? '\n' : '\r');
            ++i;
          } else {
            out.push_back(inner[i]);
          }
        }
        return out;
      }
      return inner;
    }
  }
  if (size_t hash = v.find(" #"); hash != absl::string_view::npos) v = v.substr(0, hash);
  return std::string(absl::StripAsciiWhitespace(v));
}

}  // namespace

absl::Status LoadDotEnv(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return absl::OkStatus();
  std::string text;
  text.resize(kMaxDotEnvBytes + 1);
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(file.gcount()));
  if (text.size() > kMaxDotEnvBytes) return absl::InvalidArgumentError(path + " is larger than 1 MiB");
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    if (absl::StartsWith(line, "export ")) line = absl::StripLeadingAsciiWhitespace(line.substr(7));
    size_t eq = line.find('=');
    absl::string_view name = eq == absl::string_view::npos ? line : absl::StripAsciiWhitespace(line.substr(0, eq));
    bool valid_name = !name.empty() && !absl::ascii_isdigit(static_cast<unsigned char>(name.front()));
    for (char c : name) valid_name &= absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
    // Like the original's dotenv, a line that is not an assignment is skipped.
    if (eq == absl::string_view::npos || !valid_name) continue;
    std::string key(name);
    // The environment wins.
    if (std::getenv(key.c_str()) != nullptr) continue;
    std::string value = DotEnvValue(line.substr(eq + 1));
    setenv(key.c_str(), value.c_str(), /*overwrite=*/0);
  }
  return absl::OkStatus();
}

}  // namespace byok
