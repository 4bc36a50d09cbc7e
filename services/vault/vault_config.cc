#include "services/vault/vault_config.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/crypto/hex.h"
#include "common/status.h"

namespace byok::vault {
namespace {

constexpr size_t kSecretHexSize = 64;
// A random 32-byte secret has about 30 distinct byte values; fewer than this means it was typed by
// hand or built from a pattern.
constexpr size_t kMinDistinctBytes = 16;
// Periods (in characters) of repeating patterns that are rejected: "abab…", "0123456789abcdef…", etc.
constexpr size_t kMaxWeakPeriod = 16;

bool Repeats(absl::string_view text, size_t period) {
  for (size_t i = period; i < text.size(); ++i) {
    if (text[i] != text[i % period]) return false;
  }
  return true;
}

absl::Status CheckNotPattern(absl::string_view variable, absl::string_view text) {
  const std::string lower = absl::AsciiStrToLower(text);
  for (size_t period = 1; period <= kMaxWeakPeriod && period < lower.size(); ++period) {
    if (Repeats(lower, period)) {
      return absl::InvalidArgumentError(absl::StrCat(
          variable, " is weak: it repeats a short pattern. Generate one with: openssl rand -hex 32"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<crypto::SecretBytes> DecodeSecret(absl::string_view variable, absl::string_view hex) {
  if (hex.size() != kSecretHexSize || !crypto::IsHex(hex)) {
    return absl::InvalidArgumentError(absl::StrCat(
        variable, " must be exactly 64 hex characters (32 bytes). Generate one with: openssl rand -hex 32"));
  }
  absl::StatusOr<std::string> bytes = crypto::HexDecode(hex);
  if (!bytes.ok()) return absl::InvalidArgumentError(absl::StrCat(variable, " is not valid hex"));
  crypto::SecretBytes secret(*bytes);
  crypto::WipeString(*bytes);
  return secret;
}

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    out.emplace_back(absl::StripAsciiWhitespace(part));
  }
  return out;
}

absl::Status LoadTls(const Env& env, VaultConfig& config) {
  BYOK_ASSIGN_OR_RETURN(config.tls, LoadMutualTls(env));
  if (!config.tls.has_value()) return absl::OkStatus();
  if (std::optional<std::string> v = env.Get("BYOK_VAULT_RESOLVE_CALLERS"); v.has_value()) {
    config.resolve_callers = SplitList(*v);
  }
  if (std::optional<std::string> v = env.Get("BYOK_VAULT_ADMIN_CALLERS"); v.has_value()) {
    config.admin_callers = SplitList(*v);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckEncryptionSecret(absl::string_view variable, absl::string_view hex) {
  BYOK_ASSIGN_OR_RETURN(crypto::SecretBytes secret, DecodeSecret(variable, hex));
  BYOK_RETURN_IF_ERROR(CheckNotPattern(variable, hex));
  std::set<uint8_t> distinct(secret.data(), secret.data() + secret.size());
  if (distinct.size() < kMinDistinctBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        variable, " is weak: too few distinct bytes. Generate one with: openssl rand -hex 32"));
  }
  return absl::OkStatus();
}

absl::StatusOr<VaultConfig> LoadVaultConfig(const Env& env) {
  VaultConfig config;
  if (std::optional<std::string> level = env.Get("LOG_LEVEL"); level.has_value()) {
    if (!log::ParseLevel(*level, &config.log_level).ok()) {
      return absl::InvalidArgumentError("LOG_LEVEL must be one of debug, info, warn, error, off");
    }
  }

  std::optional<std::string> secret = env.Get("ENCRYPTION_SECRET");
  if (!secret.has_value()) {
    return absl::InvalidArgumentError(
        "ENCRYPTION_SECRET is required: 64 hex characters. Generate one with: openssl rand -hex 32");
  }
  const absl::string_view trimmed = absl::StripAsciiWhitespace(*secret);
  BYOK_RETURN_IF_ERROR(CheckEncryptionSecret("ENCRYPTION_SECRET", trimmed));
  BYOK_ASSIGN_OR_RETURN(config.encryption_secret, DecodeSecret("ENCRYPTION_SECRET", trimmed));
  crypto::WipeString(*secret);

  if (std::optional<std::string> previous = env.Get("ENCRYPTION_SECRET_PREVIOUS");
      previous.has_value()) {
    // Old secrets are only read with; a weak one is accepted so its rows can be moved off it.
    for (absl::string_view part : absl::StrSplit(*previous, ',', absl::SkipWhitespace())) {
      BYOK_ASSIGN_OR_RETURN(
          crypto::SecretBytes old,
          DecodeSecret("each ENCRYPTION_SECRET_PREVIOUS entry", absl::StripAsciiWhitespace(part)));
      config.previous_secrets.push_back(std::move(old));
    }
    crypto::WipeString(*previous);
  }

  if (std::optional<std::string> hmac = env.Get("TOKEN_HMAC_SECRET"); hmac.has_value()) {
    if (hmac->size() < 32) {
      return absl::InvalidArgumentError("TOKEN_HMAC_SECRET must be at least 32 characters");
    }
    BYOK_RETURN_IF_ERROR(CheckNotPattern("TOKEN_HMAC_SECRET", *hmac));
    config.token_hmac_secret = crypto::SecretBytes(*hmac);
    crypto::WipeString(*hmac);
  }

  config.listen_address = env.GetString("BYOK_VAULT_ADDR", config.listen_address);
  if (config.listen_address.find(':') == std::string::npos) {
    return absl::InvalidArgumentError("BYOK_VAULT_ADDR must be host:port");
  }
  config.db_path = env.GetString("DB_PATH", config.db_path);
  BYOK_ASSIGN_OR_RETURN(int64_t days, env.GetInt("TOKEN_EXPIRY_DAYS", 90, 0, 36500));
  config.token_lifetime = absl::Hours(24 * days);
  BYOK_ASSIGN_OR_RETURN(int64_t purge_s,
                        env.GetInt("BYOK_VAULT_PURGE_INTERVAL_S", 3600, 1, 7 * 24 * 3600));
  config.purge_interval = absl::Seconds(purge_s);
  BYOK_ASSIGN_OR_RETURN(config.allow_private_upstreams,
                        env.GetBool("BYOK_ALLOW_PRIVATE_UPSTREAMS", false));
  BYOK_RETURN_IF_ERROR(LoadTls(env, config));
  return config;
}

}  // namespace byok::vault
