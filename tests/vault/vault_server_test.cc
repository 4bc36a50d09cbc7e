// VaultServer in-process, as the all-in-one binary uses it: port 0, a real channel, shutdown, and
// start-up failures.
#include "services/vault/vault_server.h"

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "byok/vault/v1/vault.grpc.pb.h"
#include "common/crypto/hex.h"
#include "common/crypto/random.h"
#include "common/grpc_status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace byok::vault {
namespace {

using ::byok::testing::IsOk;
using ::byok::testing::StatusIs;
using ::byok::testing::TempDir;

VaultConfig Config(const std::string& db_path) {
  VaultConfig c;
  c.listen_address = "127.0.0.1:0";
  c.db_path = db_path;
  c.encryption_secret = *crypto::RandomSecret(32);
  c.service.trusted_loopback = true;  // every caller of this loopback test server is trusted
  return c;
}

TEST(VaultServerTest, BindsPortZeroServesAndShutsDown) {
  TempDir dir;
  absl::StatusOr<std::unique_ptr<VaultServer>> server =
      VaultServer::Start(Config(dir.path() + "/relay.db"));
  ASSERT_THAT(server, IsOk());
  ASSERT_GT((*server)->port(), 0);
  {
    auto stub = v1::Vault::NewStub(grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*server)->port()),
                                                       grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::CreateUserRequest req;
    req.set_app_id("in-process");
    v1::CreateUserResponse resp;
    ASSERT_THAT(FromGrpcStatus(stub->CreateUser(&context, req, &resp)), IsOk());
    EXPECT_EQ(resp.token().size(), 64u);
  }
  const absl::Time start = absl::Now();
  (*server)->Shutdown(absl::Seconds(5));
  EXPECT_LT(absl::Now() - start, absl::Seconds(4));
  (*server)->Shutdown(absl::Seconds(5));  // idempotent
}

TEST(VaultServerTest, TwoServersGetDifferentPorts) {
  TempDir dir;
  auto a = VaultServer::Start(Config(dir.path() + "/a.db"));
  auto b = VaultServer::Start(Config(dir.path() + "/b.db"));
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_NE((*a)->port(), (*b)->port());
}

TEST(VaultServerTest, AddressInUseIsUnavailable) {
  TempDir dir;
  auto first = VaultServer::Start(Config(dir.path() + "/a.db"));
  ASSERT_THAT(first, IsOk());
  VaultConfig c = Config(dir.path() + "/b.db");
  c.listen_address = absl::StrCat("127.0.0.1:", (*first)->port());
  EXPECT_THAT(VaultServer::Start(std::move(c)), StatusIs(absl::StatusCode::kUnavailable));
}

TEST(VaultServerTest, UnopenableDatabaseIsUnavailable) {
  EXPECT_THAT(VaultServer::Start(Config("/proc/byok-no-such/relay.db")),
              StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace byok::vault
