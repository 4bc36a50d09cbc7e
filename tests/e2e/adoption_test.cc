// An original byok-relay 1.5.1 deployment switches: byok-relay (and byok-vaultd) started on a copy of
// the database the original itself wrote (../shared/fixtures/original-1.5.1, never modified: copied
// into a temporary folder first), with the secrets in its manifest. Tokens A, C and D work, B's is
// refused, every key reaches the fake provider as its manifest plaintext, GET /stats counts what the
// original logged, the original bytes are kept as a backup, a wrong secret or a missing one changes
// nothing, and starting again is harmless.
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/ascii.h"
#include "common/crypto/kdf.h"
#include "services/vault/pg_key_store.h"
#include "services/vault/sqlite_key_store.h"
#include "services/vault/vault_config.h"
#include "services/vault/vault_core.h"
#include "services/vault/vault_secrets.h"
#include "tests/gateway/http_test_client.h"
#include "tests/testing/fake_provider/fake_provider.h"
#include "tests/testing/postgres_server.h"
#include "tests/testing/process.h"

namespace byok::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// Where the fixture is: BYOK_ORIGINAL_FIXTURE_DIR from the environment when set, else the folder
// beside the repository the build was configured with.
std::string FixtureDir() {
  if (const char* dir = std::getenv("BYOK_ORIGINAL_FIXTURE_DIR"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  return BYOK_ORIGINAL_FIXTURE_DIR;
}

struct Manifest {
  std::string encryption_secret, token_hmac_secret;
  nlohmann::json users;
};

std::vector<std::string> Listing(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    names.push_back(fs::relative(entry.path(), dir).string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// A GET /stats body's total for a provider, in the original's shape ({"openai":{"total":3,...}}) or
// this suite's earlier one ([{"provider":"openai","requests":3,...}]).
int64_t ProviderTotal(const nlohmann::json& stats, const std::string& provider) {
  const nlohmann::json& providers = stats.at("providers");
  if (providers.is_object()) {
    return providers.contains(provider) ? providers[provider].at("total").get<int64_t>() : 0;
  }
  for (const nlohmann::json& p : providers) {
    if (p.at("provider") == provider) return p.at("requests").get<int64_t>();
  }
  return 0;
}

int64_t Total(const nlohmann::json& stats) {
  return stats.contains("total") ? stats["total"].get<int64_t>() : stats.at("total_requests").get<int64_t>();
}

class OriginalDeploymentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string fixture = FixtureDir();
    ASSERT_TRUE(fs::exists(fixture + "/relay.db"))
        << "the original's fixture is missing at " << fixture
        << " (set BYOK_ORIGINAL_FIXTURE_DIR to ../shared/fixtures/original-1.5.1)";
    const nlohmann::json manifest = nlohmann::json::parse(ReadFile(fixture + "/manifest.json"));
    manifest_.encryption_secret = manifest.at("ENCRYPTION_SECRET");
    manifest_.token_hmac_secret = manifest.at("TOKEN_HMAC_SECRET");
    manifest_.users = manifest.at("users");
    original_bytes_ = ReadFile(fixture + "/relay.db");
    ASSERT_FALSE(original_bytes_.empty());
    fs::create_directories(data_dir());
    // A copy: the fixture itself is read only and never written.
    for (const char* name : {"relay.db", "relay.db-wal", "relay.db-shm"}) {
      if (fs::exists(fixture + "/" + name)) {
        fs::copy_file(fixture + "/" + name, data_dir() + "/" + name);
        fs::permissions(data_dir() + "/" + name, fs::perms::owner_read | fs::perms::owner_write);
      }
    }
    FakeProviderOptions options;
    for (const auto& [name, user] : manifest_.users.items()) {
      for (const auto& [provider, key] : user.at("keys").items()) {
        options.accepted_keys.push_back(key.get<std::string>());
      }
    }
    auto fake = FakeProvider::Start(options);
    ASSERT_TRUE(fake.ok()) << fake.status();
    fake_ = *std::move(fake);
  }

  std::string data_dir() const { return dir_.path() + "/data"; }
  std::string db_path() const { return data_dir() + "/relay.db"; }
  std::string Token(const std::string& user) const { return manifest_.users.at(user).at("token"); }

  // The original's environment, plus the fake provider for every provider.
  std::map<std::string, std::string> Env(int port) const {
    std::map<std::string, std::string> env = {
        {"ENCRYPTION_SECRET", manifest_.encryption_secret},
        {"TOKEN_HMAC_SECRET", manifest_.token_hmac_secret},
        {"DB_PATH", db_path()},
        {"PORT", std::to_string(port)},
        {"APP_SECRET", "operator-secret-for-the-adoption-test"},
        {"BYOK_ALLOW_PRIVATE_UPSTREAMS", "1"},
        {"LOG_LEVEL", "info"}};
    for (const char* name : {"ANTHROPIC", "OPENAI", "GOOGLE", "GROQ", "MISTRAL", "OPENROUTER",
                             "DEEPGRAM", "ELEVENLABS", "HUGGINGFACE"}) {
      env[absl::StrCat("BYOK_PROVIDER_", name, "_BASE_URL")] = fake_->base_url();
    }
    return env;
  }

  absl::StatusOr<std::unique_ptr<ChildProcess>> StartRelay(int port) {
    auto p = ChildProcess::Start(BinaryPath("byok-relay"), {}, Env(port));
    if (!p.ok()) return p.status();
    if (absl::Status s = (*p)->WaitForPort(port, absl::Seconds(30)); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat(s.message(), "; output: ", (*p)->Output()));
    }
    return p;
  }

  // Relays one request with `user`'s token to `provider` and returns the key the fake received.
  std::string RelayAndSeeKey(int port, const std::string& user, const std::string& provider) {
    std::string target = "/relay";
    std::vector<std::pair<std::string, std::string>> headers = {
        {"x-relay-token", Token(user)}, {"content-type", "application/json"}};
    nlohmann::json body = {{"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"max_tokens", 8}};
    if (provider == "openai-compatible") {
      target = "/relay/openai-compatible/v1/chat/completions";
      headers.emplace_back("x-relay-base-url", fake_->base_url());
      body["model"] = "some-model";
    } else {
      body["model"] = absl::StrCat(provider, "/fixture-model");
    }
    auto response = Fetch(port, "POST", target, headers, body.dump());
    EXPECT_TRUE(response.ok()) << response.status();
    if (!response.ok()) return "";
    EXPECT_EQ(response->status, 200) << provider << ": " << response->body;
    std::optional<RecordedRequest> seen = fake_->WaitForRequest(absl::Seconds(10));
    if (!seen.has_value()) return "(no request reached the fake provider)";
    for (const char* name : {"x-api-key", "x-goog-api-key", "xi-api-key", "authorization"}) {
      if (std::optional<std::string> v = seen->Header(name)) {
        std::string key = *v;
        for (const char* scheme : {"Bearer ", "Token "}) {
          if (absl::StartsWith(key, scheme)) key = key.substr(std::string(scheme).size());
        }
        return key;
      }
    }
    return "(no key)";
  }

  absl::StatusOr<nlohmann::json> Stats(int port, const std::string& user) {
    auto response = Fetch(port, "GET", "/stats", {{"x-relay-token", Token(user)}});
    if (!response.ok()) return response.status();
    if (response->status != 200) {
      return absl::InternalError(absl::StrCat("GET /stats: ", response->status, " ", response->body));
    }
    return nlohmann::json::parse(response->body);
  }

  std::vector<std::string> Backups() const {
    std::vector<std::string> found;
    for (const std::string& name : Listing(data_dir())) {
      if (absl::StrContains(name, ".original-")) found.push_back(name);
    }
    return found;
  }

  // Every key, B's included (its token is revoked; the vault's purge erases it once a daemon serves),
  // decrypts to the manifest's plaintext with the vault's own code. Users are found by the token hash
  // the original stored: under TOKEN_HMAC_SECRET, or still under ENCRYPTION_SECRET.
  void ExpectEveryUserAndKeyAdopted(vault::KeyStore& store) {
    vault::VaultConfig config;
    config.encryption_secret = crypto::SecretBytes(manifest_.encryption_secret);
    auto keyring = vault::BuildKeyring(config);
    ASSERT_TRUE(keyring.ok());
    int keys = 0;
    for (const auto& [name, user] : manifest_.users.items()) {
      absl::StatusOr<vault::UserRecord> found = absl::NotFoundError(name);
      for (const std::string& hmac_key : {manifest_.token_hmac_secret, manifest_.encryption_secret}) {
        if (!found.ok()) {
          found = store.FindUserByTokenHash(*crypto::HmacSha256(hmac_key, user.at("token").get<std::string>()));
        }
      }
      ASSERT_TRUE(found.ok()) << name;
      EXPECT_EQ(found->app_id, user.at("app_id").get<std::string>());
      for (const auto& [provider, key] : user.at("keys").items()) {
        absl::StatusOr<vault::KeyRecord> row = store.GetKey(found->user_id, provider);
        ASSERT_TRUE(row.ok()) << name << " " << provider;
        absl::StatusOr<std::string> plain = (*keyring)->Decrypt(
            row->ciphertext, vault::KeyAssociatedData(found->user_id, provider, ""));
        ASSERT_TRUE(plain.ok()) << name << " " << provider;
        EXPECT_EQ(*plain, key.get<std::string>());
        ++keys;
      }
    }
    EXPECT_EQ(keys, 6);
  }

  TempDir dir_;
  Manifest manifest_;
  std::string original_bytes_;
  std::unique_ptr<FakeProvider> fake_;
};

TEST_F(OriginalDeploymentTest, ByokRelayAdoptsTheOriginalsDatabase) {
  const int port = PickUnusedPort();
  auto relay = StartRelay(port);
  ASSERT_TRUE(relay.ok()) << relay.status();

  // The original bytes are kept beside the database, byte for byte.
  const std::vector<std::string> backups = Backups();
  ASSERT_EQ(backups.size(), 1u) << ::testing::PrintToString(Listing(data_dir()));
  EXPECT_THAT(backups[0], ::testing::MatchesRegex("relay\\.db\\.original-[0-9]{8}T[0-9]{6}Z"));
  EXPECT_EQ(ReadFile(data_dir() + "/" + backups[0]), original_bytes_);

  // GET /stats counts what the original logged, before anything new is relayed.
  for (const char* user : {"A", "C", "D"}) {
    SCOPED_TRACE(user);
    absl::StatusOr<nlohmann::json> stats = Stats(port, user);
    ASSERT_TRUE(stats.ok()) << stats.status();
    int64_t expected_total = 0;
    for (const auto& [provider, count] : manifest_.users.at(user).at("request_logs").items()) {
      EXPECT_EQ(ProviderTotal(*stats, provider), count.get<int64_t>()) << provider;
      expected_total += count.get<int64_t>();
    }
    EXPECT_EQ(Total(*stats), expected_total) << stats->dump();
  }

  // A, C (whose hash is still under ENCRYPTION_SECRET) and D work; B was revoked.
  for (const char* user : {"A", "C", "D"}) {
    auto keys = Fetch(port, "GET", "/keys", {{"x-relay-token", Token(user)}});
    ASSERT_TRUE(keys.ok());
    EXPECT_EQ(keys->status, 200) << user << ": " << keys->body;
    for (const auto& [provider, key] : manifest_.users.at(user).at("keys").items()) {
      EXPECT_THAT(keys->body, HasSubstr(absl::StrCat("\"", provider, "\""))) << user;
    }
  }
  auto refused = Fetch(port, "GET", "/keys", {{"x-relay-token", Token("B")}});
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 401);
  EXPECT_THAT(refused->body, HasSubstr("Invalid or expired token"));

  // Every key of A, C and D reaches the provider as the plaintext the original was given.
  for (const char* user : {"A", "C", "D"}) {
    for (const auto& [provider, key] : manifest_.users.at(user).at("keys").items()) {
      EXPECT_EQ(RelayAndSeeKey(port, user, provider), key.get<std::string>()) << user << " " << provider;
    }
  }
  // Starting again is harmless: no second backup, the same users, tokens and counts.
  ASSERT_EQ(*(*relay)->Stop(), 0);
  EXPECT_THAT((*relay)->Output(), HasSubstr("adopted the original byok-relay database"));
  EXPECT_FALSE(absl::StrContains((*relay)->Output(), manifest_.encryption_secret));
  auto again = StartRelay(port);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(Backups(), backups);
  for (const char* user : {"A", "C", "D"}) {
    auto keys = Fetch(port, "GET", "/keys", {{"x-relay-token", Token(user)}});
    ASSERT_TRUE(keys.ok());
    EXPECT_EQ(keys->status, 200) << user;
  }
  EXPECT_EQ(Fetch(port, "GET", "/keys", {{"x-relay-token", Token("B")}})->status, 401);
  // The original's 4 and the 2 relayed here (C: 1, then its groq and openai-compatible keys).
  EXPECT_EQ(Total(*Stats(port, "A")), 6);
  EXPECT_EQ(Total(*Stats(port, "C")), 3);
  ASSERT_EQ(*(*again)->Stop(), 0);
  auto store = vault::SqliteKeyStore::Open(db_path());
  ASSERT_TRUE(store.ok()) << store.status();
  absl::StatusOr<vault::UsageStats> fixture_app =
      (*store)->GetStats({vault::StatsScope::Kind::kApp, "fixture-app"}, absl::Now());
  ASSERT_TRUE(fixture_app.ok());
  EXPECT_EQ(fixture_app->total_requests, 4 + 1 + 2 + 1);  // A's and D's, then what was relayed here
  EXPECT_EQ(fixture_app->users, 2);  // users with usage records (B has none), as the original counts
}

TEST_F(OriginalDeploymentTest, AWrongSecretChangesNothingAndSaysWhy) {
  const std::vector<std::string> before = Listing(dir_.path());
  std::map<std::string, std::string> env = Env(PickUnusedPort());
  env["ENCRYPTION_SECRET"] = "not-the-secret-the-original-ran-with-0123456789";
  auto p = ChildProcess::Start(BinaryPath("byok-relay"), {}, env);
  ASSERT_TRUE(p.ok());
  absl::StatusOr<int> code = (*p)->Wait(absl::Seconds(30));
  ASSERT_TRUE(code.ok()) << (*p)->Output();
  EXPECT_NE(*code, 0);
  EXPECT_THAT((*p)->Output(), HasSubstr("does not decrypt the original byok-relay database"));
  EXPECT_THAT((*p)->Output(), HasSubstr("Nothing was changed"));
  EXPECT_FALSE(absl::StrContains((*p)->Output(), env["ENCRYPTION_SECRET"]));
  EXPECT_EQ(ReadFile(db_path()), original_bytes_);
  EXPECT_EQ(Listing(dir_.path()), before);
}

TEST_F(OriginalDeploymentTest, WithoutASecretTheDatabaseIsNeverOpenedWithAGeneratedOne) {
  const std::vector<std::string> before = Listing(dir_.path());
  std::map<std::string, std::string> env = Env(PickUnusedPort());
  env.erase("ENCRYPTION_SECRET");
  auto p = ChildProcess::Start(BinaryPath("byok-relay"), {}, env);
  ASSERT_TRUE(p.ok());
  absl::StatusOr<int> code = (*p)->Wait(absl::Seconds(30));
  ASSERT_TRUE(code.ok()) << (*p)->Output();
  EXPECT_NE(*code, 0);
  EXPECT_THAT((*p)->Output(), HasSubstr("already holds a database, but ENCRYPTION_SECRET is not set"));
  EXPECT_EQ(ReadFile(db_path()), original_bytes_);
  EXPECT_EQ(Listing(dir_.path()), before);
}

// The split daemons: byok-vaultd adopt --dry-run reports and writes nothing; adopt does it; the daemon
// then serves the adopted users.
TEST_F(OriginalDeploymentTest, VaultdAdoptDryRunThenAdopt) {
  const std::vector<std::string> before = Listing(dir_.path());
  std::map<std::string, std::string> env = {{"ENCRYPTION_SECRET", manifest_.encryption_secret},
                                            {"TOKEN_HMAC_SECRET", manifest_.token_hmac_secret},
                                            {"DB_PATH", db_path()}};
  auto run = [&](const std::vector<std::string>& args) {
    auto p = ChildProcess::Start(BinaryPath("byok-vaultd"), args, env);
    EXPECT_TRUE(p.ok());
    absl::StatusOr<int> code = (*p)->Wait(absl::Seconds(30));
    EXPECT_TRUE(code.ok());
    return std::make_pair(code.ok() ? *code : -1, (*p)->Output());
  };
  auto [dry_code, dry_output] = run({"adopt", "--dry-run"});
  EXPECT_EQ(dry_code, 0) << dry_output;
  EXPECT_THAT(dry_output, HasSubstr("would adopt the original byok-relay database"));
  EXPECT_THAT(dry_output, HasSubstr("4 users (3 with a working token), 6 keys"));
  EXPECT_THAT(dry_output, HasSubstr("6 request records"));
  EXPECT_THAT(dry_output, HasSubstr("Nothing was written (dry run)"));
  EXPECT_EQ(ReadFile(db_path()), original_bytes_);
  EXPECT_EQ(Listing(dir_.path()), before);

  auto [code, output] = run({"adopt"});
  EXPECT_EQ(code, 0) << output;
  EXPECT_THAT(output, HasSubstr("adopted the original byok-relay database"));
  ASSERT_EQ(Backups().size(), 1u);
  EXPECT_EQ(ReadFile(data_dir() + "/" + Backups()[0]), original_bytes_);

  auto [again_code, again_output] = run({"adopt", "--dry-run"});
  EXPECT_EQ(again_code, 0);
  EXPECT_THAT(again_output, HasSubstr("is not an original byok-relay database: nothing to adopt"));

  auto store = vault::SqliteKeyStore::Open(db_path());
  ASSERT_TRUE(store.ok()) << store.status();
  ExpectEveryUserAndKeyAdopted(**store);
}

// With BYOK_VAULT_DATABASE_URL: `byok-vaultd adopt` moves the original straight into PostgreSQL, and the
// original file keeps its bytes (no backup is needed).
TEST_F(OriginalDeploymentTest, VaultdAdoptsIntoPostgres) {
  absl::StatusOr<std::string> url = byok::testing::FreshPostgresDatabase();
  ASSERT_TRUE(url.ok()) << url.status();
  const std::vector<std::string> before = Listing(dir_.path());
  std::map<std::string, std::string> env = {{"ENCRYPTION_SECRET", manifest_.encryption_secret},
                                            {"TOKEN_HMAC_SECRET", manifest_.token_hmac_secret},
                                            {"DB_PATH", db_path()},
                                            {"BYOK_VAULT_DATABASE_URL", *url}};
  auto run = [&](const std::vector<std::string>& args) {
    auto p = ChildProcess::Start(BinaryPath("byok-vaultd"), args, env);
    EXPECT_TRUE(p.ok());
    absl::StatusOr<int> code = (*p)->Wait(absl::Seconds(30));
    EXPECT_TRUE(code.ok());
    return std::make_pair(code.ok() ? *code : -1, (*p)->Output());
  };
  auto [code, output] = run({"adopt"});
  EXPECT_EQ(code, 0) << output;
  EXPECT_THAT(output, HasSubstr("4 users (3 with a working token), 6 keys"));
  EXPECT_THAT(output, HasSubstr("into the vault's PostgreSQL database"));
  EXPECT_EQ(ReadFile(db_path()), original_bytes_);
  EXPECT_EQ(Listing(dir_.path()), before);
  // Run again: the database holds the rows, nothing changes.
  auto [again_code, again_output] = run({"adopt"});
  EXPECT_EQ(again_code, 1);
  EXPECT_THAT(again_output, HasSubstr("already holds"));

  auto store = vault::PgKeyStore::Open(*url, {});
  ASSERT_TRUE(store.ok()) << store.status();
  ExpectEveryUserAndKeyAdopted(**store);
}

}  // namespace
}  // namespace byok::testing
