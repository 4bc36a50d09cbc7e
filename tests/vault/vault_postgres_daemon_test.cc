// Real byok-vaultd processes on one PostgreSQL database (BYOK_VAULT_DATABASE_URL): two replicas serve
// one deployment consistently, and `byok-vaultd migrate` moves a running deployment's data from SQLite
// to PostgreSQL and back with every token and key still working.
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/postgres_server.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"
#include "tests/vault/vault_daemon.h"

namespace byok::vault {
namespace {

using ::byok::testing::BinaryPath;
using ::byok::testing::ChildProcess;
using ::byok::testing::FreshPostgresDatabase;
using ::byok::testing::IsOk;
using ::byok::testing::StatusIs;
using ::byok::testing::TempDir;
using ::byok::vault::testing::Call;
using ::byok::vault::testing::NewSecret;
using ::byok::vault::testing::VaultDaemon;
using Stub = v1::Vault::Stub;

constexpr char kOpenAiKey[] = "sk-proj-TESTKEY-0123456789abcdefABCDEF";
constexpr char kGroqKey[] = "gsk_TESTKEY0123456789abcdefABCDEFghij";

std::unique_ptr<VaultDaemon> StartVault(std::map<std::string, std::string> env) {
  absl::StatusOr<std::unique_ptr<VaultDaemon>> d = VaultDaemon::Start(std::move(env));
  EXPECT_THAT(d, IsOk());
  return d.ok() ? *std::move(d) : nullptr;
}

std::string NewToken(Stub& stub) {
  v1::CreateUserRequest req;
  req.set_app_id("pg-app");
  v1::CreateUserResponse resp;
  EXPECT_THAT(Call(&Stub::CreateUser, stub, req, &resp), IsOk());
  return resp.token();
}

absl::Status Put(Stub& stub, const std::string& token, const std::string& provider,
                 const std::string& key) {
  v1::PutKeyRequest req;
  req.set_token(token);
  req.set_provider(provider);
  req.set_key(key);
  v1::PutKeyResponse resp;
  return Call(&Stub::PutKey, stub, req, &resp);
}

absl::StatusOr<std::string> Resolve(Stub& stub, const std::string& token,
                                    const std::string& provider) {
  v1::ResolveKeyRequest req;
  req.set_token(token);
  req.set_provider(provider);
  v1::ResolveKeyResponse resp;
  if (absl::Status s = Call(&Stub::ResolveKey, stub, req, &resp); !s.ok()) return s;
  return resp.key();
}

absl::Status Authenticate(Stub& stub, const std::string& token) {
  v1::AuthenticateRequest req;
  req.set_token(token);
  v1::AuthenticateResponse resp;
  return Call(&Stub::Authenticate, stub, req, &resp);
}

TEST(VaultPostgresDaemonTest, TwoReplicasOnOneDatabaseAgreeAtOnce) {
  absl::StatusOr<std::string> url = FreshPostgresDatabase();
  ASSERT_THAT(url, IsOk());
  TempDir dir;
  const std::string unused_sqlite = dir.path() + "/relay.db";
  std::map<std::string, std::string> env = {{"ENCRYPTION_SECRET", NewSecret()},
                                            {"BYOK_VAULT_DATABASE_URL", *url},
                                            {"DB_PATH", unused_sqlite},
                                            {"BYOK_VAULT_DATABASE_POOL_SIZE", "4"}};
  std::unique_ptr<VaultDaemon> a = StartVault(env);
  std::unique_ptr<VaultDaemon> b = StartVault(env);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);

  // Registered at one, stored at the other, resolved through both.
  const std::string token = NewToken(a->stub());
  ASSERT_THAT(Put(b->stub(), token, "openai", kOpenAiKey), IsOk());
  EXPECT_EQ(*Resolve(a->stub(), token, "openai"), kOpenAiKey);
  EXPECT_EQ(*Resolve(b->stub(), token, "openai"), kOpenAiKey);

  // Usage recorded at one is counted by the other.
  v1::AuthenticateRequest who;
  who.set_token(token);
  v1::AuthenticateResponse user;
  ASSERT_THAT(Call(&Stub::Authenticate, a->stub(), who, &user), IsOk());
  v1::RecordUsageRequest usage;
  usage.set_user_id(user.user_id());
  usage.set_provider("openai");
  usage.set_status(200);
  v1::RecordUsageResponse recorded;
  ASSERT_THAT(Call(&Stub::RecordUsage, b->stub(), usage, &recorded), IsOk());
  v1::GetStatsRequest stats_req;
  stats_req.set_token(token);
  v1::GetStatsResponse stats;
  ASSERT_THAT(Call(&Stub::GetStats, a->stub(), stats_req, &stats), IsOk());
  EXPECT_EQ(stats.total_requests(), 1);

  // A key deleted at one is gone at the other.
  v1::DeleteKeyRequest del_key;
  del_key.set_token(token);
  del_key.set_provider("openai");
  v1::DeleteKeyResponse del_key_resp;
  ASSERT_THAT(Call(&Stub::DeleteKey, a->stub(), del_key, &del_key_resp), IsOk());
  EXPECT_TRUE(del_key_resp.deleted());
  EXPECT_THAT(Resolve(b->stub(), token, "openai"), StatusIs(absl::StatusCode::kNotFound));

  // A token revoked at one is refused by the other at once.
  ASSERT_THAT(Put(a->stub(), token, "groq", kGroqKey), IsOk());
  v1::RevokeTokenRequest revoke;
  revoke.set_token(token);
  v1::RevokeTokenResponse revoked;
  ASSERT_THAT(Call(&Stub::RevokeToken, b->stub(), revoke, &revoked), IsOk());
  EXPECT_THAT(Resolve(a->stub(), token, "groq"), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(Authenticate(a->stub(), token), StatusIs(absl::StatusCode::kUnauthenticated));

  // A user deleted at one is refused by the other at once.
  const std::string second = NewToken(b->stub());
  ASSERT_THAT(Put(b->stub(), second, "groq", kGroqKey), IsOk());
  EXPECT_EQ(*Resolve(a->stub(), second, "groq"), kGroqKey);
  v1::DeleteUserRequest del_user;
  del_user.set_token(second);
  v1::DeleteUserResponse del_user_resp;
  ASSERT_THAT(Call(&Stub::DeleteUser, a->stub(), del_user, &del_user_resp), IsOk());
  EXPECT_EQ(del_user_resp.keys_deleted(), 1);
  EXPECT_THAT(Resolve(b->stub(), second, "groq"), StatusIs(absl::StatusCode::kUnauthenticated));

  // One replica stopped: the other goes on serving the same data.
  const std::string third = NewToken(a->stub());
  ASSERT_THAT(Put(a->stub(), third, "openai", kOpenAiKey), IsOk());
  a->Disconnect();  // an idle channel would hold the shutdown for its grace
  EXPECT_THAT(a->Stop(), IsOk());
  EXPECT_EQ(*Resolve(b->stub(), third, "openai"), kOpenAiKey);

  // The vault stored nothing at DB_PATH.
  EXPECT_FALSE(std::filesystem::exists(unused_sqlite));
}

// Runs `byok-vaultd migrate --from from --to to`; returns its exit code and output.
std::pair<int, std::string> Migrate(const std::string& from, const std::string& to) {
  absl::StatusOr<std::unique_ptr<ChildProcess>> p =
      ChildProcess::Start(BinaryPath("byok-vaultd"), {"migrate", "--from", from, "--to", to}, {});
  if (!p.ok()) return {-1, std::string(p.status().message())};
  absl::StatusOr<int> code = (*p)->Wait(absl::Seconds(30));
  return {code.ok() ? *code : -1, (*p)->Output()};
}

TEST(VaultPostgresDaemonTest, MigrateMovesADeploymentToPostgresAndBack) {
  TempDir dir;
  const std::string sqlite = dir.path() + "/relay.db";
  const std::string back = dir.path() + "/back/relay.db";
  absl::StatusOr<std::string> url = FreshPostgresDatabase();
  ASSERT_THAT(url, IsOk());
  const std::string secret = NewSecret();

  std::string token;
  {
    std::unique_ptr<VaultDaemon> on_sqlite = StartVault({{"ENCRYPTION_SECRET", secret}, {"DB_PATH", sqlite}});
    ASSERT_NE(on_sqlite, nullptr);
    token = NewToken(on_sqlite->stub());
    ASSERT_THAT(Put(on_sqlite->stub(), token, "openai", kOpenAiKey), IsOk());
    on_sqlite->Disconnect();
    ASSERT_THAT(on_sqlite->Stop(), IsOk());
  }
  auto [code, output] = Migrate(sqlite, *url);
  ASSERT_EQ(code, 0) << output;
  EXPECT_THAT(output, ::testing::HasSubstr("copied 1 users, 1 keys"));
  EXPECT_THAT(output, ::testing::Not(::testing::HasSubstr(kOpenAiKey)));
  // Into a store that now holds data: refused.
  auto [again, refused] = Migrate(sqlite, *url);
  EXPECT_EQ(again, 1);
  EXPECT_THAT(refused, ::testing::HasSubstr("empty store"));

  {
    // The same token and key work through a vault on PostgreSQL: nothing was re-encrypted or rehashed.
    std::unique_ptr<VaultDaemon> on_pg =
        StartVault({{"ENCRYPTION_SECRET", secret}, {"BYOK_VAULT_DATABASE_URL", *url}});
    ASSERT_NE(on_pg, nullptr);
    EXPECT_EQ(*Resolve(on_pg->stub(), token, "openai"), kOpenAiKey);
    ASSERT_THAT(Put(on_pg->stub(), token, "groq", kGroqKey), IsOk());
    on_pg->Disconnect();
    ASSERT_THAT(on_pg->Stop(), IsOk());
  }
  std::filesystem::create_directories(dir.path() + "/back");
  auto [home, home_output] = Migrate(*url, back);
  ASSERT_EQ(home, 0) << home_output;
  EXPECT_THAT(home_output, ::testing::HasSubstr("copied 1 users, 2 keys"));
  std::unique_ptr<VaultDaemon> on_back = StartVault({{"ENCRYPTION_SECRET", secret}, {"DB_PATH", back}});
  ASSERT_NE(on_back, nullptr);
  EXPECT_EQ(*Resolve(on_back->stub(), token, "openai"), kOpenAiKey);
  EXPECT_EQ(*Resolve(on_back->stub(), token, "groq"), kGroqKey);

  // A missing --to is a usage error.
  absl::StatusOr<std::unique_ptr<ChildProcess>> bad =
      ChildProcess::Start(BinaryPath("byok-vaultd"), {"migrate", "--from", sqlite}, {});
  ASSERT_THAT(bad, IsOk());
  EXPECT_EQ(*(*bad)->Wait(absl::Seconds(10)), 2);
}

}  // namespace
}  // namespace byok::vault
