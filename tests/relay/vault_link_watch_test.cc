#include "services/relay/vault_link_watch.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace byok::relay {
namespace {

// What the watch reported last, with a bounded wait for a given value.
class Reports {
 public:
  void Add(bool usable) {
    absl::MutexLock lock(&mu_);
    last_ = usable;
  }
  bool WaitFor(bool usable, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto reached = [&] { return last_.has_value() && *last_ == usable; };
    mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
    return reached();
  }

 private:
  absl::Mutex mu_;
  std::optional<bool> last_ ABSL_GUARDED_BY(mu_);
};

// A server with one generic service that answers every call UNIMPLEMENTED (a server needs a service).
struct TestServer {
  bool Start(const std::string& address, int* port) {
    service = std::make_unique<grpc::CallbackGenericService>();
    grpc::ServerBuilder builder;
    builder.RegisterCallbackGenericService(service.get());
    builder.AddListeningPort(address, grpc::InsecureServerCredentials(), port);
    server = builder.BuildAndStart();
    return server != nullptr;
  }
  void Stop() {
    server->Shutdown(absl::ToChronoTime(absl::Now()));
    server->Wait();
    server.reset();
  }
  std::unique_ptr<grpc::CallbackGenericService> service;
  std::unique_ptr<grpc::Server> server;
};

TEST(ChannelIsUsable, OnlyTransientFailureAndShutdownAreNot) {
  EXPECT_TRUE(ChannelIsUsable(GRPC_CHANNEL_IDLE));
  EXPECT_TRUE(ChannelIsUsable(GRPC_CHANNEL_CONNECTING));
  EXPECT_TRUE(ChannelIsUsable(GRPC_CHANNEL_READY));
  EXPECT_FALSE(ChannelIsUsable(GRPC_CHANNEL_TRANSIENT_FAILURE));
  EXPECT_FALSE(ChannelIsUsable(GRPC_CHANNEL_SHUTDOWN));
}

// The watch follows the server behind the channel: usable while it listens, not once it is gone, and
// usable again when it comes back on the same port, with no call made on the channel.
TEST(VaultLinkWatch, FollowsTheServerWithoutAnyCall) {
  int port = 0;
  TestServer server;
  ASSERT_TRUE(server.Start("127.0.0.1:0", &port));
  std::string address = absl::StrCat("127.0.0.1:", port);
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
  auto channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  Reports reports;
  VaultLinkWatch watch(channel, [&](bool usable) { reports.Add(usable); });
  EXPECT_TRUE(reports.WaitFor(true, absl::Seconds(5)));

  server.Stop();
  EXPECT_TRUE(reports.WaitFor(false, absl::Seconds(5)));

  int again = 0;
  ASSERT_TRUE(server.Start(address, &again));
  ASSERT_EQ(again, port);
  EXPECT_TRUE(reports.WaitFor(true, absl::Seconds(5)));
  server.Stop();
}

}  // namespace
}  // namespace byok::relay
