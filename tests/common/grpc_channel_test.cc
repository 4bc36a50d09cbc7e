// Client targets with several replicas: the forms BYOK_VAULT_ADDR and BYOK_RELAY_ADDR accept, and calls
// spread round-robin over two real gRPC servers, one of which stops and comes back.
#include "common/grpc_channel.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "byok/relay/v1/relay.grpc.pb.h"
#include "tests/gateway/token_vault.h"
#include "tests/testing/process.h"

namespace byok {
namespace {

namespace v1 = byok::vault::v1;

TEST(GrpcTargetTest, AcceptsOneAddressAListOrAUri) {
  EXPECT_EQ(*GrpcTarget("X", "vault:50051"), "vault:50051");
  EXPECT_EQ(*GrpcTarget("X", "127.0.0.1:50051"), "127.0.0.1:50051");
  EXPECT_EQ(*GrpcTarget("X", "10.0.0.1:50051,10.0.0.2:50051"), "ipv4:10.0.0.1:50051,10.0.0.2:50051");
  EXPECT_EQ(*GrpcTarget("X", " 10.0.0.1:1 , 10.0.0.2:2 "), "ipv4:10.0.0.1:1,10.0.0.2:2");
  EXPECT_EQ(*GrpcTarget("X", "[::1]:1,[fd00::2]:2"), "ipv6:[::1]:1,[fd00::2]:2");
  EXPECT_EQ(*GrpcTarget("X", "dns:///vault.byok.svc:50051"), "dns:///vault.byok.svc:50051");
  EXPECT_EQ(*GrpcTarget("X", "unix:/run/vault.sock"), "unix:/run/vault.sock");
}

TEST(GrpcTargetTest, NamesOneAddressOnlyForOneIpAddressOrSocket) {
  for (const char* one : {"127.0.0.1:50051", " [::1]:1 ", "ipv4:10.0.0.1:1", "ipv6:[::1]:1", "unix:/run/v.sock"}) {
    EXPECT_TRUE(NamesOneAddress(one)) << one;
  }
  for (const char* many : {"vault:50051", "localhost:1", "10.0.0.1:1,10.0.0.2:2", "ipv4:10.0.0.1:1,10.0.0.2:2",
                           "dns:///vault.byok.svc:50051"}) {
    EXPECT_FALSE(NamesOneAddress(many)) << many;
  }
}

TEST(GrpcTargetTest, RefusesWhatCannotWorkNamingTheVariable) {
  for (const char* bad : {"", "vault", "vault:0", "vault:70000", ":50051", "vault-a:1,vault-b:2",
                          "10.0.0.1:1,[::1]:2", "10.0.0.1,10.0.0.2:2", "10.0.0.1:1,10.0.0.2:x", ","}) {
    absl::StatusOr<std::string> target = GrpcTarget("BYOK_RELAY_ADDR", bad);
    ASSERT_FALSE(target.ok()) << bad;
    EXPECT_NE(target.status().message().find("BYOK_RELAY_ADDR"), std::string::npos);
  }
  // The hint for names: DNS resolves them to every replica.
  EXPECT_NE(GrpcTarget("X", "vault-a:1,vault-b:2").status().message().find("dns:///"),
            std::string::npos);
}

// One replica: a vault test double on its own port, restartable on the same port.
class Replica {
 public:
  explicit Replica(int port) : port_(port) { Start(); }
  ~Replica() { Stop(); }
  void Start() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort(absl::StrCat("127.0.0.1:", port_), grpc::InsecureServerCredentials());
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void Stop() {
    if (server_ == nullptr) return;
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    server_->Wait();
    server_.reset();
  }
  int calls() const { return service_.calls.load(); }
  void ResetCalls() { service_.calls.store(0); }
  int port() const { return port_; }

 private:
  int port_;
  gateway::TokenVault service_;
  std::unique_ptr<grpc::Server> server_;
};

grpc::Status Call(v1::Vault::Stub& stub) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  v1::AuthenticateRequest request;
  request.set_token("tok");
  v1::AuthenticateResponse response;
  return stub.Authenticate(&ctx, request, &response);
}

// Calls until every replica in `replicas` has served one, or `timeout` passes.
bool WaitUntilAllServe(v1::Vault::Stub& stub, std::initializer_list<Replica*> replicas,
                       absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    (void)Call(stub);
    bool all = true;
    for (Replica* r : replicas) all = all && r->calls() > 0;
    if (all) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return false;
}

TEST(BalancedChannelTest, SpreadsCallsOverAListAndTakesARestartedReplicaBack) {
  Replica a(testing::PickUnusedPort());
  Replica b(testing::PickUnusedPort());
  std::string target = absl::StrCat("127.0.0.1:", a.port(), ",127.0.0.1:", b.port());
  auto stub = v1::Vault::NewStub(
      BalancedChannel(target, grpc::InsecureChannelCredentials(), grpc::ChannelArguments()));

  // Both connected: round-robin alternates strictly.
  ASSERT_TRUE(WaitUntilAllServe(*stub, {&a, &b}, absl::Seconds(5)));
  a.ResetCalls();
  b.ResetCalls();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Call(*stub).ok()) << i;
  EXPECT_EQ(a.calls(), 10);
  EXPECT_EQ(b.calls(), 10);

  // One replica gone: every call still succeeds, on the other.
  b.Stop();
  a.ResetCalls();
  for (int i = 0; i < 20; ++i) {
    grpc::Status s = Call(*stub);
    EXPECT_TRUE(s.ok()) << i << ": " << s.error_message();
  }
  EXPECT_EQ(a.calls(), 20);

  // Back on the same port: it takes load again within the bounded reconnect backoff.
  b.ResetCalls();
  b.Start();
  absl::Time back = absl::Now();
  ASSERT_TRUE(WaitUntilAllServe(*stub, {&b}, absl::Seconds(5)));
  EXPECT_LT(absl::Now() - back, absl::Seconds(2));
  a.ResetCalls();
  b.ResetCalls();
  std::string trace;
  for (int i = 0; i < 20; ++i) {
    int before = b.calls();
    ASSERT_TRUE(Call(*stub).ok()) << i;
    trace += b.calls() > before ? 'b' : 'a';
  }
  EXPECT_EQ(a.calls(), 10) << trace;
  EXPECT_EQ(b.calls(), 10) << trace;
}

TEST(BalancedChannelTest, ADnsTargetReachesItsReplica) {
  // The form a Kubernetes headless Service is named in (dns:///name:port), here with a literal.
  Replica a(testing::PickUnusedPort());
  auto stub = v1::Vault::NewStub(BalancedChannel(absl::StrCat("dns:///127.0.0.1:", a.port()),
                                                 grpc::InsecureChannelCredentials(),
                                                 grpc::ChannelArguments()));
  ASSERT_TRUE(WaitUntilAllServe(*stub, {&a}, absl::Seconds(5)));
}

// The integer value of `key` in `args`, or -1.
int IntArgument(const grpc::ChannelArguments& args, absl::string_view key) {
  const grpc_channel_args c = args.c_channel_args();
  for (size_t i = 0; i < c.num_args; ++i) {
    if (key == c.args[i].key && c.args[i].type == GRPC_ARG_INTEGER) return c.args[i].value.integer;
  }
  return -1;
}

TEST(BalancedTargetTest, EveryServiceChannelPingsAtTheIntervalServersAccept) {
  // The gateway's and the relay's channels to the services are all set up by BalancedTarget.
  grpc::ChannelArguments args;
  BalancedTarget("127.0.0.1:1", &args);
  EXPECT_EQ(IntArgument(args, GRPC_ARG_KEEPALIVE_TIME_MS), kKeepaliveTimeMs);
  EXPECT_EQ(IntArgument(args, GRPC_ARG_KEEPALIVE_TIMEOUT_MS), kKeepaliveTimeoutMs);
}

// A relay whose streams stay silent until the caller leaves, as a change feed with no changes does.
class SilentRelay final : public byok::relay::v1::Relay::CallbackService {
  grpc::ServerWriteReactor<byok::relay::v1::RelayResponse>* Relay(
      grpc::CallbackServerContext*, const byok::relay::v1::RelayRequest*) override {
    class Silent : public grpc::ServerWriteReactor<byok::relay::v1::RelayResponse> {
      void OnCancel() override { Finish(grpc::Status::CANCELLED); }
      void OnDone() override { delete this; }
    };
    return new Silent;
  }
};

// What a caller that pings every `keepalive_ms` saw while it held one silent stream and, twice, waited
// six pings' time and then made five calls on the same connection.
struct KeepaliveOutcome {
  int failed_calls = 0;
  grpc::Status stream;  // CANCELLED: still open when the caller left
};

KeepaliveOutcome HoldSilentStreamAndCall(bool server_accepts_keepalive, int keepalive_ms) {
  SilentRelay relay;
  gateway::TokenVault vault;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&relay);
  builder.RegisterService(&vault);
  if (server_accepts_keepalive) AddServerKeepalivePolicy(builder, keepalive_ms);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  grpc::ChannelArguments args;
  AddKeepaliveArguments(&args, keepalive_ms);
  auto channel = grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port),
                                           grpc::InsecureChannelCredentials(), args);

  class Reader : public grpc::ClientReadReactor<byok::relay::v1::RelayResponse> {
   public:
    void OnReadDone(bool ok) override {
      if (ok) StartRead(&message);
    }
    void OnDone(const grpc::Status& s) override {
      status = s;
      done.Notify();
    }
    byok::relay::v1::RelayResponse message;
    grpc::Status status;
    absl::Notification done;
  } reader;
  grpc::ClientContext ctx;
  byok::relay::v1::RelayRequest request;
  byok::relay::v1::Relay::NewStub(channel)->async()->Relay(&ctx, &request, &reader);
  reader.StartRead(&reader.message);
  reader.StartCall();

  KeepaliveOutcome outcome;
  auto vault_stub = v1::Vault::NewStub(channel);
  for (int round = 0; round < 2; ++round) {
    absl::SleepFor(absl::Milliseconds(6 * keepalive_ms));
    for (int i = 0; i < 5; ++i) {
      if (!Call(*vault_stub).ok()) ++outcome.failed_calls;
    }
  }
  if (!reader.done.HasBeenNotified()) ctx.TryCancel();
  reader.done.WaitForNotification();
  outcome.stream = reader.status;
  server->Shutdown(std::chrono::system_clock::now());
  return outcome;
}

TEST(KeepaliveTest, AServerAcceptsItsCallersPingsOnASilentStream) {
  // With gRPC's default server policy the pings on a connection whose server sends nothing end it
  // (GOAWAY too_many_pings): the calls on it fail, the stream breaks. With the policy the servers set,
  // nothing fails and the stream stays open until the caller leaves. (A ping a second: gRPC sends
  // none more often; the suite's callers ping every 30 s, which would make this test minutes long.)
  KeepaliveOutcome with_policy = HoldSilentStreamAndCall(true, 1000);
  EXPECT_EQ(with_policy.failed_calls, 0);
  EXPECT_EQ(with_policy.stream.error_code(), grpc::StatusCode::CANCELLED) << with_policy.stream.error_message();
  KeepaliveOutcome without = HoldSilentStreamAndCall(false, 1000);
  EXPECT_TRUE(without.failed_calls > 0 || without.stream.error_code() == grpc::StatusCode::UNAVAILABLE)
      << without.failed_calls << " " << without.stream.error_message();
}

}  // namespace
}  // namespace byok
