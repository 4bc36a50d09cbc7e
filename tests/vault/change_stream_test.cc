// Vault.WatchKeyChanges through a real VaultServer and the shared subscriber (KeyChangeWatch):
// changes arrive as they are made, only service callers may subscribe, shutdown ends the streams
// without waiting out the grace, and on PostgreSQL a change through one replica reaches a
// subscriber of another, also after the LISTEN connection was cut.
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "byok/vault/v1/vault.grpc.pb.h"
#include "common/crypto/random.h"
#include "common/grpc_status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/vault/client/key_change_watch.h"
#include "services/vault/vault_server.h"
#include "tests/testing/postgres_server.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace byok::vault {
namespace {

using ::byok::testing::IsOk;
using ::byok::testing::TempDir;
using Change = v1::WatchKeyChangesResponse;

constexpr absl::Duration kWait = absl::Seconds(10);

// Records what the subscription reports, for tests to wait on.
class RecordingListener : public KeyChangeListener {
 public:
  void OnSubscribed() override {
    absl::MutexLock lock(&mu_);
    ++subscribed_;
    live_ = true;
  }
  void OnChange(const Change& change) override {
    absl::MutexLock lock(&mu_);
    changes_.push_back(change);
  }
  void OnUnsubscribed() override {
    absl::MutexLock lock(&mu_);
    ++unsubscribed_;
    live_ = false;
  }

  // Waits until subscribed `n` times in all and live.
  bool WaitSubscribed(int n = 1) {
    absl::MutexLock lock(&mu_);
    auto ready = [this, n]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return live_ && subscribed_ >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&ready), kWait);
  }
  bool WaitUnsubscribed() {
    absl::MutexLock lock(&mu_);
    auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return unsubscribed_ > 0; };
    return mu_.AwaitWithTimeout(absl::Condition(&ready), kWait);
  }
  // Waits for a change of `kind` for `user` (and `provider` when given).
  bool WaitFor(Change::Kind kind, const std::string& user, const std::string& provider = "") {
    absl::MutexLock lock(&mu_);
    auto seen = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      for (const Change& c : changes_) {
        if (c.kind() == kind && c.user_id() == user && (provider.empty() || c.provider() == provider)) {
          return true;
        }
      }
      return false;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&seen), kWait);
  }
  std::vector<Change> changes() {
    absl::MutexLock lock(&mu_);
    return changes_;
  }

 private:
  absl::Mutex mu_;
  int subscribed_ ABSL_GUARDED_BY(mu_) = 0;
  int unsubscribed_ ABSL_GUARDED_BY(mu_) = 0;
  bool live_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<Change> changes_ ABSL_GUARDED_BY(mu_);
};

VaultConfig Config(const std::string& db_path, const std::string& database_url = "") {
  VaultConfig c;
  c.listen_address = "127.0.0.1:0";
  c.db_path = db_path;
  c.database_url = database_url;
  c.encryption_secret = crypto::SecretBytes("change-stream-test-secret-0123456789abcdef");
  c.service.trusted_loopback = true;
  return c;
}

std::shared_ptr<grpc::Channel> ChannelTo(const VaultServer& server) {
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", server.port()),
                             grpc::InsecureChannelCredentials());
}

// A user with a token, made through `vault`.
struct User {
  std::string token;
  std::string id;
};

User Register(v1::Vault::Stub& vault) {
  User user;
  grpc::ClientContext create;
  v1::CreateUserRequest req;
  req.set_app_id("change-stream-test");
  v1::CreateUserResponse resp;
  EXPECT_TRUE(vault.CreateUser(&create, req, &resp).ok());
  user.token = resp.token();
  grpc::ClientContext auth;
  v1::AuthenticateRequest areq;
  areq.set_token(user.token);
  v1::AuthenticateResponse aresp;
  EXPECT_TRUE(vault.Authenticate(&auth, areq, &aresp).ok());
  user.id = aresp.user_id();
  return user;
}

absl::Status PutKey(v1::Vault::Stub& vault, const User& user, const std::string& provider) {
  grpc::ClientContext context;
  v1::PutKeyRequest req;
  req.set_token(user.token);
  req.set_provider(provider);
  req.set_key("sk-change-stream-test-0123456789");
  v1::PutKeyResponse resp;
  return FromGrpcStatus(vault.PutKey(&context, req, &resp));
}

absl::Status Revoke(v1::Vault::Stub& vault, const User& user) {
  grpc::ClientContext context;
  v1::RevokeTokenRequest req;
  req.set_token(user.token);
  v1::RevokeTokenResponse resp;
  return FromGrpcStatus(vault.RevokeToken(&context, req, &resp));
}

TEST(ChangeStreamTest, ChangesArriveAndShutdownEndsTheStreamAtOnce) {
  TempDir dir;
  absl::StatusOr<std::unique_ptr<VaultServer>> server = VaultServer::Start(Config(dir.path() + "/v.db"));
  ASSERT_THAT(server, IsOk());
  auto stub = v1::Vault::NewStub(ChannelTo(**server));
  RecordingListener listener;
  KeyChangeWatch watch(ChannelTo(**server), listener);
  ASSERT_TRUE(listener.WaitSubscribed());

  const User user = Register(*stub);
  ASSERT_THAT(PutKey(*stub, user, "openai"), IsOk());
  EXPECT_TRUE(listener.WaitFor(Change::KIND_KEY_CHANGED, user.id, "openai"));
  ASSERT_THAT(Revoke(*stub, user), IsOk());
  EXPECT_TRUE(listener.WaitFor(Change::KIND_USER_CHANGED, user.id));
  for (const Change& c : listener.changes()) {
    EXPECT_NE(c.kind(), Change::KIND_UNSPECIFIED);
    EXPECT_NE(c.kind(), Change::KIND_SUBSCRIBED) << "SUBSCRIBED comes once, first";
  }

  // The subscriber's stream would hold a graceful shutdown for the whole grace: it must not.
  const absl::Time start = absl::Now();
  (*server)->Shutdown(absl::Seconds(20));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_TRUE(listener.WaitUnsubscribed());
}

TEST(ChangeStreamTest, OnlyServiceCallersMaySubscribe) {
  TempDir dir;
  VaultConfig config = Config(dir.path() + "/v.db");
  config.service.trusted_loopback = false;
  config.service.token = crypto::SecretBytes("a-service-token-of-enough-length-0123456789");
  absl::StatusOr<std::unique_ptr<VaultServer>> server = VaultServer::Start(std::move(config));
  ASSERT_THAT(server, IsOk());
  auto stub = v1::Vault::NewStub(ChannelTo(**server));
  grpc::ClientContext context;
  v1::WatchKeyChangesRequest req;
  std::unique_ptr<grpc::ClientReader<Change>> reader = stub->WatchKeyChanges(&context, req);
  Change first;
  EXPECT_FALSE(reader->Read(&first));
  const grpc::Status status = reader->Finish();
  EXPECT_TRUE(status.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
              status.error_code() == grpc::StatusCode::PERMISSION_DENIED)
      << status.error_code() << " " << status.error_message();
}

TEST(ChangeStreamPostgresTest, AChangeThroughOneReplicaReachesSubscribersOfAnother) {
  absl::StatusOr<std::string> url = byok::testing::FreshPostgresDatabase();
  ASSERT_THAT(url, IsOk());
  TempDir dir;
  absl::StatusOr<std::unique_ptr<VaultServer>> a = VaultServer::Start(Config(dir.path() + "/a.db", *url));
  ASSERT_THAT(a, IsOk());
  absl::StatusOr<std::unique_ptr<VaultServer>> b = VaultServer::Start(Config(dir.path() + "/b.db", *url));
  ASSERT_THAT(b, IsOk());
  auto through_a = v1::Vault::NewStub(ChannelTo(**a));
  RecordingListener on_b;
  KeyChangeWatch watch(ChannelTo(**b), on_b);
  ASSERT_TRUE(on_b.WaitSubscribed());

  const User user = Register(*through_a);
  ASSERT_THAT(PutKey(*through_a, user, "anthropic"), IsOk());
  EXPECT_TRUE(on_b.WaitFor(Change::KIND_KEY_CHANGED, user.id, "anthropic"));

  // Cut every LISTEN connection: B's subscriber must hear that it may have missed changes
  // (unsubscribed), then resubscribe once B listens again, and hear the next change.
  ASSERT_THAT(byok::testing::PostgresServer::Exec(
                  *url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = 'byok-vaultd-changes'"),
              IsOk());
  EXPECT_TRUE(on_b.WaitUnsubscribed());
  EXPECT_TRUE(on_b.WaitSubscribed(2));
  ASSERT_THAT(Revoke(*through_a, user), IsOk());
  EXPECT_TRUE(on_b.WaitFor(Change::KIND_USER_CHANGED, user.id));
}

}  // namespace
}  // namespace byok::vault
