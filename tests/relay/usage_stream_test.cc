// The relay's usage records over the vault's usage stream (services/relay/usage_stream.h), against a
// real vault on loopback: a waited-for record is stored when its `settled` runs (a GetStats then counts
// it) and every record goes over one stream; when the stream breaks (the vault restarts) the records
// not answered are sent again and none is lost; a vault without StreamUsage (UNIMPLEMENTED) gets
// RecordUsageBatch calls instead, for good; a vault that stops answering has the stream broken after
// the answer timeout and its batches handed back.
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "byok/vault/v1/vault.grpc.pb.h"
#include "common/crypto/random.h"
#include "common/grpc_status.h"
#include "gtest/gtest.h"
#include "services/relay/usage_stream.h"
#include "services/relay/vault_client.h"
#include "services/vault/vault_server.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace byok::relay {
namespace {

namespace v1 = vault::v1;
using ::byok::testing::IsOk;
using ::byok::testing::TempDir;

class RelayUsageStreamTest : public ::testing::Test {
 protected:
  // Starts (or restarts, on the same database) the vault on `port` (0: any).
  void StartVault(int port) {
    vault::VaultConfig c;
    c.listen_address = absl::StrCat("127.0.0.1:", port);
    c.db_path = dir_.path() + "/relay.db";
    if (secret_.empty()) secret_ = *crypto::RandomSecret(32);
    c.encryption_secret = secret_;
    c.service.trusted_loopback = true;  // every caller of this loopback test vault is trusted
    absl::StatusOr<std::unique_ptr<vault::VaultServer>> server = vault::VaultServer::Start(std::move(c));
    ASSERT_THAT(server, IsOk());
    vault_ = *std::move(server);
    port_ = vault_->port();
    stub_ = v1::Vault::NewStub(grpc::CreateChannel(address(), grpc::InsecureChannelCredentials()));
  }

  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

  // A new user: its token and the user id its records carry.
  void NewUser() {
    grpc::ClientContext create_context;
    create_context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::CreateUserRequest create;
    create.set_app_id("usage-stream");
    v1::CreateUserResponse created;
    ASSERT_THAT(FromGrpcStatus(stub_->CreateUser(&create_context, create, &created)), IsOk());
    token_ = created.token();
    grpc::ClientContext who_context;
    who_context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::AuthenticateRequest who;
    who.set_token(token_);
    v1::AuthenticateResponse whose;
    ASSERT_THAT(FromGrpcStatus(stub_->Authenticate(&who_context, who, &whose)), IsOk());
    user_id_ = whose.user_id();
  }

  v1::RecordUsageRequest Record() const {
    v1::RecordUsageRequest r;
    r.set_user_id(user_id_);
    r.set_provider("openai");
    r.set_status(200);
    return r;
  }

  // The vault's count of the user's requests (GetStats, as GET /stats asks it).
  int64_t Total() {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::GetStatsRequest request;
    request.set_token(token_);
    v1::GetStatsResponse stats;
    EXPECT_THAT(FromGrpcStatus(stub_->GetStats(&context, request, &stats)), IsOk());
    return stats.total_requests();
  }

  // Records one waited-for record and waits for its `settled`.
  void RecordAndWait(VaultClient& client) {
    absl::Notification settled;
    client.RecordUsage(Record(), [&settled] { settled.Notify(); });
    ASSERT_TRUE(settled.WaitForNotificationWithTimeout(absl::Seconds(10)));
  }

  TempDir dir_;
  crypto::SecretBytes secret_;
  std::unique_ptr<vault::VaultServer> vault_;
  int port_ = 0;
  std::unique_ptr<v1::Vault::Stub> stub_;
  std::string token_, user_id_;
};

TEST_F(RelayUsageStreamTest, WaitedRecordsAreStoredWhenSettledOverOneStream) {
  StartVault(0);
  NewUser();
  VaultClient client(address(), grpc::InsecureChannelCredentials(), absl::Seconds(5));
  for (int i = 1; i <= 5; ++i) {
    RecordAndWait(client);
    EXPECT_EQ(Total(), i);  // stored before `settled` ran: a GET /stats right after counts it
  }
  EXPECT_EQ(client.usage_streams_opened(), 1);
}

// With several batches in flight (UsageBatcherOptions::max_in_flight), records of requests that end
// together are written without waiting for earlier answers, and those handed over while a write is
// outstanding leave together; each one's `settled` still runs once, after it is stored.
TEST_F(RelayUsageStreamTest, PipelinedRecordsAreEachSettledOnceAfterTheyAreStored) {
  StartVault(0);
  NewUser();
  UsageBatcherOptions options;
  options.max_in_flight = 8;
  VaultClient client(address(), grpc::InsecureChannelCredentials(), absl::Seconds(5), options);
  constexpr int kThreads = 8, kEach = 25;
  std::atomic<int> settled{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        absl::Notification done;
        client.RecordUsage(Record(), [&] {
          settled.fetch_add(1);
          done.Notify();
        });
        EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(settled.load(), kThreads * kEach);
  EXPECT_EQ(Total(), kThreads * kEach);
  EXPECT_EQ(client.usage_streams_opened(), 1);
}

// With one batch in flight (the default) and with several.
class RelayUsageStreamBreakTest : public RelayUsageStreamTest,
                                  public ::testing::WithParamInterface<int> {};

TEST_P(RelayUsageStreamBreakTest, ABrokenStreamLosesNoRecord) {
  StartVault(0);
  NewUser();
  UsageBatcherOptions options;
  options.flush_interval = absl::Milliseconds(50);
  options.max_in_flight = GetParam();
  VaultClient client(address(), grpc::InsecureChannelCredentials(), absl::Seconds(5), options);
  RecordAndWait(client);
  ASSERT_EQ(Total(), 1);
  // Records in flight while the vault shuts down, and records made while it is away: each one's
  // `settled` runs (its request does not wait for the vault's return), and each is kept.
  constexpr int kDuring = 40, kAway = 20;
  std::atomic<int> settled{0};
  std::thread during([&] {
    for (int i = 0; i < kDuring; ++i) client.RecordUsage(Record(), [&] { settled.fetch_add(1); });
  });
  vault_->Shutdown(absl::Seconds(1));
  during.join();
  vault_.reset();
  for (int i = 0; i < kAway; ++i) client.RecordUsage(Record(), [&] { settled.fetch_add(1); });
  StartVault(port_);  // the same database, on the same port
  // The batcher sends again what the broken stream did not answer; wait (bounded) until all is in.
  const int64_t want = 1 + kDuring + kAway;
  for (int i = 0; i < 400 && Total() < want; ++i) absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(Total(), want);
  client.DrainUsage(absl::Seconds(5));
  EXPECT_EQ(Total(), want);  // nothing twice
  EXPECT_EQ(settled.load(), kDuring + kAway);
  EXPECT_GE(client.usage_streams_opened(), 2);
}

INSTANTIATE_TEST_SUITE_P(InFlight, RelayUsageStreamBreakTest, ::testing::Values(1, 8));

// A vault from before StreamUsage: only RecordUsageBatch (every other method UNIMPLEMENTED).
class UnaryOnlyVault final : public v1::Vault::CallbackService {
 public:
  grpc::ServerUnaryReactor* RecordUsageBatch(grpc::CallbackServerContext* context,
                                             const v1::RecordUsageBatchRequest* request,
                                             v1::RecordUsageBatchResponse* response) override {
    records_.fetch_add(request->records_size());
    response->set_recorded(request->records_size());
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  int records() const { return records_.load(); }

 private:
  std::atomic<int> records_{0};
};

TEST_F(RelayUsageStreamTest, AnOlderVaultGetsRecordUsageBatchCallsForGood) {
  UnaryOnlyVault old_vault;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&old_vault);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  port_ = port;
  {
    VaultClient client(address(), grpc::InsecureChannelCredentials(), absl::Seconds(5));
    for (int i = 1; i <= 5; ++i) {
      RecordAndWait(client);
      EXPECT_EQ(old_vault.records(), i);  // stored (by the unary call) before `settled` ran
    }
    EXPECT_EQ(client.usage_streams_opened(), 1);  // tried once, then never again
  }
  server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
}

// A vault that answers the first `answer_first` usage messages of the process and then reads on
// without answering (a vault stuck in its store).
class StopsAnsweringVault final : public v1::Vault::CallbackService {
 public:
  explicit StopsAnsweringVault(int answer_first) : answer_first_(answer_first) {}

  grpc::ServerBidiReactor<v1::StreamUsageRequest, v1::StreamUsageResponse>* StreamUsage(
      grpc::CallbackServerContext*) override {
    return new Reactor(*this);
  }

 private:
  // Ping-pong: the next read starts after the answer went out, so a read and a write never overlap.
  class Reactor final : public grpc::ServerBidiReactor<v1::StreamUsageRequest, v1::StreamUsageResponse> {
   public:
    explicit Reactor(StopsAnsweringVault& vault) : vault_(vault) { StartRead(&in_); }
    void OnReadDone(bool ok) override {
      if (!ok) return Finish(grpc::Status::OK);
      if (vault_.answered_.fetch_add(1) >= vault_.answer_first_) return StartRead(&in_);
      out_.set_sequence(in_.sequence());
      out_.set_recorded(in_.records_size());
      StartWrite(&out_);
    }
    void OnWriteDone(bool) override { StartRead(&in_); }
    void OnDone() override { delete this; }

   private:
    StopsAnsweringVault& vault_;
    v1::StreamUsageRequest in_;
    v1::StreamUsageResponse out_;
  };

  const int answer_first_;
  std::atomic<int> answered_{0};
};

class RelayUsageStreamWatchdogTest : public ::testing::Test {
 protected:
  static constexpr absl::Duration kAnswerTimeout = absl::Milliseconds(300);

  void Start(int answer_first) {
    vault_ = std::make_unique<StopsAnsweringVault>(answer_first);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(vault_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    auto stub = std::shared_ptr<v1::Vault::Stub>(v1::Vault::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials())));
    UsageBatcher::SendFn no_unary = [](v1::RecordUsageBatchRequest, UsageBatcher::Done done) {
      done({}, absl::InternalError("no unary calls in this test"));
    };
    stream_ = std::make_unique<UsageStream>(stub, kAnswerTimeout, std::move(no_unary));
    // Lets the watchdog thread reach its wait with nothing to watch, so that the first batch must
    // wake it (without this pause, a batch sent before the thread first looks is seen without one).
    absl::SleepFor(absl::Milliseconds(100));
  }

  void TearDown() override {
    stream_.reset();
    if (server_ != nullptr) server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  }

  // Sends a one-record batch; the outcome holds the status its `done` got, and when.
  struct Outcome {
    absl::Notification done;
    absl::Status status;
    absl::Time at;
  };
  std::shared_ptr<Outcome> Send() {
    auto outcome = std::make_shared<Outcome>();
    v1::RecordUsageBatchRequest batch;
    batch.add_records()->set_provider("openai");
    stream_->Send(std::move(batch), [outcome](v1::RecordUsageBatchRequest, absl::Status status) {
      outcome->status = std::move(status);
      outcome->at = absl::Now();
      outcome->done.Notify();
    });
    return outcome;
  }

  std::unique_ptr<StopsAnsweringVault> vault_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<UsageStream> stream_;
};

TEST_F(RelayUsageStreamWatchdogTest, AnUnansweredBatchIsHandedBackAfterTheAnswerTimeout) {
  ASSERT_NO_FATAL_FAILURE(Start(/*answer_first=*/0));
  const absl::Time sent = absl::Now();
  std::shared_ptr<Outcome> outcome = Send();
  ASSERT_TRUE(outcome->done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(outcome->status.code(), absl::StatusCode::kUnavailable) << outcome->status;
  EXPECT_GE(outcome->at - sent, kAnswerTimeout);
}

// The second batch is written after the first was answered, while the watchdog still waits for the
// first one's deadline: it must still be handed back once its own deadline passes.
TEST_F(RelayUsageStreamWatchdogTest, ABatchWrittenWhileTheWatchdogWaitsOnAnEarlierDeadlineIsWatchedToo) {
  ASSERT_NO_FATAL_FAILURE(Start(/*answer_first=*/1));
  std::shared_ptr<Outcome> first = Send();
  ASSERT_TRUE(first->done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(first->status.ok()) << first->status;
  const absl::Time sent = absl::Now();
  std::shared_ptr<Outcome> second = Send();
  ASSERT_TRUE(second->done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(second->status.code(), absl::StatusCode::kUnavailable) << second->status;
  EXPECT_GE(second->at - sent, kAnswerTimeout);
  EXPECT_LT(second->at - sent, 2 * kAnswerTimeout + absl::Seconds(2));
  EXPECT_EQ(stream_->streams_opened(), 1);
}

}  // namespace
}  // namespace byok::relay
