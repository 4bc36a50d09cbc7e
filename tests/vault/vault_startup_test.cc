// byok-vaultd as a process: refusing bad configuration without creating files, --help/--version, the
// health service, and secret rotation across restarts.
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"
#include "tests/vault/vault_daemon.h"

namespace byok::vault {
namespace {

using ::byok::testing::ChildProcess;
using ::byok::testing::IsOk;
using ::byok::testing::StatusIs;
using ::byok::testing::TempDir;
using ::byok::vault::testing::Call;
using ::byok::vault::testing::NewSecret;
using ::byok::vault::testing::VaultDaemon;
using Stub = v1::Vault::Stub;

struct Exit {
  int code = -1;
  std::string output;
};

Exit RunVaultd(const std::vector<std::string>& args, const std::map<std::string, std::string>& env) {
  absl::StatusOr<std::unique_ptr<ChildProcess>> p =
      ChildProcess::Start(byok::testing::BinaryPath("byok-vaultd"), args, env);
  EXPECT_THAT(p, IsOk());
  if (!p.ok()) return {};
  absl::StatusOr<int> code = (*p)->Wait(absl::Seconds(10));
  EXPECT_THAT(code, IsOk());
  return {code.ok() ? *code : -1, (*p)->Output()};
}

TEST(VaultStartupTest, RefusesAMissingOrShortSecretAndCreatesNoFiles) {
  struct Case {
    const char* name;
    std::string secret;  // empty: unset
  };
  // absl::StrCat rather than operator+ on a temporary: GCC 12 at -O3 reports a false -Wrestrict in
  // std::string's insert for "literal" + std::string&& (issue 15).
  const std::vector<Case> cases = {
      {"missing", ""},
      {"31 characters", NewSecret().substr(0, 31)},
      {"31 characters, one of them two bytes", absl::StrCat("\xc3\xa4", std::string(30, 'x'))},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    TempDir dir;
    const std::string db_path = dir.path() + "/data/relay.db";
    std::map<std::string, std::string> env = {{"DB_PATH", db_path},
                                              {"BYOK_VAULT_ADDR", "127.0.0.1:0"}};
    if (!c.secret.empty()) env["ENCRYPTION_SECRET"] = c.secret;
    Exit e = RunVaultd({}, env);
    EXPECT_EQ(e.code, 2);
    EXPECT_THAT(e.output, ::testing::HasSubstr("ENCRYPTION_SECRET"));
    if (!c.secret.empty()) {
      EXPECT_THAT(e.output, ::testing::HasSubstr("at least 32 characters"));
      EXPECT_FALSE(absl::StrContains(e.output, c.secret)) << e.output;
    }
    EXPECT_FALSE(std::filesystem::exists(dir.path() + "/data")) << "database folder created";
  }
}

// Every value the original accepted starts the vault; where it is weak or read loosely, with a warning
// that never quotes a secret.
TEST(VaultStartupTest, StartsWithWhatTheOriginalAcceptedAndWarns) {
  TempDir dir;
  const std::string weak(64, 'a');
  absl::StatusOr<std::unique_ptr<VaultDaemon>> d = VaultDaemon::Start(
      {{"ENCRYPTION_SECRET", weak}, {"DB_PATH", dir.path() + "/relay.db"}, {"TOKEN_EXPIRY_DAYS", "30d"}});
  ASSERT_THAT(d, IsOk());
  v1::CreateUserRequest create;
  create.set_app_id("warned");
  v1::CreateUserResponse created;
  ASSERT_THAT(Call(&Stub::CreateUser, (*d)->stub(), create, &created), IsOk());
  EXPECT_GT(created.expires_at().seconds(), 0);
  ASSERT_THAT((*d)->Stop(), IsOk());
  const std::string output = (*d)->process().Output();
  EXPECT_THAT(output, ::testing::HasSubstr("ENCRYPTION_SECRET is weak"));
  EXPECT_THAT(output, ::testing::HasSubstr("TOKEN_EXPIRY_DAYS is read as 30 days"));
  EXPECT_FALSE(absl::StrContains(output, weak));
}

TEST(VaultStartupTest, RefusesBadSettingsNamingTheVariable) {
  TempDir dir;
  const std::map<std::string, std::string> base = {{"ENCRYPTION_SECRET", NewSecret()},
                                                   {"DB_PATH", dir.path() + "/relay.db"},
                                                   {"BYOK_VAULT_ADDR", "127.0.0.1:0"}};
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"ENCRYPTION_SECRET_PREVIOUS", "abc"},
           {"TOKEN_HMAC_SECRET", "short"},
           {"LOG_LEVEL", "loud"},
           {"BYOK_VAULT_PURGE_INTERVAL_S", "0"}}) {
    SCOPED_TRACE(name);
    std::map<std::string, std::string> env = base;
    env[name] = value;
    Exit e = RunVaultd({}, env);
    EXPECT_EQ(e.code, 2);
    EXPECT_THAT(e.output, ::testing::HasSubstr(name));
    EXPECT_FALSE(std::filesystem::exists(dir.path() + "/relay.db"));
  }
}

TEST(VaultStartupTest, AnswersHelpAndVersion) {
  Exit help = RunVaultd({"--help"}, {});
  EXPECT_EQ(help.code, 0);
  EXPECT_THAT(help.output, ::testing::HasSubstr("ENCRYPTION_SECRET"));
  Exit version = RunVaultd({"--version"}, {});
  EXPECT_EQ(version.code, 0);
  EXPECT_THAT(version.output, ::testing::HasSubstr("byok-vaultd"));
  EXPECT_EQ(RunVaultd({"--bogus"}, {}).code, 2);
}

TEST(VaultStartupTest, HealthServiceReportsServing) {
  TempDir dir;
  absl::StatusOr<std::unique_ptr<VaultDaemon>> d = VaultDaemon::Start(
      {{"ENCRYPTION_SECRET", NewSecret()}, {"DB_PATH", dir.path() + "/relay.db"}});
  ASSERT_THAT(d, IsOk());
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*d)->port()),
                                     grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1);  // HealthCheckRequest{service: ""}
  grpc::ByteBuffer response;
  grpc::Status status;
  absl::Notification done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (const grpc::Slice& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  EXPECT_EQ(bytes, std::string("\x08\x01", 2));  // HealthCheckResponse{status: SERVING}
}

// Rotation: store under secret A; restart with B and PREVIOUS=A: the key still resolves; Rewrap moves
// every row to B; restart with B alone: the key still resolves.
TEST(VaultStartupTest, RotationAcrossRestarts) {
  TempDir dir;
  const std::string db_path = dir.path() + "/relay.db";
  const std::string a = NewSecret(), b = NewSecret(), hmac = NewSecret();
  // Token hashes must survive the change of ENCRYPTION_SECRET: a fixed TOKEN_HMAC_SECRET keeps them.
  auto env = [&](const std::string& secret, const std::string& previous) {
    std::map<std::string, std::string> e = {
        {"ENCRYPTION_SECRET", secret}, {"DB_PATH", db_path}, {"TOKEN_HMAC_SECRET", hmac}};
    if (!previous.empty()) e["ENCRYPTION_SECRET_PREVIOUS"] = previous;
    return e;
  };
  auto resolve = [](VaultDaemon& d, const std::string& token, const std::string& provider) {
    v1::ResolveKeyRequest req;
    req.set_token(token);
    req.set_provider(provider);
    v1::ResolveKeyResponse resp;
    absl::Status s = Call(&Stub::ResolveKey, d.stub(), req, &resp);
    return s.ok() ? absl::StatusOr<std::string>(resp.key()) : absl::StatusOr<std::string>(s);
  };

  std::string token;
  {
    absl::StatusOr<std::unique_ptr<VaultDaemon>> d = VaultDaemon::Start(env(a, ""));
    ASSERT_THAT(d, IsOk());
    v1::CreateUserRequest create;
    create.set_app_id("rotation");
    v1::CreateUserResponse created;
    ASSERT_THAT(Call(&Stub::CreateUser, (*d)->stub(), create, &created), IsOk());
    token = created.token();
    for (const char* provider : {"openai", "anthropic", "groq"}) {
      v1::PutKeyRequest put;
      put.set_token(token);
      put.set_provider(provider);
      put.set_key(absl::StrCat("key-for-", provider));
      v1::PutKeyResponse resp;
      ASSERT_THAT(Call(&Stub::PutKey, (*d)->stub(), put, &resp), IsOk());
    }
  }
  {
    // Without the old secret, the rows do not decrypt: DATA_LOSS for that request, the daemon lives.
    absl::StatusOr<std::unique_ptr<VaultDaemon>> d = VaultDaemon::Start(env(b, ""));
    ASSERT_THAT(d, IsOk());
    EXPECT_THAT(resolve(**d, token, "openai"), StatusIs(absl::StatusCode::kDataLoss));
    EXPECT_TRUE((*d)->process().Running());
  }
  {
    absl::StatusOr<std::unique_ptr<VaultDaemon>> d =
        VaultDaemon::Start(env(b, absl::StrCat(NewSecret(), ",", a)));
    ASSERT_THAT(d, IsOk());
    absl::StatusOr<std::string> key = resolve(**d, token, "openai");
    ASSERT_THAT(key, IsOk());
    EXPECT_EQ(*key, "key-for-openai");
    v1::RewrapRequest rewrap;
    rewrap.set_batch_size(2);
    v1::RewrapResponse first, second, third;
    ASSERT_THAT(Call(&Stub::Rewrap, (*d)->stub(), rewrap, &first), IsOk());
    EXPECT_EQ(first.rewrapped(), 2);
    EXPECT_EQ(first.remaining(), 1);
    ASSERT_THAT(Call(&Stub::Rewrap, (*d)->stub(), rewrap, &second), IsOk());
    EXPECT_EQ(second.rewrapped(), 1);
    EXPECT_EQ(second.remaining(), 0);
    ASSERT_THAT(Call(&Stub::Rewrap, (*d)->stub(), rewrap, &third), IsOk());
    EXPECT_EQ(third.rewrapped(), 0);
    EXPECT_EQ(third.failed(), 0);
  }
  {
    absl::StatusOr<std::unique_ptr<VaultDaemon>> d = VaultDaemon::Start(env(b, ""));
    ASSERT_THAT(d, IsOk());
    for (const char* provider : {"openai", "anthropic", "groq"}) {
      absl::StatusOr<std::string> key = resolve(**d, token, provider);
      ASSERT_THAT(key, IsOk()) << provider;
      EXPECT_EQ(*key, absl::StrCat("key-for-", provider));
    }
  }
}

}  // namespace
}  // namespace byok::vault
