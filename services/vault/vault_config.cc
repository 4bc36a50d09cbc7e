#include "services/vault/vault_config.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/crypto/hex.h"
#include "common/grpc_reflection.h"
#include "common/status.h"
#include "services/vault/pg_connection.h"

namespace byok::vault {
namespace {

constexpr size_t kMinSecretLength = 32;
constexpr size_t kSecretHexSize = 64;
// A random 32-byte secret has about 30 distinct byte values; fewer than this means it was typed by
// hand or built from a pattern. For other strings, distinct characters.
constexpr size_t kMinDistinctBytes = 16;
constexpr size_t kMinDistinctChars = 8;
// Periods (in characters) of repeating patterns that are weak: "abab…", "0123456789abcdef…", etc.
constexpr size_t kMaxWeakPeriod = 16;
constexpr int64_t kDefaultExpiryDays = 90;
constexpr int64_t kMaxExpiryDays = 36500;

// Characters as the original counts them (code points; JavaScript counts astral ones twice, which no
// secret worth keeping depends on).
size_t CharacterCount(absl::string_view text) {
  size_t n = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xc0) != 0x80) ++n;
  }
  return n;
}

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

absl::StatusOr<crypto::SecretBytes> RequireSecret(absl::string_view variable, std::string& value) {
  if (CharacterCount(value) < kMinSecretLength) {
    crypto::WipeString(value);
    return absl::InvalidArgumentError(absl::StrCat(
        variable, " must be at least 32 characters. Generate one with: openssl rand -hex 32"));
  }
  crypto::SecretBytes secret(value);
  crypto::WipeString(value);
  return secret;
}

// TOKEN_EXPIRY_DAYS as the original reads it (JavaScript parseInt: leading whitespace, a sign, the
// leading digits; negative or no digits means 90), with a warning whenever that differs from the text.
int64_t ParseExpiryDays(const std::string& text, std::vector<std::string>& warnings) {
  absl::string_view rest = absl::StripLeadingAsciiWhitespace(text);
  bool negative = false;
  if (!rest.empty() && (rest.front() == '+' || rest.front() == '-')) {
    negative = rest.front() == '-';
    rest.remove_prefix(1);
  }
  size_t digits = 0;
  int64_t days = 0;
  while (digits < rest.size() && absl::ascii_isdigit(static_cast<unsigned char>(rest[digits]))) {
    if (days <= kMaxExpiryDays) days = days * 10 + (rest[digits] - '0');
    ++digits;
  }
  if (digits == 0 || (negative && days > 0)) {
    warnings.push_back(absl::StrCat("TOKEN_EXPIRY_DAYS is not a number of days (0 or more); using ",
                                    kDefaultExpiryDays, ", as the original did"));
    return kDefaultExpiryDays;
  }
  if (days > kMaxExpiryDays) {
    warnings.push_back(absl::StrCat("TOKEN_EXPIRY_DAYS is capped at ", kMaxExpiryDays, " days"));
    return kMaxExpiryDays;
  }
  if (digits != rest.size()) {
    warnings.push_back(absl::StrCat("TOKEN_EXPIRY_DAYS is read as ", days, " days"));
  }
  return days;
}

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    out.emplace_back(absl::StripAsciiWhitespace(part));
  }
  return out;
}

absl::Status LoadTls(const Env& env, VaultConfig& config) {
  BYOK_ASSIGN_OR_RETURN(config.service, LoadServiceAuth(env));
  BYOK_ASSIGN_OR_RETURN(config.reflection, LoadReflectionSetting(env));
  if (std::optional<std::string> secret = env.Get("APP_SECRET"); secret.has_value()) {
    config.app_secret = crypto::SecretBytes(*secret);
    crypto::WipeString(*secret);
  }
  BYOK_ASSIGN_OR_RETURN(config.tls, LoadMutualTls(env));
  if (!config.tls.has_value()) return absl::OkStatus();
  if (std::optional<std::string> v = env.Get("BYOK_VAULT_APP_CALLERS"); v.has_value()) {
    config.app_callers = SplitList(*v);
  }
  if (std::optional<std::string> v = env.Get("BYOK_VAULT_RESOLVE_CALLERS"); v.has_value()) {
    config.resolve_callers = SplitList(*v);
  }
  if (std::optional<std::string> v = env.Get("BYOK_VAULT_ADMIN_CALLERS"); v.has_value()) {
    config.admin_callers = SplitList(*v);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckEncryptionSecret(absl::string_view variable, absl::string_view secret) {
  BYOK_RETURN_IF_ERROR(CheckNotPattern(variable, secret));
  std::set<char> distinct(secret.begin(), secret.end());
  size_t minimum = kMinDistinctChars;
  if (secret.size() == kSecretHexSize && crypto::IsHex(secret)) {
    const std::string bytes = *crypto::HexDecode(secret);
    distinct = std::set<char>(bytes.begin(), bytes.end());
    minimum = kMinDistinctBytes;
  }
  if (distinct.size() < minimum) {
    return absl::InvalidArgumentError(absl::StrCat(
        variable, " is weak: too few distinct characters. Generate one with: openssl rand -hex 32"));
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

  // Secrets are used verbatim, as the original uses them (no trimming, no decoding).
  std::optional<std::string> secret = env.Get("ENCRYPTION_SECRET");
  if (!secret.has_value()) {
    return absl::InvalidArgumentError(
        "ENCRYPTION_SECRET is required: at least 32 characters. Generate one with: openssl rand -hex 32");
  }
  if (absl::Status weak = CheckEncryptionSecret("ENCRYPTION_SECRET", *secret); !weak.ok()) {
    config.warnings.emplace_back(weak.message());
  }
  BYOK_ASSIGN_OR_RETURN(config.encryption_secret, RequireSecret("ENCRYPTION_SECRET", *secret));

  if (std::optional<std::string> previous = env.Get("ENCRYPTION_SECRET_PREVIOUS");
      previous.has_value()) {
    // Old secrets are only read with; a weak one is accepted so its rows can be moved off it.
    for (absl::string_view part : absl::StrSplit(*previous, ',', absl::SkipWhitespace())) {
      std::string entry(absl::StripAsciiWhitespace(part));
      BYOK_ASSIGN_OR_RETURN(crypto::SecretBytes old,
                            RequireSecret("each ENCRYPTION_SECRET_PREVIOUS entry", entry));
      config.previous_secrets.push_back(std::move(old));
    }
    crypto::WipeString(*previous);
  }

  if (std::optional<std::string> hmac = env.Get("TOKEN_HMAC_SECRET"); hmac.has_value()) {
    if (absl::Status weak = CheckNotPattern("TOKEN_HMAC_SECRET", *hmac); !weak.ok()) {
      config.warnings.emplace_back(weak.message());
    }
    BYOK_ASSIGN_OR_RETURN(config.token_hmac_secret, RequireSecret("TOKEN_HMAC_SECRET", *hmac));
  } else {
    config.warnings.emplace_back(
        "TOKEN_HMAC_SECRET not set: tokens are hashed under ENCRYPTION_SECRET");
  }
  config.original_salt = env.GetString("ENCRYPTION_SALT", config.original_salt);

  config.listen_address = env.GetString("BYOK_VAULT_ADDR", config.listen_address);
  if (config.listen_address.find(':') == std::string::npos) {
    return absl::InvalidArgumentError("BYOK_VAULT_ADDR must be host:port");
  }
  config.db_path = env.GetString("DB_PATH", config.db_path);
  config.database_url = env.GetString("BYOK_VAULT_DATABASE_URL", "");
  if (!config.database_url.empty()) {
    if (absl::Status bad = CheckPostgresUrl(config.database_url); !bad.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("BYOK_VAULT_DATABASE_URL ", bad.message()));
    }
  }
  BYOK_ASSIGN_OR_RETURN(int64_t pool, env.GetInt("BYOK_VAULT_DATABASE_POOL_SIZE",
                                                 config.database_pool_size, 1, 1000));
  config.database_pool_size = static_cast<int>(pool);
  if (std::optional<std::string> days = env.Get("TOKEN_EXPIRY_DAYS"); days.has_value()) {
    config.token_lifetime = absl::Hours(24 * ParseExpiryDays(*days, config.warnings));
  }
  BYOK_ASSIGN_OR_RETURN(int64_t purge_s,
                        env.GetInt("BYOK_VAULT_PURGE_INTERVAL_S", 3600, 1, 7 * 24 * 3600));
  config.purge_interval = absl::Seconds(purge_s);
  BYOK_ASSIGN_OR_RETURN(int64_t audit_days,
                        env.GetInt("BYOK_VAULT_AUDIT_RETENTION_DAYS", 90, 0, 100 * 365));
  config.audit_retention = absl::Hours(24 * audit_days);
  BYOK_ASSIGN_OR_RETURN(config.allow_private_upstreams,
                        env.GetBool("BYOK_ALLOW_PRIVATE_UPSTREAMS", false));
  BYOK_RETURN_IF_ERROR(LoadTls(env, config));
  return config;
}

}  // namespace byok::vault
