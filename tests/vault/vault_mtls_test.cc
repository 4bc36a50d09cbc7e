// byok-vaultd with mutual TLS: only CA-signed callers get in, and only the relay may resolve keys.
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/mtls_certificates.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"
#include "tests/vault/vault_daemon.h"

namespace byok::vault {
namespace {

using ::byok::testing::IsOk;
using ::byok::testing::ReadFile;
using ::byok::testing::StatusIs;
using ::byok::testing::TempDir;
using ::byok::vault::testing::Call;
using ::byok::vault::testing::NewSecret;
using ::byok::vault::testing::VaultDaemon;
using Stub = v1::Vault::Stub;

class VaultMtlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(byok::testing::WriteMutualTlsCertificates(dir_.path(), {"vault", "relay", "gateway", "admin"}),
                IsOk());
    absl::StatusOr<std::unique_ptr<VaultDaemon>> d = VaultDaemon::Start({
        {"ENCRYPTION_SECRET", NewSecret()},
        {"DB_PATH", dir_.path() + "/relay.db"},
        {"BYOK_TLS_CERT_FILE", dir_.path() + "/vault.pem"},
        {"BYOK_TLS_KEY_FILE", dir_.path() + "/vault.key"},
        {"BYOK_TLS_CA_FILE", dir_.path() + "/ca.pem"},
    });
    ASSERT_THAT(d, IsOk());
    daemon_ = *std::move(d);
  }

  // A stub that presents `identity`'s certificate (none when empty).
  std::unique_ptr<Stub> StubAs(const std::string& identity) {
    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = ReadFile(dir_.path() + "/ca.pem");
    if (!identity.empty()) {
      tls.pem_private_key = ReadFile(dir_.path() + "/" + identity + ".key");
      tls.pem_cert_chain = ReadFile(dir_.path() + "/" + identity + ".pem");
    }
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("vault");
    return v1::Vault::NewStub(grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", daemon_->port()),
                                                   grpc::SslCredentials(tls), args));
  }

  std::string TokenWithKey(Stub& stub) {
    v1::CreateUserRequest create;
    create.set_app_id("mtls");
    v1::CreateUserResponse created;
    EXPECT_THAT(Call(&Stub::CreateUser, stub, create, &created), IsOk());
    v1::PutKeyRequest put;
    put.set_token(created.token());
    put.set_provider("openai");
    put.set_key("sk-mtls-0123456789");
    v1::PutKeyResponse stored;
    EXPECT_THAT(Call(&Stub::PutKey, stub, put, &stored), IsOk());
    return created.token();
  }

  TempDir dir_;
  std::unique_ptr<VaultDaemon> daemon_;
};

TEST_F(VaultMtlsTest, OnlyTheRelayResolvesKeysAndRecordsUsageAndOnlyAdminsRewrap) {
  auto gateway = StubAs("gateway");
  auto relay = StubAs("relay");
  auto admin = StubAs("admin");
  const std::string token = TokenWithKey(*gateway);

  v1::ResolveKeyRequest resolve;
  resolve.set_token(token);
  resolve.set_provider("openai");
  v1::ResolveKeyResponse resolved;
  EXPECT_THAT(Call(&Stub::ResolveKey, *gateway, resolve, &resolved),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_TRUE(resolved.key().empty());
  ASSERT_THAT(Call(&Stub::ResolveKey, *relay, resolve, &resolved), IsOk());
  EXPECT_EQ(resolved.key(), "sk-mtls-0123456789");

  // Usage batches come from the relay only: nobody else can inflate a user's statistics.
  v1::RecordUsageBatchRequest batch;
  v1::RecordUsageRequest* usage = batch.add_records();
  usage->set_user_id(resolved.user_id());
  usage->set_provider("openai");
  v1::RecordUsageBatchResponse recorded;
  EXPECT_THAT(Call(&Stub::RecordUsageBatch, *gateway, batch, &recorded),
              StatusIs(absl::StatusCode::kPermissionDenied));
  ASSERT_THAT(Call(&Stub::RecordUsageBatch, *relay, batch, &recorded), IsOk());
  EXPECT_EQ(recorded.recorded(), 1);

  v1::RewrapRequest rewrap;
  v1::RewrapResponse rewrapped;
  EXPECT_THAT(Call(&Stub::Rewrap, *relay, rewrap, &rewrapped),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(Call(&Stub::Rewrap, *admin, rewrap, &rewrapped), IsOk());
}

TEST_F(VaultMtlsTest, CallersWithoutACertificateOrWithoutTlsAreRefused) {
  v1::CreateUserRequest create;
  create.set_app_id("mtls");
  v1::CreateUserResponse created;
  auto anonymous = StubAs("");
  EXPECT_THAT(Call(&Stub::CreateUser, *anonymous, create, &created),
              StatusIs(absl::StatusCode::kUnavailable));
  auto plaintext = v1::Vault::NewStub(grpc::CreateChannel(absl::StrCat("127.0.0.1:", daemon_->port()),
                                                     grpc::InsecureChannelCredentials()));
  EXPECT_THAT(Call(&Stub::CreateUser, *plaintext, create, &created),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(created.token().empty());
}

TEST(VaultMtlsConfigTest, PartialTlsSettingsStopStartUp) {
  TempDir dir;
  absl::StatusOr<std::unique_ptr<byok::testing::ChildProcess>> p = byok::testing::ChildProcess::Start(
      byok::testing::BinaryPath("byok-vaultd"), {},
      {{"ENCRYPTION_SECRET", NewSecret()},
       {"DB_PATH", dir.path() + "/relay.db"},
       {"BYOK_TLS_CERT_FILE", dir.path() + "/missing.pem"}});
  ASSERT_THAT(p, IsOk());
  absl::StatusOr<int> code = (*p)->Wait(absl::Seconds(10));
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 2);
  EXPECT_THAT((*p)->Output(), ::testing::HasSubstr("BYOK_TLS_KEY_FILE"));
}

}  // namespace
}  // namespace byok::vault
