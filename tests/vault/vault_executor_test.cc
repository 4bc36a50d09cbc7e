// The vault's store work off gRPC's threads: VaultService over a real in-process gRPC server, with
// its StoreExecutor and UsageCommit, on an in-memory SQLite store. Store work runs on the executor's
// threads; a call whose deadline passes while it waits never touches the store; a full queue answers
// UNAVAILABLE; RecordUsageBatch calls that wait together share one transaction, each answered with
// its own count; StreamUsage batches go through the same group commit.
#include <grpcpp/client_context.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "byok/vault/v1/vault.grpc.pb.h"
#include "common/caller_policy.h"
#include "common/crypto/keyring_aead.h"
#include "common/grpc_status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/vault/clock.h"
#include "services/vault/sqlite_key_store.h"
#include "services/vault/store_executor.h"
#include "services/vault/token.h"
#include "services/vault/usage_commit.h"
#include "services/vault/usage_stream.h"
#include "services/vault/vault_core.h"
#include "services/vault/vault_service.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace byok::vault {
namespace {

using ::byok::testing::IsOk;
using ::byok::testing::StatusIs;

crypto::SecretBytes Secret(char fill) { return crypto::SecretBytes(std::string(32, fill)); }

// Notes, for each key event, whether it was made on a store thread.
class ThreadSink : public KeyEventSink {
 public:
  void OnKeyEvent(const KeyEvent& event) override {
    absl::MutexLock lock(&mu_);
    actions_.push_back(event.action);
    on_worker_.push_back(StoreExecutor::OnWorkerThread());
  }
  std::vector<KeyAction> actions() { absl::MutexLock l(&mu_); return actions_; }
  std::vector<bool> on_worker() { absl::MutexLock l(&mu_); return on_worker_; }

 private:
  absl::Mutex mu_;
  std::vector<KeyAction> actions_;
  std::vector<bool> on_worker_;
};

// Holds the executor's only worker until Release(), so calls queue behind it. The task shares the
// notifications, so the worker may leave them after the Blocker is gone.
class Blocker {
 public:
  explicit Blocker(StoreExecutor& executor) : state_(std::make_shared<State>()) {
    EXPECT_THAT(executor.Submit(absl::InfiniteFuture(),
                                [state = state_](absl::Status) {
                                  state->running.Notify();
                                  state->release.WaitForNotification();
                                }),
                IsOk());
    state_->running.WaitForNotification();
  }
  ~Blocker() { Release(); }
  void Release() {
    if (!state_->release.HasBeenNotified()) state_->release.Notify();
  }

 private:
  struct State {
    absl::Notification running, release;
  };
  std::shared_ptr<State> state_;
};

class VaultExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(/*max_queued=*/64); }

  void Start(int max_queued) {
    store_ = *SqliteKeyStore::Open(":memory:");
    keyring_ = *crypto::KeyringAead::Create(Secret('a'), {});
    hasher_ = *TokenHasher::Create(Secret('h'));
    core_ = std::make_unique<VaultCore>(*store_, *keyring_, *hasher_, clock_, VaultOptions{});
    core_->AddEventSink(&sink_);
    StoreExecutorOptions threads;
    threads.threads = 1;
    threads.max_queued = max_queued;
    executor_ = std::make_unique<StoreExecutor>(threads);
    usage_ = std::make_unique<UsageCommit>(*core_, *executor_);
    service_ = std::make_unique<VaultService>(*core_, *executor_, *usage_,
                                              CallerPolicy::TrustEveryone(kVaultDomain));
    grpc::ServerBuilder builder;
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::Vault::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }

  void TearDown() override {
    server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    server_->Wait();
    executor_->Shutdown(absl::Seconds(5));
  }

  static void SetDeadline(grpc::ClientContext& context, absl::Duration in) {
    context.set_deadline(absl::ToChronoTime(absl::Now() + in));
  }

  std::string NewUser(std::string* token) {
    grpc::ClientContext context;
    SetDeadline(context, absl::Seconds(10));
    v1::CreateUserRequest req;
    req.set_app_id("app");
    v1::CreateUserResponse resp;
    EXPECT_THAT(FromGrpcStatus(stub_->CreateUser(&context, req, &resp)), IsOk());
    *token = resp.token();
    grpc::ClientContext whose;
    SetDeadline(whose, absl::Seconds(10));
    v1::AuthenticateRequest auth;
    auth.set_token(resp.token());
    v1::AuthenticateResponse user;
    EXPECT_THAT(FromGrpcStatus(stub_->Authenticate(&whose, auth, &user)), IsOk());
    return user.user_id();
  }

  static v1::RecordUsageBatchRequest Batch(const std::vector<std::string>& users) {
    v1::RecordUsageBatchRequest batch;
    for (const std::string& user : users) {
      v1::RecordUsageRequest* r = batch.add_records();
      r->set_user_id(user);
      r->set_provider("openai");
      r->set_status(200);
    }
    return batch;
  }

  FakeClock clock_{absl::FromUnixSeconds(1'700'000'000)};
  std::unique_ptr<SqliteKeyStore> store_;
  std::unique_ptr<crypto::KeyringAead> keyring_;
  std::unique_ptr<TokenHasher> hasher_;
  ThreadSink sink_;
  std::unique_ptr<VaultCore> core_;
  std::unique_ptr<StoreExecutor> executor_;
  std::unique_ptr<UsageCommit> usage_;
  std::unique_ptr<VaultService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Vault::Stub> stub_;
};

TEST_F(VaultExecutorTest, StoreWorkRunsOnTheStoreThreadsNotGrpcs) {
  std::string token;
  NewUser(&token);
  grpc::ClientContext context;
  SetDeadline(context, absl::Seconds(10));
  v1::PutKeyRequest req;
  req.set_token(token);
  req.set_provider("openai");
  req.set_key("sk-" + std::string(40, 'k'));
  v1::PutKeyResponse resp;
  ASSERT_THAT(FromGrpcStatus(stub_->PutKey(&context, req, &resp)), IsOk());
  // Key events are made where the store change happens, once each.
  EXPECT_EQ(sink_.actions(), (std::vector<KeyAction>{v1::AuditEvent::ACTION_USER_CREATED,
                                                     v1::AuditEvent::ACTION_KEY_STORED}));
  EXPECT_THAT(sink_.on_worker(), ::testing::Each(true));
}

TEST_F(VaultExecutorTest, ACallWhoseDeadlinePassesWhileQueuedDoesNotTouchTheStore) {
  std::string token;
  NewUser(&token);
  {
    Blocker blocker(*executor_);
    grpc::ClientContext context;
    SetDeadline(context, absl::Milliseconds(100));
    v1::PutKeyRequest req;
    req.set_token(token);
    req.set_provider("openai");
    req.set_key("sk-" + std::string(40, 'k'));
    v1::PutKeyResponse resp;
    EXPECT_EQ(stub_->PutKey(&context, req, &resp).error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  // Once the store thread is free, the queued call is answered without running: no key, no event.
  grpc::ClientContext context;
  SetDeadline(context, absl::Seconds(10));
  v1::ListKeysRequest list;
  list.set_token(token);
  v1::ListKeysResponse keys;
  ASSERT_THAT(FromGrpcStatus(stub_->ListKeys(&context, list, &keys)), IsOk());
  EXPECT_EQ(keys.keys_size(), 0);
  EXPECT_EQ(sink_.actions(), (std::vector<KeyAction>{v1::AuditEvent::ACTION_USER_CREATED}));
}

TEST_F(VaultExecutorTest, AFullQueueAnswersUnavailable) {
  TearDown();
  Start(/*max_queued=*/1);
  Blocker blocker(*executor_);
  // The first call fills the queue; the second is refused at once, while the first still waits.
  grpc::ClientContext first_context;
  SetDeadline(first_context, absl::Seconds(10));
  v1::AuthenticateRequest req;
  req.set_token(std::string(64, 'a'));
  v1::AuthenticateResponse first_resp;
  absl::Notification first_done;
  grpc::Status first_status;
  stub_->async()->Authenticate(&first_context, &req, &first_resp, [&](grpc::Status s) {
    first_status = s;
    first_done.Notify();
  });
  // Waits (bounded) until the first call is queued.
  for (int i = 0; i < 1000 && executor_->queued() < 1; ++i) absl::SleepFor(absl::Milliseconds(5));
  ASSERT_EQ(executor_->queued(), 1);
  grpc::ClientContext second_context;
  SetDeadline(second_context, absl::Seconds(10));
  v1::AuthenticateResponse second_resp;
  EXPECT_EQ(stub_->Authenticate(&second_context, req, &second_resp).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  blocker.Release();
  ASSERT_TRUE(first_done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(first_status.error_code(), grpc::StatusCode::UNAUTHENTICATED);  // it ran
}

// Two relays' batches that arrive while the store thread is busy are stored by one transaction;
// each call is answered with its own count (a gone user's record is skipped, as before).
TEST_F(VaultExecutorTest, BatchesThatWaitTogetherShareOneTransaction) {
  std::string token;
  const std::string alice = NewUser(&token);
  const std::string bob = NewUser(&token);
  const int64_t before = store_->usage_transactions();
  struct Call {
    grpc::ClientContext context;
    v1::RecordUsageBatchRequest request;
    v1::RecordUsageBatchResponse response;
    grpc::Status status;
    absl::Notification done;
  };
  Call one, two;
  one.request = Batch({alice, alice, "gone-user"});
  two.request = Batch({bob});
  {
    Blocker blocker(*executor_);
    for (Call* call : {&one, &two}) {
      SetDeadline(call->context, absl::Seconds(10));
      stub_->async()->RecordUsageBatch(&call->context, &call->request, &call->response,
                                       [call](grpc::Status s) {
                                         call->status = s;
                                         call->done.Notify();
                                       });
    }
    // Waits (bounded) until both are checked and wait for the flush queued behind the blocker.
    for (int i = 0; i < 1000 && usage_->waiting() < 2; ++i) absl::SleepFor(absl::Milliseconds(5));
    ASSERT_EQ(usage_->waiting(), 2);
    EXPECT_FALSE(one.done.HasBeenNotified());
    EXPECT_FALSE(two.done.HasBeenNotified());
  }
  ASSERT_TRUE(one.done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(two.done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_THAT(FromGrpcStatus(one.status), IsOk());
  ASSERT_THAT(FromGrpcStatus(two.status), IsOk());
  EXPECT_EQ(one.response.recorded(), 2);
  EXPECT_EQ(two.response.recorded(), 1);
  EXPECT_EQ(store_->usage_transactions() - before, 1);
  EXPECT_EQ(usage_->transactions(), 1);
}

TEST_F(VaultExecutorTest, AnInvalidBatchIsRefusedBeforeItWaits) {
  grpc::ClientContext context;
  SetDeadline(context, absl::Seconds(10));
  v1::RecordUsageBatchRequest empty;
  v1::RecordUsageBatchResponse resp;
  EXPECT_EQ(stub_->RecordUsageBatch(&context, empty, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(usage_->transactions(), 0);
}

// StreamUsage (usage_stream.h) over the same service: each batch is answered once its transaction
// committed (a GetStats right after the answer counts it), batches of one stream that wait together
// share a transaction, an invalid batch is answered with its error and the stream goes on, and a
// stream holds at most UsageStreams::kMaxBatchesInFlight batches unanswered.
v1::StreamUsageRequest StreamBatch(uint64_t sequence, const v1::RecordUsageBatchRequest& batch) {
  v1::StreamUsageRequest request;
  request.set_sequence(sequence);
  *request.mutable_records() = batch.records();
  return request;
}

int64_t TotalRequests(v1::Vault::Stub& stub, const std::string& token) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  v1::GetStatsRequest request;
  request.set_token(token);
  v1::GetStatsResponse stats;
  EXPECT_THAT(FromGrpcStatus(stub.GetStats(&context, request, &stats)), IsOk());
  return stats.total_requests();
}

TEST_F(VaultExecutorTest, StreamUsageAnswersEachBatchOnceItsTransactionCommitted) {
  std::string token;
  const std::string alice = NewUser(&token);
  grpc::ClientContext context;
  SetDeadline(context, absl::Seconds(20));
  auto stream = stub_->StreamUsage(&context);
  int64_t sent = 0;
  for (uint64_t i = 1; i <= 3; ++i) {
    ASSERT_TRUE(stream->Write(StreamBatch(i, Batch(std::vector<std::string>(i, alice)))));
    sent += static_cast<int64_t>(i);
    v1::StreamUsageResponse answer;
    ASSERT_TRUE(stream->Read(&answer));
    EXPECT_EQ(answer.sequence(), i);
    EXPECT_EQ(answer.error_code(), 0) << answer.error_message();
    EXPECT_EQ(answer.recorded(), static_cast<int32_t>(i));
    EXPECT_EQ(TotalRequests(*stub_, token), sent);  // stored before the answer was written
  }
  // Two batches read while the store thread is busy wait together: one transaction for both.
  const int64_t before = store_->usage_transactions();
  {
    Blocker blocker(*executor_);
    ASSERT_TRUE(stream->Write(StreamBatch(4, Batch({alice}))));
    ASSERT_TRUE(stream->Write(StreamBatch(5, Batch({alice, "gone-user"}))));
    for (int i = 0; i < 1000 && usage_->waiting() < 2; ++i) absl::SleepFor(absl::Milliseconds(5));
    ASSERT_EQ(usage_->waiting(), 2);
  }
  std::map<uint64_t, int32_t> recorded;
  for (int i = 0; i < 2; ++i) {
    v1::StreamUsageResponse answer;
    ASSERT_TRUE(stream->Read(&answer));
    recorded[answer.sequence()] = answer.recorded();
  }
  EXPECT_EQ(recorded, (std::map<uint64_t, int32_t>{{4, 1}, {5, 1}}));
  EXPECT_EQ(store_->usage_transactions() - before, 1);
  stream->WritesDone();
  EXPECT_THAT(FromGrpcStatus(stream->Finish()), IsOk());
  EXPECT_EQ(TotalRequests(*stub_, token), sent + 2);
}

TEST_F(VaultExecutorTest, StreamUsageAnswersAnInvalidBatchAndGoesOn) {
  std::string token;
  const std::string alice = NewUser(&token);
  grpc::ClientContext context;
  SetDeadline(context, absl::Seconds(20));
  auto stream = stub_->StreamUsage(&context);
  v1::RecordUsageBatchRequest bad = Batch({alice, alice});
  bad.mutable_records(1)->set_provider("no-such-provider");
  ASSERT_TRUE(stream->Write(StreamBatch(7, bad)));
  ASSERT_TRUE(stream->Write(StreamBatch(8, v1::RecordUsageBatchRequest())));  // no record
  ASSERT_TRUE(stream->Write(StreamBatch(9, Batch({alice}))));
  v1::StreamUsageResponse answer;
  ASSERT_TRUE(stream->Read(&answer));
  EXPECT_EQ(answer.sequence(), 7u);
  EXPECT_EQ(answer.error_code(), static_cast<int32_t>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(answer.error_message(), ::testing::HasSubstr("records[1]"));
  EXPECT_EQ(answer.recorded(), 0);
  ASSERT_TRUE(stream->Read(&answer));
  EXPECT_EQ(answer.sequence(), 8u);
  EXPECT_EQ(answer.error_code(), static_cast<int32_t>(grpc::StatusCode::INVALID_ARGUMENT));
  ASSERT_TRUE(stream->Read(&answer));
  EXPECT_EQ(answer.sequence(), 9u);
  EXPECT_EQ(answer.error_code(), 0) << answer.error_message();
  EXPECT_EQ(answer.recorded(), 1);
  EXPECT_EQ(TotalRequests(*stub_, token), 1);  // nothing of the invalid batch
  stream->WritesDone();
  EXPECT_THAT(FromGrpcStatus(stream->Finish()), IsOk());
}

TEST_F(VaultExecutorTest, StreamUsageHoldsAtMostItsCapOfBatchesUnanswered) {
  std::string token;
  const std::string alice = NewUser(&token);
  constexpr int kSent = UsageStreams::kMaxBatchesInFlight + 36;
  grpc::ClientContext context;
  SetDeadline(context, absl::Seconds(20));
  auto stream = stub_->StreamUsage(&context);
  std::atomic<int> written{0};
  std::thread writer;
  absl::Cleanup join_writer = [&writer] {
    if (writer.joinable()) writer.join();
  };
  {
    Blocker blocker(*executor_);
    // The in-process transport completes a write only once the vault reads it: write from a thread.
    writer = std::thread([&] {
      for (int i = 1; i <= kSent; ++i) {
        if (!stream->Write(StreamBatch(i, Batch({alice})))) break;
        written.fetch_add(1);
      }
    });
    for (int i = 0; i < 1000 && usage_->waiting() < UsageStreams::kMaxBatchesInFlight; ++i) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    ASSERT_EQ(usage_->waiting(), UsageStreams::kMaxBatchesInFlight);
    // The rest stay unread while none is answered.
    absl::SleepFor(absl::Milliseconds(200));
    EXPECT_EQ(usage_->waiting(), UsageStreams::kMaxBatchesInFlight);
    EXPECT_LE(written.load(), UsageStreams::kMaxBatchesInFlight + 1);
  }
  std::set<uint64_t> answered;
  for (int i = 0; i < kSent; ++i) {
    v1::StreamUsageResponse answer;
    ASSERT_TRUE(stream->Read(&answer)) << "answers read " << i << ", batches written " << written.load()
                                       << ", waiting " << usage_->waiting() << ", queued "
                                       << executor_->queued();
    EXPECT_EQ(answer.recorded(), 1);
    answered.insert(answer.sequence());
  }
  std::move(join_writer).Invoke();
  EXPECT_EQ(answered.size(), static_cast<size_t>(kSent));
  stream->WritesDone();
  EXPECT_THAT(FromGrpcStatus(stream->Finish()), IsOk());
  EXPECT_EQ(TotalRequests(*stub_, token), kSent);
}

// UsageCommit on its own: a batch whose deadline passed, or whose call was cancelled, before the
// flush stores nothing; calls beyond the waiting bound are answered UNAVAILABLE at once.
TEST_F(VaultExecutorTest, UsageCommitSkipsLateAndCancelledCallsAndIsBounded) {
  std::string token;
  const std::string alice = NewUser(&token);
  UsageCommitOptions options;
  options.max_waiting = 2;
  UsageCommit commit(*core_, *executor_, options);
  std::vector<absl::StatusCode> codes(3, absl::StatusCode::kUnknown);
  std::atomic<int> answered{0};
  auto batch = [&](int i, absl::Time deadline, bool cancelled) {
    UsageCommit::Batch b;
    b.records = *core_->CheckUsageBatch(Batch({alice}));
    b.deadline = deadline;
    b.cancelled = [cancelled] { return cancelled; };
    b.done = [&codes, &answered, i](absl::StatusOr<int64_t> stored) {
      codes[i] = stored.status().code();
      answered.fetch_add(1);
    };
    return b;
  };
  const int64_t before = store_->usage_transactions();
  {
    Blocker blocker(*executor_);
    commit.Add(batch(0, absl::Now() - absl::Milliseconds(1), false));
    commit.Add(batch(1, absl::InfiniteFuture(), true));
    commit.Add(batch(2, absl::InfiniteFuture(), false));  // over the bound
    EXPECT_EQ(codes[2], absl::StatusCode::kUnavailable);
  }
  executor_->Shutdown(absl::Seconds(5));  // runs the flush
  EXPECT_EQ(answered.load(), 3);
  EXPECT_EQ(codes[0], absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(codes[1], absl::StatusCode::kCancelled);
  EXPECT_EQ(store_->usage_transactions(), before);
}

// What group commit saves on a file-backed SQLite store (WAL): 4-record batches stored one
// transaction each, then 8 batches per transaction. Prints records/s and CPU per batch; asserts
// nothing about speed. Run with --gtest_also_run_disabled_tests --gtest_filter='*GroupCommit*'.
TEST(UsageGroupCommitBenchmark, DISABLED_OneTransactionPerBatchVersusShared) {
  ::byok::testing::TempDir dir;
  std::unique_ptr<SqliteKeyStore> store = *SqliteKeyStore::Open(dir.path() + "/bench.db");
  UserRecord user;
  user.user_id = "bench-user";
  user.app_id = "bench";
  user.token_hash = std::string(32, 'h');
  user.created_at = absl::Now();
  ASSERT_THAT(store->CreateUser(user), IsOk());
  std::vector<UsageRecord> batch(4);
  for (UsageRecord& r : batch) {
    r.user_id = "bench-user";
    r.provider = "openai";
    r.model = "gpt-4o-mini";
    r.status = 200;
    r.at = absl::Now();
  }
  constexpr int kBatches = 4000;
  for (int per_tx : {1, 8}) {
    std::vector<absl::Span<const UsageRecord>> group(per_tx, absl::Span<const UsageRecord>(batch));
    const absl::Time start = absl::Now();
    const std::clock_t cpu = std::clock();
    for (int i = 0; i < kBatches / per_tx; ++i) ASSERT_THAT(store->RecordUsageBatches(group).status(), IsOk());
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    const double cpu_us = 1e6 * static_cast<double>(std::clock() - cpu) / CLOCKS_PER_SEC;
    std::printf("sqlite usage: %d batch(es) of 4 per transaction: %.0f records/s, %.1f us CPU per batch\n",
                per_tx, 4.0 * kBatches / seconds, cpu_us / kBatches);
  }
}

}  // namespace
}  // namespace byok::vault
