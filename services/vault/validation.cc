#include "services/vault/validation.h"

#include <algorithm>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/grpc_status.h"
#include "common/providers/key_rule.h"
#include "common/providers/providers.h"

namespace byok::vault {
namespace {

bool IsVisibleAscii(char c) { return c > 0x20 && c < 0x7f; }

bool HasControl(absl::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

bool AllVisibleAscii(absl::string_view s) {
  for (char c : s) {
    if (!IsVisibleAscii(c)) return false;
  }
  return true;
}

}  // namespace

absl::Status ValidateAppId(absl::string_view app_id) {
  if (app_id.empty()) return absl::InvalidArgumentError(kAppIdRequiredMessage);
  if (app_id.size() > kMaxAppIdSize) {
    return absl::InvalidArgumentError("app_id must be at most 256 bytes");
  }
  if (HasControl(app_id)) {
    return absl::InvalidArgumentError("app_id must not contain control characters");
  }
  return absl::OkStatus();
}

absl::Status ValidateProvider(absl::string_view provider) {
  if (!providers::IsKnownProvider(provider)) {
    // The rejected name is not echoed: callers sometimes paste a key into the wrong field.
    return absl::InvalidArgumentError(
        absl::StrCat("Unsupported provider. Supported: ", providers::JoinedNames()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> NormalizeKey(absl::string_view key) {
  const std::optional<absl::string_view> normalized = providers::NormalizedKey(key);
  if (!normalized.has_value()) {
    return WithReason(absl::InvalidArgumentError(kInvalidKeyMessage), reason::kKeyInvalid);
  }
  return std::string(*normalized);
}

absl::Status ValidateBaseUrl(absl::string_view provider, absl::string_view base_url, bool allow_http) {
  if (base_url.empty()) return absl::OkStatus();
  if (provider != providers::kOpenAiCompatible) {
    return absl::InvalidArgumentError("base_url is only accepted for the openai-compatible provider");
  }
  if (base_url.size() > kMaxBaseUrlSize) {
    return absl::InvalidArgumentError("base_url must be at most 2048 characters");
  }
  if (!AllVisibleAscii(base_url)) {
    return absl::InvalidArgumentError("base_url must be printable ASCII without whitespace");
  }
  absl::string_view rest;
  const std::string lower = absl::AsciiStrToLower(base_url);
  if (absl::StartsWith(lower, "https://")) {
    rest = base_url.substr(8);
  } else if (allow_http && absl::StartsWith(lower, "http://")) {
    rest = base_url.substr(7);
  } else {
    return absl::InvalidArgumentError(allow_http ? "base_url must start with https:// or http://"
                                                 : "base_url must start with https://");
  }
  const size_t authority_end = rest.find_first_of("/?#");
  const absl::string_view authority = rest.substr(0, authority_end);
  if (authority.empty()) return absl::InvalidArgumentError("base_url must name a host");
  if (absl::StrContains(authority, '@')) {
    return absl::InvalidArgumentError("base_url must not contain credentials");
  }
  if (absl::StrContains(base_url, '#')) {
    return absl::InvalidArgumentError("base_url must not contain a fragment");
  }
  if (authority.front() == ':') return absl::InvalidArgumentError("base_url must name a host");
  return absl::OkStatus();
}

std::string RecordedModel(absl::string_view model) {
  size_t size = std::min(model.size(), kMaxModelSize);
  // Step back over UTF-8 continuation bytes so the cut falls between characters.
  if (size < model.size()) {
    while (size > 0 && (static_cast<unsigned char>(model[size]) & 0xC0) == 0x80) --size;
  }
  std::string out(model.substr(0, size));
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = '?';
  }
  return out;
}

absl::Status ValidateTokenShape(absl::string_view token) {
  if (token.empty() || token.size() > kMaxTokenSize) {
    return absl::UnauthenticatedError(kInvalidTokenMessage);
  }
  return absl::OkStatus();
}

}  // namespace byok::vault
