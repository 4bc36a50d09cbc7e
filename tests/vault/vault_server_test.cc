// VaultServer in-process, as the all-in-one binary uses it: port 0, a real channel, shutdown, and
// start-up failures.
#include "services/vault/vault_server.h"

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <filesystem>
#include <string>
#include <thread>

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

// A relay's usage stream never ends by itself: shutdown ends it (UNAVAILABLE, the relay reconnects)
// instead of waiting out its grace for it.
TEST(VaultServerTest, ShutdownEndsAnOpenUsageStreamPromptly) {
  TempDir dir;
  absl::StatusOr<std::unique_ptr<VaultServer>> server =
      VaultServer::Start(Config(dir.path() + "/relay.db"));
  ASSERT_THAT(server, IsOk());
  auto stub = v1::Vault::NewStub(grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*server)->port()),
                                                     grpc::InsecureChannelCredentials()));
  grpc::ClientContext create_context;
  create_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::CreateUserRequest create;
  create.set_app_id("in-process");
  v1::CreateUserResponse created;
  ASSERT_THAT(FromGrpcStatus(stub->CreateUser(&create_context, create, &created)), IsOk());
  grpc::ClientContext who_context;
  who_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::AuthenticateRequest who;
  who.set_token(created.token());
  v1::AuthenticateResponse whose;
  ASSERT_THAT(FromGrpcStatus(stub->Authenticate(&who_context, who, &whose)), IsOk());

  grpc::ClientContext context;
  auto stream = stub->StreamUsage(&context);
  v1::StreamUsageRequest batch;
  batch.set_sequence(1);
  v1::RecordUsageRequest* record = batch.add_records();
  record->set_user_id(whose.user_id());
  record->set_provider("openai");
  record->set_status(200);
  ASSERT_TRUE(stream->Write(batch));
  v1::StreamUsageResponse answer;
  ASSERT_TRUE(stream->Read(&answer));  // the stream is open and working
  EXPECT_EQ(answer.recorded(), 1);

  const absl::Time start = absl::Now();
  std::thread shutdown([&] { (*server)->Shutdown(absl::Seconds(20)); });
  EXPECT_FALSE(stream->Read(&answer));
  const grpc::Status ended = stream->Finish();
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::UNAVAILABLE) << ended.error_message();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  stream.reset();
  stub.reset();  // the channel too: gRPC's shutdown waits for its connection
  shutdown.join();
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
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
