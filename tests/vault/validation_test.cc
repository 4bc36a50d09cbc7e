// Input rules: app ids, providers, keys, base URLs, models, token shape; configuration loading.
#include "services/vault/validation.h"

#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "common/crypto/hex.h"
#include "common/crypto/random.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "common/providers/providers.h"
#include "services/vault/periodic_task.h"
#include "services/vault/vault_config.h"
#include "tests/testing/status_matchers.h"

namespace byok::vault {
namespace {

using ::byok::testing::IsOk;
using ::byok::testing::StatusIs;
constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;

TEST(ValidationTest, AppIdsAreAnyNonEmptyTextAsInTheOriginal) {
  for (const char* ok : {"my-app_1.0", "My App", "com.example/app", "\xc3\xa4pp", "42"}) {
    EXPECT_THAT(ValidateAppId(ok), IsOk()) << ok;
  }
  EXPECT_THAT(ValidateAppId(std::string(256, 'a')), IsOk());
  absl::Status empty = ValidateAppId("");
  EXPECT_THAT(empty, StatusIs(kInvalid));
  EXPECT_EQ(empty.message(), "app_id is required");
  EXPECT_THAT(ValidateAppId(std::string(257, 'a')), StatusIs(kInvalid));
  EXPECT_THAT(ValidateAppId("a\nb"), StatusIs(kInvalid));
}

TEST(ValidationTest, ProvidersAreTheOneListAndTheMessageIsTheOriginals) {
  for (absl::string_view p : providers::kProviders) {
    EXPECT_THAT(ValidateProvider(p), IsOk()) << p;
  }
  EXPECT_EQ(providers::kProviders.size(), 10u);
  // The original's PROVIDERS, every one accepted (their order is the catalog's, see the message).
  for (const char* p : {"anthropic", "openai", "google", "groq", "openrouter", "mistral", "elevenlabs",
                        "huggingface", "deepgram", "openai-compatible"}) {
    EXPECT_THAT(ValidateProvider(p), IsOk()) << p;
  }
  for (const char* bad : {"", "OpenAI", "cohere", "openai ", "openai-compatible/x"}) {
    absl::Status s = ValidateProvider(bad);
    EXPECT_THAT(s, StatusIs(kInvalid)) << bad;
    EXPECT_EQ(s.message(), "Unsupported provider. Supported: " + absl::StrJoin(providers::kProviders, ", "));
  }
  absl::Status s = ValidateProvider("sk-looks-like-a-key");
  EXPECT_FALSE(absl::StrContains(s.message(), "sk-looks-like-a-key"));
}

TEST(ValidationTest, KeysAreTrimmedAndAtLeastTenCharacters) {
  EXPECT_EQ(*NormalizeKey("sk-proj-abc_DEF.123~!"), "sk-proj-abc_DEF.123~!");
  EXPECT_EQ(*NormalizeKey("  \tsk-0123456789\n"), "sk-0123456789");
  EXPECT_EQ(*NormalizeKey("0123456789"), "0123456789");
  EXPECT_EQ(*NormalizeKey("key with inner spaces"), "key with inner spaces");
  EXPECT_THAT(NormalizeKey(std::string(4096, 'k')), IsOk());
  for (const std::string& bad :
       {std::string(""), std::string("123456789"), std::string("   12345678   "), std::string(20, ' '),
        std::string(4097, 'k'), std::string("sk-key\tkey-123"), std::string("sk-\x7f-123456"),
        std::string("sk-\xc3\xa9-123456"), std::string("sk-key-12\r\nX-Evil: 1")}) {
    absl::StatusOr<std::string> s = NormalizeKey(bad);
    EXPECT_THAT(s, StatusIs(kInvalid)) << bad;
    EXPECT_EQ(s.status().message(), "A valid API key is required");
  }
}

TEST(ValidationTest, BaseUrls) {
  EXPECT_THAT(ValidateBaseUrl("openai-compatible", "", false), IsOk());
  EXPECT_THAT(ValidateBaseUrl("openai", "", false), IsOk());
  EXPECT_THAT(ValidateBaseUrl("openai-compatible", "https://api.together.xyz/v1", false), IsOk());
  EXPECT_THAT(ValidateBaseUrl("openai-compatible", "HTTPS://host:8443", false), IsOk());
  EXPECT_THAT(ValidateBaseUrl("openai", "https://api.openai.com", false), StatusIs(kInvalid));
  EXPECT_THAT(ValidateBaseUrl("openai-compatible", "http://localhost:11434/v1", false), StatusIs(kInvalid));
  EXPECT_THAT(ValidateBaseUrl("openai-compatible", "http://localhost:11434/v1", true), IsOk());
  for (const char* bad : {"ftp://host", "https://", "https:///path", "https://u:p@host/v1",
                          "https://host@evil/v1", "https://host/v1#frag", "https://ho st/",
                          "//host/v1", "https://:443/"}) {
    EXPECT_THAT(ValidateBaseUrl("openai-compatible", bad, true), StatusIs(kInvalid)) << bad;
  }
  EXPECT_THAT(ValidateBaseUrl("openai-compatible", "https://h/" + std::string(2048, 'a'), false),
              StatusIs(kInvalid));
}

TEST(ValidationTest, ModelsAndTokens) {
  EXPECT_EQ(RecordedModel(""), "");
  EXPECT_EQ(RecordedModel("anthropic/claude-sonnet-4"), "anthropic/claude-sonnet-4");
  EXPECT_EQ(RecordedModel("Anthropic/ claude-x "), "Anthropic/ claude-x ");  // the raw client string
  EXPECT_EQ(RecordedModel("a\nb\x7f"), "a?b?");
  EXPECT_EQ(RecordedModel(std::string(257, 'm')), std::string(256, 'm'));
  // A cut never splits a character: 255 bytes, then a two-byte 'é' that would straddle the limit.
  EXPECT_EQ(RecordedModel(std::string(255, 'm') + "\xc3\xa9"), std::string(255, 'm'));
  EXPECT_THAT(ValidateTokenShape(std::string(64, 'a')), IsOk());
  EXPECT_THAT(ValidateTokenShape("any-string-the-original-would-hash"), IsOk());
  for (const std::string& bad : {std::string(), std::string(1025, 'a')}) {
    absl::Status s = ValidateTokenShape(bad);
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnauthenticated));
    EXPECT_EQ(s.message(), "Invalid or expired token");
  }
}

std::string Secret() { return crypto::HexEncode(*crypto::RandomBytes(32)); }

TEST(VaultConfigTest, DefaultsWithOnlyTheSecret) {
  const std::string secret = Secret();
  absl::StatusOr<VaultConfig> c = LoadVaultConfig(Env({{"ENCRYPTION_SECRET", secret}}));
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->listen_address, "127.0.0.1:50051");
  EXPECT_EQ(c->db_path, "./data/relay.db");
  EXPECT_EQ(c->token_lifetime, absl::Hours(24 * 90));
  EXPECT_EQ(c->purge_interval, absl::Hours(1));
  EXPECT_FALSE(c->allow_private_upstreams);
  EXPECT_TRUE(c->previous_secrets.empty());
  EXPECT_TRUE(c->token_hmac_secret.empty());
  EXPECT_EQ(c->original_salt, "byok-relay-salt");
  // The secret is kept as given: its bytes are the key material.
  EXPECT_EQ(c->encryption_secret.view(), secret);
}

TEST(VaultConfigTest, AnySecretOfThirtyTwoCharactersAsTheOriginal) {
  for (const std::string& secret :
       {std::string("original-fixture-encryption-secret-0123456789"),
        std::string("correct horse battery staple, 32"), std::string("\xc3\xa4") + std::string(31, 'x') + "yz"}) {
    absl::StatusOr<VaultConfig> c = LoadVaultConfig(Env({{"ENCRYPTION_SECRET", secret}}));
    ASSERT_THAT(c, IsOk()) << secret;
    EXPECT_EQ(c->encryption_secret.view(), secret);
  }
  absl::StatusOr<VaultConfig> short_one =
      LoadVaultConfig(Env({{"ENCRYPTION_SECRET", std::string(31, 'x')}}));
  EXPECT_THAT(short_one, StatusIs(kInvalid));
  EXPECT_THAT(short_one.status().message(), ::testing::HasSubstr("at least 32 characters"));
  absl::StatusOr<VaultConfig> missing = LoadVaultConfig(Env(absl::flat_hash_map<std::string, std::string>{}));
  EXPECT_THAT(missing, StatusIs(kInvalid));
  EXPECT_THAT(missing.status().message(), ::testing::HasSubstr("ENCRYPTION_SECRET is required"));
}

TEST(VaultConfigTest, ReadsEveryVariable) {
  const std::string p1 = Secret(), p2 = Secret();
  absl::StatusOr<VaultConfig> c = LoadVaultConfig(Env({
      {"ENCRYPTION_SECRET", Secret()},
      {"ENCRYPTION_SECRET_PREVIOUS", p1 + ", " + p2},
      {"ENCRYPTION_SALT", "my-salt"},
      {"TOKEN_HMAC_SECRET", "a-long-token-hmac-secret-of-40-characters!"},
      {"BYOK_VAULT_ADDR", "0.0.0.0:6000"},
      {"DB_PATH", "/var/lib/byok/vault.db"},
      {"TOKEN_EXPIRY_DAYS", "0"},
      {"BYOK_VAULT_PURGE_INTERVAL_S", "60"},
      {"BYOK_VAULT_AUDIT_RETENTION_DAYS", "7"},
      {"BYOK_ALLOW_PRIVATE_UPSTREAMS", "1"},
      {"LOG_LEVEL", "debug"},
  }));
  ASSERT_THAT(c, IsOk());
  ASSERT_EQ(c->previous_secrets.size(), 2u);
  EXPECT_EQ(c->previous_secrets[1].view(), p2);
  EXPECT_EQ(c->token_hmac_secret.view(), "a-long-token-hmac-secret-of-40-characters!");
  EXPECT_EQ(c->original_salt, "my-salt");
  EXPECT_EQ(c->listen_address, "0.0.0.0:6000");
  EXPECT_EQ(c->db_path, "/var/lib/byok/vault.db");
  EXPECT_EQ(c->token_lifetime, absl::ZeroDuration());
  EXPECT_EQ(c->purge_interval, absl::Seconds(60));
  EXPECT_EQ(c->audit_retention, absl::Hours(24 * 7));
  EXPECT_TRUE(c->allow_private_upstreams);
  EXPECT_EQ(c->log_level, log::Level::kDebug);
  EXPECT_TRUE(c->warnings.empty());
}

TEST(VaultConfigTest, AuditRetentionIs90DaysByDefaultAndZeroKeepsForever) {
  absl::StatusOr<VaultConfig> c = LoadVaultConfig(Env({{"ENCRYPTION_SECRET", Secret()}}));
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->audit_retention, absl::Hours(24 * 90));
  c = LoadVaultConfig(Env({{"ENCRYPTION_SECRET", Secret()}, {"BYOK_VAULT_AUDIT_RETENTION_DAYS", "0"}}));
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->audit_retention, absl::ZeroDuration());
}

TEST(VaultConfigTest, WeakSecretsStartWithAWarningThatDoesNotEchoThem) {
  for (const std::string& weak :
       {std::string(64, '0'), std::string(64, 'F'),
        std::string("deadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeef"),
        std::string("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
        std::string("00010203040506070001020304050607000102030405060700010203040506ff"),
        std::string("abababababababababababababababababab")}) {
    absl::Status s = CheckEncryptionSecret("ENCRYPTION_SECRET", weak);
    EXPECT_THAT(s, StatusIs(kInvalid)) << weak;
    EXPECT_THAT(s.message(), ::testing::HasSubstr("ENCRYPTION_SECRET"));
    EXPECT_FALSE(absl::StrContains(s.message(), weak));
    absl::StatusOr<VaultConfig> c = LoadVaultConfig(Env({{"ENCRYPTION_SECRET", weak}}));
    ASSERT_THAT(c, IsOk());
    ASSERT_FALSE(c->warnings.empty());
    EXPECT_THAT(c->warnings.front(), ::testing::HasSubstr("ENCRYPTION_SECRET is weak"));
  }
  for (int i = 0; i < 20; ++i) {
    EXPECT_THAT(CheckEncryptionSecret("X", Secret()), IsOk());
  }
}

TEST(VaultConfigTest, TokenExpiryDaysIsReadAsTheOriginalReadsIt) {
  const std::vector<std::tuple<std::string, int64_t, bool>> cases = {
      {"30", 30, false}, {"0", 0, false}, {"30d", 30, true}, {"1.5", 1, true},
      {" 7", 7, false},  {"-3", 90, true}, {"ninety", 90, true}, {"99999999999", 36500, true}};
  for (const auto& [text, days, warned] : cases) {
    absl::StatusOr<VaultConfig> c =
        LoadVaultConfig(Env({{"ENCRYPTION_SECRET", Secret()}, {"TOKEN_EXPIRY_DAYS", text},
                             {"TOKEN_HMAC_SECRET", Secret()}}));
    ASSERT_THAT(c, IsOk()) << text;
    EXPECT_EQ(c->token_lifetime, absl::Hours(24 * days)) << text;
    EXPECT_EQ(!c->warnings.empty(), warned) << text;
  }
}

TEST(VaultConfigTest, BadValuesNameTheVariable) {
  const std::string s = Secret();
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"ENCRYPTION_SECRET", s.substr(33)},
           {"ENCRYPTION_SECRET_PREVIOUS", s + ",zz"},
           {"TOKEN_HMAC_SECRET", "too-short"},
           {"TOKEN_HMAC_SECRET", std::string(31, 'a')},
           {"BYOK_VAULT_ADDR", "no-port"},
           {"BYOK_VAULT_PURGE_INTERVAL_S", "-7"},
           {"BYOK_VAULT_AUDIT_RETENTION_DAYS", "-1"},
           {"BYOK_VAULT_AUDIT_RETENTION_DAYS", "forever"},
           {"BYOK_ALLOW_PRIVATE_UPSTREAMS", "maybe"}}) {
    absl::flat_hash_map<std::string, std::string> vars = {{"ENCRYPTION_SECRET", s}};
    vars[name] = value;
    absl::StatusOr<VaultConfig> c = LoadVaultConfig(Env(vars));
    EXPECT_THAT(c, StatusIs(kInvalid)) << name;
    EXPECT_THAT(c.status().message(), ::testing::HasSubstr(name));
    EXPECT_FALSE(absl::StrContains(c.status().message(), value)) << name;
  }
}

TEST(VaultConfigTest, TlsFilesMustComeTogetherAndBePem) {
  const std::string s = Secret();
  absl::StatusOr<VaultConfig> c =
      LoadVaultConfig(Env({{"ENCRYPTION_SECRET", s}, {"BYOK_TLS_CA_FILE", "/etc/hostname"}}));
  EXPECT_THAT(c, StatusIs(kInvalid));
  c = LoadVaultConfig(Env({{"ENCRYPTION_SECRET", s},
                           {"BYOK_TLS_CERT_FILE", "/etc/hostname"},
                           {"BYOK_TLS_KEY_FILE", "/etc/hostname"},
                           {"BYOK_TLS_CA_FILE", "/etc/hostname"}}));
  EXPECT_THAT(c, StatusIs(kInvalid));
  EXPECT_THAT(c.status().message(), ::testing::HasSubstr("BYOK_TLS_CERT_FILE"));
  c = LoadVaultConfig(Env({{"ENCRYPTION_SECRET", s}}));
  ASSERT_THAT(c, IsOk());
  EXPECT_FALSE(c->tls.has_value());
  EXPECT_EQ(c->resolve_callers, std::vector<std::string>{"relay"});
}

TEST(PeriodicTaskTest, RunsAtOnceAndStopsWithoutWaitingOutTheInterval) {
  absl::Notification ran;
  PeriodicTask task([&] { if (!ran.HasBeenNotified()) ran.Notify(); }, absl::Hours(1));
  ASSERT_TRUE(ran.WaitForNotificationWithTimeout(absl::Seconds(5)));
  const absl::Time start = absl::Now();
  task.Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(task.runs(), 1);
  task.Stop();  // idempotent
}

TEST(PeriodicTaskTest, RepeatsAtTheInterval) {
  absl::Mutex mu;
  int count = 0;
  PeriodicTask task(
      [&] {
        absl::MutexLock lock(&mu);
        ++count;
      },
      absl::Milliseconds(10));
  absl::MutexLock lock(&mu);
  EXPECT_TRUE(mu.AwaitWithTimeout(absl::Condition(
                                      +[](int* c) { return *c >= 3; }, &count),
                                  absl::Seconds(5)));
}

}  // namespace
}  // namespace byok::vault
