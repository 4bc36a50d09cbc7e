// How the gateway tells "the service answered UNAVAILABLE" from "the service could not be reached":
// by the status's structured details (an ErrorInfo domain, which every service failure carries), never
// by gRPC's message text.
#include "services/gateway/backends/backends.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/grpc_status.h"
#include "services/gateway/api/error_mapping.h"
#include "tests/testing/process.h"

namespace byok::gateway {
namespace {

class BackendsErrorTest : public ::testing::Test {
 protected:
  // A port nothing listens on: calls fail in gRPC itself.
  BackendsErrorTest()
      : target_(absl::StrCat("127.0.0.1:", byok::testing::PickUnusedPort())),
        relay_(Backend::kRelay, grpc::CreateChannel(target_, grpc::InsecureChannelCredentials())) {}

  RpcError ErrorFor(const grpc::Status& status) { return relay_.MakeError(status); }

  std::string target_;
  BackendChannel relay_;
};

TEST_F(BackendsErrorTest, AServiceThatAnsweredUnavailableWasReachedWhateverItsWords) {
  // The relay quoting a connect error of its own, even in gRPC's words, is still the relay answering.
  for (const char* text : {"cannot connect to the provider: Connection refused",
                           "failed to connect to all addresses", "Socket closed"}) {
    RpcError e = ErrorFor(ToGrpcStatus(
        WithReason(absl::UnavailableError(text), reason::kUpstreamUnreachable, kRelayDomain)));
    EXPECT_TRUE(e.reached) << text;
    EXPECT_EQ(e.reason, reason::kUpstreamUnreachable);
    EXPECT_EQ(HttpStatusForRpcError(e), 502) << text;
  }
}

TEST_F(BackendsErrorTest, AnUnavailableWithoutDetailsIsGrpcsOwnWhateverItsWords) {
  for (const char* text : {"failed to connect to all addresses", "Socket closed", "GOAWAY received",
                           "cannot connect to the provider: Connection refused"}) {
    RpcError e = ErrorFor(grpc::Status(grpc::StatusCode::UNAVAILABLE, text));
    EXPECT_FALSE(e.reached) << text;
    EXPECT_EQ(HttpStatusForRpcError(e), 503) << text;
    EXPECT_EQ(ClientMessage(e), "relay unavailable") << text;
  }
}

TEST_F(BackendsErrorTest, ACallToNoServerIsNotReached) {
  grpc::GenericStub stub(relay_.channel());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::Slice empty{std::string()};
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  absl::Notification done;
  grpc::Status status;
  stub.UnaryCall(&ctx, "/byok.relay.v1.Relay/CheckKey", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  RpcError e = relay_.MakeError(status);
  EXPECT_FALSE(e.reached);
  EXPECT_EQ(HttpStatusForRpcError(e), 503);
}

}  // namespace
}  // namespace byok::gateway
