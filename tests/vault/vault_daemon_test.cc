// byok-vaultd over a real gRPC channel on 127.0.0.1: lifecycle, error statuses, health, and what
// ends up on disk.
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/crypto/hex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/vault/sqlite_key_store.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"
#include "tests/vault/vault_daemon.h"

namespace byok::vault {
namespace {

using ::byok::testing::IsOk;
using ::byok::testing::ReadFile;
using ::byok::testing::StatusIs;
using ::byok::vault::testing::Call;
using ::byok::vault::testing::NewSecret;
using ::byok::vault::testing::VaultDaemon;
using Stub = v1::Vault::Stub;

constexpr char kAnthropicKey[] = "sk-ant-api03-TESTKEY-7f3a9c1e5b2d4680aa";

class VaultDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_path_ = dir_.path() + "/data/relay.db";
    absl::StatusOr<std::unique_ptr<VaultDaemon>> d =
        VaultDaemon::Start({{"ENCRYPTION_SECRET", NewSecret()}, {"DB_PATH", db_path_}});
    ASSERT_THAT(d, IsOk());
    daemon_ = *std::move(d);
  }

  Stub& stub() { return daemon_->stub(); }

  std::string NewToken(const std::string& app = "demo-app") {
    v1::CreateUserRequest req;
    req.set_app_id(app);
    v1::CreateUserResponse resp;
    EXPECT_THAT(Call(&Stub::CreateUser, stub(), req, &resp), IsOk());
    return resp.token();
  }

  absl::Status Put(const std::string& token, const std::string& provider, const std::string& key,
                   const std::string& base_url = "", v1::PutKeyResponse* out = nullptr) {
    v1::PutKeyRequest req;
    req.set_token(token);
    req.set_provider(provider);
    req.set_key(key);
    req.set_base_url(base_url);
    v1::PutKeyResponse resp;
    absl::Status s = Call(&Stub::PutKey, stub(), req, &resp);
    if (out != nullptr) *out = resp;
    return s;
  }

  absl::StatusOr<v1::ResolveKeyResponse> Resolve(const std::string& token, const std::string& provider) {
    v1::ResolveKeyRequest req;
    req.set_token(token);
    req.set_provider(provider);
    v1::ResolveKeyResponse resp;
    absl::Status s = Call(&Stub::ResolveKey, stub(), req, &resp);
    if (!s.ok()) return s;
    return resp;
  }

  byok::testing::TempDir dir_;
  std::string db_path_;
  std::unique_ptr<VaultDaemon> daemon_;
};

TEST_F(VaultDaemonTest, WholeUserAndKeyLifecycle) {
  v1::CreateUserRequest create;
  create.set_app_id("demo-app");
  v1::CreateUserResponse created;
  ASSERT_THAT(Call(&Stub::CreateUser, stub(), create, &created), IsOk());
  const std::string token = created.token();
  ASSERT_EQ(token.size(), 64u);
  EXPECT_TRUE(crypto::IsHex(token));
  ASSERT_TRUE(created.has_expires_at());
  const int64_t days = (created.expires_at().seconds() - absl::ToUnixSeconds(absl::Now())) / 86400;
  EXPECT_THAT(days, ::testing::AllOf(::testing::Ge(89), ::testing::Le(90)));

  v1::AuthenticateRequest auth;
  auth.set_token(token);
  v1::AuthenticateResponse who;
  ASSERT_THAT(Call(&Stub::Authenticate, stub(), auth, &who), IsOk());
  EXPECT_EQ(who.app_id(), "demo-app");
  EXPECT_FALSE(who.user_id().empty());
  EXPECT_FALSE(absl::StrContains(token, who.user_id()));

  v1::PutKeyResponse put;
  ASSERT_THAT(Put(token, "anthropic", kAnthropicKey, "", &put), IsOk());
  EXPECT_EQ(put.provider(), "anthropic");
  EXPECT_FALSE(put.replaced());
  ASSERT_THAT(Put(token, "anthropic", "sk-ant-second", "", &put), IsOk());
  EXPECT_TRUE(put.replaced());
  ASSERT_THAT(Put(token, "openai-compatible", "ollama-key", "https://llm.example.com/v1"), IsOk());

  absl::StatusOr<v1::ResolveKeyResponse> resolved = Resolve(token, "anthropic");
  ASSERT_THAT(resolved, IsOk());
  EXPECT_EQ(resolved->key(), "sk-ant-second");
  EXPECT_EQ(resolved->user_id(), who.user_id());
  EXPECT_EQ(resolved->app_id(), "demo-app");
  resolved = Resolve(token, "openai-compatible");
  ASSERT_THAT(resolved, IsOk());
  EXPECT_EQ(resolved->key(), "ollama-key");
  EXPECT_EQ(resolved->base_url(), "https://llm.example.com/v1");

  v1::ListKeysRequest list;
  list.set_token(token);
  v1::ListKeysResponse listed;
  ASSERT_THAT(Call(&Stub::ListKeys, stub(), list, &listed), IsOk());
  ASSERT_EQ(listed.keys_size(), 2);
  EXPECT_EQ(listed.keys(0).provider(), "anthropic");
  EXPECT_EQ(listed.keys(1).provider(), "openai-compatible");
  EXPECT_EQ(listed.keys(1).base_url(), "https://llm.example.com/v1");
  EXPECT_GT(listed.keys(0).created_at().seconds(), 0);
  EXPECT_FALSE(absl::StrContains(listed.SerializeAsString(), "sk-ant-second"));

  v1::RecordUsageRequest usage;
  usage.set_user_id(who.user_id());
  usage.set_provider("anthropic");
  usage.set_model("claude-sonnet-4");
  usage.set_status(200);
  usage.set_latency_ms(120);
  usage.set_input_tokens(10);
  usage.set_output_tokens(20);
  v1::RecordUsageResponse recorded;
  ASSERT_THAT(Call(&Stub::RecordUsage, stub(), usage, &recorded), IsOk());
  usage.set_status(429);
  usage.set_error(true);
  ASSERT_THAT(Call(&Stub::RecordUsage, stub(), usage, &recorded), IsOk());

  v1::GetStatsRequest stats_req;
  stats_req.set_token(token);
  v1::GetStatsResponse stats;
  ASSERT_THAT(Call(&Stub::GetStats, stub(), stats_req, &stats), IsOk());
  EXPECT_EQ(stats.total_requests(), 2);
  EXPECT_EQ(stats.total_errors(), 1);
  EXPECT_EQ(stats.requests_last_7_days(), 2);
  EXPECT_EQ(stats.input_tokens(), 20);
  ASSERT_EQ(stats.providers_size(), 1);
  EXPECT_EQ(stats.providers(0).provider(), "anthropic");
  ASSERT_EQ(stats.top_models_size(), 1);
  EXPECT_EQ(stats.top_models(0).model(), "claude-sonnet-4");
  EXPECT_EQ(stats.users(), 1);

  // App statistics count the distinct users among the app's usage records, as the original does.
  const std::string second = NewToken("demo-app");
  v1::AuthenticateRequest second_auth;
  second_auth.set_token(second);
  v1::AuthenticateResponse second_who;
  ASSERT_THAT(Call(&Stub::Authenticate, stub(), second_auth, &second_who), IsOk());
  usage.set_user_id(second_who.user_id());
  ASSERT_THAT(Call(&Stub::RecordUsage, stub(), usage, &recorded), IsOk());
  stats_req.set_app_id("demo-app");
  stats = v1::GetStatsResponse();
  ASSERT_THAT(Call(&Stub::GetStats, stub(), stats_req, &stats), IsOk());
  EXPECT_EQ(stats.users(), 2);
  EXPECT_EQ(stats.total_requests(), 3);

  v1::DeleteKeyRequest del;
  del.set_token(token);
  del.set_provider("anthropic");
  v1::DeleteKeyResponse deleted;
  ASSERT_THAT(Call(&Stub::DeleteKey, stub(), del, &deleted), IsOk());
  EXPECT_TRUE(deleted.deleted());
  ASSERT_THAT(Call(&Stub::DeleteKey, stub(), del, &deleted), IsOk());
  EXPECT_FALSE(deleted.deleted());
  EXPECT_THAT(Resolve(token, "anthropic"), StatusIs(absl::StatusCode::kNotFound));

  v1::RevokeTokenRequest revoke;
  revoke.set_token(token);
  v1::RevokeTokenResponse revoked;
  ASSERT_THAT(Call(&Stub::RevokeToken, stub(), revoke, &revoked), IsOk());
  EXPECT_THAT(Resolve(token, "openai-compatible"), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(Call(&Stub::ListKeys, stub(), list, &listed),
              StatusIs(absl::StatusCode::kUnauthenticated));

  // Deleting a user erases their keys; the token stops working.
  const std::string other = NewToken("demo-app");
  ASSERT_THAT(Put(other, "openai", "sk-proj-abc-0123456789"), IsOk());
  ASSERT_THAT(Put(other, "groq", "gsk_abc_0123456789"), IsOk());
  v1::DeleteUserRequest erase;
  erase.set_token(other);
  v1::DeleteUserResponse erased;
  ASSERT_THAT(Call(&Stub::DeleteUser, stub(), erase, &erased), IsOk());
  EXPECT_EQ(erased.keys_deleted(), 2);
  EXPECT_THAT(Resolve(other, "openai"), StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(VaultDaemonTest, BadInputsGetTheDocumentedCodes) {
  const std::string token = NewToken();
  const std::string unknown(64, 'a');
  EXPECT_THAT(Put(unknown, "openai", "sk-x"), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(Put("", "openai", "sk-x"), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(Put("not-a-token", "openai", "sk-x"), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(Resolve(unknown, "openai"), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(Put(token, "openai", ""), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Put(token, "openai", std::string(4097, 'k')), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Put(token, "openai", std::string(4096, 'k')), IsOk());
  EXPECT_THAT(Put(token, "openai", "sk-0123456\tX"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Put(token, "openai", "sk-x\n"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Put(token, "openai", "sk-0123456789\r\nX-Injected: 1"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Put(token, "cohere", "sk-x"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Put(token, "OpenAI", "sk-x"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Put(token, "openai", "sk-x", "https://api.example.com"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Put(token, "openai-compatible", "sk-x", "http://10.0.0.1/v1"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Put(token, "openai-compatible", "sk-x", "https://user:pw@example.com/v1"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Resolve(token, "anthropic"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(Resolve(token, "nope"), StatusIs(absl::StatusCode::kInvalidArgument));

  for (const std::string& app : {std::string(), std::string("new\nline"), std::string(257, 'a')}) {
    v1::CreateUserRequest req;
    req.set_app_id(app);
    v1::CreateUserResponse resp;
    EXPECT_THAT(Call(&Stub::CreateUser, stub(), req, &resp), StatusIs(absl::StatusCode::kInvalidArgument))
        << app;
  }
  v1::GetStatsRequest no_scope;
  v1::GetStatsResponse stats;
  EXPECT_THAT(Call(&Stub::GetStats, stub(), no_scope, &stats),
              StatusIs(absl::StatusCode::kInvalidArgument));
  v1::RecordUsageRequest usage;
  usage.set_user_id("no-such-user");
  usage.set_provider("openai");
  v1::RecordUsageResponse recorded;
  EXPECT_THAT(Call(&Stub::RecordUsage, stub(), usage, &recorded), StatusIs(absl::StatusCode::kNotFound));
  usage.set_provider("unknown");
  EXPECT_THAT(Call(&Stub::RecordUsage, stub(), usage, &recorded),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(VaultDaemonTest, ErrorMessagesNeverEchoTheKey) {
  const std::string token = NewToken();
  absl::Status s = Put(token, "openai", "sk-secret-value\twith-tab");
  ASSERT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_FALSE(absl::StrContains(s.message(), "sk-secret-value"));
  s = Put(token, "sk-secret-in-provider-field", "sk-x");
  EXPECT_FALSE(absl::StrContains(s.message(), "sk-secret-in-provider-field"));
  EXPECT_FALSE(absl::StrContains(daemon_->process().Output(), "sk-secret"));
}

TEST_F(VaultDaemonTest, DatabaseFilesHoldNeitherKeyNorToken) {
  const std::string token = NewToken();
  ASSERT_THAT(Put(token, "anthropic", kAnthropicKey), IsOk());
  ASSERT_THAT(Resolve(token, "anthropic"), IsOk());

  auto scan = [&](const std::string& when) {
    int files = 0;
    for (const char* suffix : {"", "-wal", "-shm"}) {
      const std::string path = db_path_ + suffix;
      if (!std::filesystem::exists(path)) continue;
      ++files;
      struct stat st {};
      ASSERT_EQ(::stat(path.c_str(), &st), 0);
      EXPECT_EQ(st.st_mode & 0777, 0600u) << path;
      const std::string bytes = ReadFile(path);
      const std::string lower = absl::AsciiStrToLower(bytes);
      for (const std::string& secret : {std::string(kAnthropicKey), token,
                                        crypto::HexEncode(kAnthropicKey), *crypto::HexDecode(token)}) {
        EXPECT_FALSE(absl::StrContains(bytes, secret)) << when << " " << path;
        EXPECT_FALSE(absl::StrContains(lower, absl::AsciiStrToLower(secret))) << when << " " << path;
      }
    }
    EXPECT_GE(files, 1) << when;
  };
  EXPECT_TRUE(std::filesystem::exists(db_path_ + "-wal"));  // the write-ahead log is scanned too
  scan("while running");
  // An idle client channel left open holds gRPC's graceful shutdown until its deadline; close it as a
  // well-behaved client would.
  daemon_->Disconnect();
  absl::StatusOr<int> exit_code = daemon_->Stop();
  ASSERT_THAT(exit_code, IsOk());
  EXPECT_EQ(*exit_code, 0);
  scan("after shutdown");
  struct stat dir {};
  ASSERT_EQ(::stat((dir_.path() + "/data").c_str(), &dir), 0);
  EXPECT_EQ(dir.st_mode & 0077, 0u);
}

TEST_F(VaultDaemonTest, ConcurrentCallsFromManyThreads) {
  constexpr int kThreads = 8, kCalls = 40;
  std::vector<std::string> tokens;
  for (int t = 0; t < kThreads; ++t) {
    tokens.push_back(NewToken());
    ASSERT_THAT(Put(tokens.back(), "openai", absl::StrCat("sk-thread-0123456789-", t)), IsOk());
  }
  const std::string user_id = [&] {
    v1::AuthenticateRequest req;
    req.set_token(tokens[0]);
    v1::AuthenticateResponse resp;
    EXPECT_THAT(Call(&Stub::Authenticate, stub(), req, &resp), IsOk());
    return resp.user_id();
  }();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCalls; ++i) {
        absl::StatusOr<v1::ResolveKeyResponse> r = Resolve(tokens[t], "openai");
        ASSERT_THAT(r, IsOk());
        EXPECT_EQ(r->key(), absl::StrCat("sk-thread-0123456789-", t));
        v1::RecordUsageRequest usage;
        usage.set_user_id(user_id);
        usage.set_provider("openai");
        usage.set_status(200);
        v1::RecordUsageResponse recorded;
        EXPECT_THAT(Call(&Stub::RecordUsage, stub(), usage, &recorded), IsOk());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  v1::GetStatsRequest req;
  req.set_token(tokens[0]);
  v1::GetStatsResponse stats;
  ASSERT_THAT(Call(&Stub::GetStats, stub(), req, &stats), IsOk());
  EXPECT_EQ(stats.total_requests(), kThreads * kCalls);
}

TEST_F(VaultDaemonTest, StopsGracefullyOnSigterm) {
  absl::StatusOr<int> exit_code = daemon_->Stop();
  ASSERT_THAT(exit_code, IsOk());
  EXPECT_EQ(*exit_code, 0) << daemon_->process().Output();
}

}  // namespace
}  // namespace byok::vault

namespace byok::vault {
namespace {

// The daemon's purge job enforces BYOK_VAULT_AUDIT_RETENTION_DAYS: an event older than the retention
// (written before the start) goes, a newer one stays.
TEST(VaultAuditRetentionTest, ThePurgeJobErasesEventsPastTheRetention) {
  byok::testing::TempDir dir;
  const std::string db_path = dir.path() + "/relay.db";
  {
    absl::StatusOr<std::unique_ptr<SqliteKeyStore>> store = SqliteKeyStore::Open(db_path);
    ASSERT_THAT(store, ::byok::testing::IsOk());
    for (const auto& [user, age] : {std::pair<std::string, absl::Duration>{"old", absl::Hours(24 * 3)},
                                    {"recent", absl::Hours(12)}}) {
      AuditRecord r;
      r.time = absl::Now() - age;
      r.action = v1::AuditEvent::ACTION_KEY_RESOLVED;
      r.user_id = user;
      r.outcome = "OK";
      ASSERT_THAT((*store)->AppendAuditEvent(r), ::byok::testing::IsOk());
    }
  }
  absl::StatusOr<std::unique_ptr<testing::VaultDaemon>> daemon =
      testing::VaultDaemon::Start({{"ENCRYPTION_SECRET", testing::NewSecret()},
                                   {"DB_PATH", db_path},
                                   {"BYOK_VAULT_AUDIT_RETENTION_DAYS", "1"},
                                   {"BYOK_VAULT_PURGE_INTERVAL_S", "1"}});
  ASSERT_THAT(daemon, ::byok::testing::IsOk());
  std::vector<std::string> users;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  do {
    v1::ListAuditEventsRequest q;
    v1::ListAuditEventsResponse r;
    ASSERT_THAT(testing::Call(&v1::Vault::Stub::ListAuditEvents, (*daemon)->stub(), q, &r),
                ::byok::testing::IsOk());
    users.clear();
    for (const v1::AuditEvent& e : r.events()) users.push_back(e.user_id());
    if (users.size() == 1) break;
    absl::SleepFor(absl::Milliseconds(50));
  } while (absl::Now() < deadline);
  EXPECT_THAT(users, ::testing::ElementsAre("recent"));
}

}  // namespace
}  // namespace byok::vault
