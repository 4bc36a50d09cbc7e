// The upstream client against the fake provider on loopback: formats, streaming under flow control,
// keep-alive reuse, cancellation, every timeout, a broken stream and the address guard (TLS:
// upstream_tls_test.cc).
#include "services/relay/upstream/upstream_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <memory>
#include <optional>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/relay/upstream/connection_pool.h"
#include "tests/relay/upstream_rig.h"
#include "tests/testing/fake_provider/fake_provider.h"
#include "tests/testing/fake_provider/test_certificates.h"

namespace byok::relay {
namespace {

using upstream_testing::Chat;
using upstream_testing::Collector;
using upstream_testing::ExpectTheBurstInOnePiece;
using upstream_testing::ExpectTheFakeAudio;
using upstream_testing::HeaderOf;
using upstream_testing::kWait;
using upstream_testing::MakeClient;
using upstream_testing::Post;
using upstream_testing::RunCall;
using upstream_testing::StartFake;
using upstream_testing::With;
using ::testing::HasSubstr;

TEST(UpstreamClientTest, StreamsOpenAiSseAndSendsTheRequestAsPrepared) {
  auto fake = StartFake();
  auto client = MakeClient();
  Collector collector;
  ASSERT_TRUE(RunCall(*client, Post(fake->port(), "/v1/chat/completions", Chat("gpt-4o", true)),
                  collector)
                  .ok());
  EXPECT_EQ(collector.head().status, 200);
  EXPECT_EQ(HeaderOf(collector.head(), "content-type"), "text/event-stream");
  const std::string body = collector.Body();
  EXPECT_TRUE(absl::StartsWith(body, "data: {")) << body;
  EXPECT_TRUE(absl::EndsWith(body, "data: [DONE]\n\n")) << body;

  auto seen = fake->WaitForRequest(kWait);
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->method, "POST");
  EXPECT_EQ(seen->target, "/v1/chat/completions");
  EXPECT_EQ(seen->Header("authorization"), "Bearer sk-test");
  EXPECT_EQ(seen->Header("host"), absl::StrCat("127.0.0.1:", fake->port()));
  EXPECT_EQ(seen->Header("content-length"), std::to_string(Chat("gpt-4o", true).size()));
  EXPECT_EQ(seen->body, Chat("gpt-4o", true));
}

TEST(UpstreamClientTest, PassesBinaryAudioThroughByteForByte) {
  auto fake = StartFake();
  auto client = MakeClient();
  Collector collector;
  ASSERT_TRUE(RunCall(*client, Post(fake->port(), "/v1/audio/speech", R"({"input":"hi"})"), collector)
                  .ok());
  ExpectTheFakeAudio(collector);
}

TEST(UpstreamClientTest, EachPieceHoldsMemoryForItsBytesNotForTheReadBuffer) {
  auto fake = StartFake();
  auto client = MakeClient();
  Collector sse;
  ASSERT_TRUE(
      RunCall(*client, Post(fake->port(), "/v1/chat/completions", Chat("gpt-4o", true)), sse).ok());
  ASSERT_GT(sse.piece_count(), 0u);
  EXPECT_EQ(sse.OversizedPieces(), 0u);
  Collector audio;
  ASSERT_TRUE(
      RunCall(*client, Post(fake->port(), "/v1/audio/speech", R"({"input":"hi"})"), audio).ok());
  ASSERT_GT(audio.piece_count(), 0u);
  EXPECT_EQ(audio.OversizedPieces(), 0u);
}

TEST(UpstreamClientTest, DeliversPiecesBeforeTheProviderFinishes) {
  auto fake = StartFake();
  auto client = MakeClient();
  Collector collector;
  collector.SetCall(
      client->Start(Post(fake->port(), "/v1/messages", Chat("fake-hold", true)), &collector));
  // The provider holds the stream after its first event: that event must already be here.
  ASSERT_TRUE(collector.WaitForPieces(1));
  EXPECT_THAT(collector.Body(), HasSubstr("event: message_start"));
  EXPECT_THAT(collector.Body(), ::testing::Not(HasSubstr("message_stop")));
  fake->Release();
  ASSERT_TRUE(collector.WaitForDone().ok());
  EXPECT_THAT(collector.Body(), HasSubstr("event: message_stop"));
}

TEST(UpstreamClientTest, ReadsNothingMoreUntilTheConsumerAsks) {
  auto fake = StartFake();
  auto client = MakeClient();
  Collector collector(/*auto_next=*/false);
  collector.SetCall(client->Start(
      Post(fake->port(), "/v1/chat/completions", Chat("gpt-4o", true)), &collector));
  ASSERT_TRUE(collector.WaitForHead());
  // Without Next() no body piece is delivered, though the provider has sent them all.
  ASSERT_TRUE(fake->WaitForStreamsStarted(1, kWait));
  EXPECT_FALSE(collector.WaitForPieces(1, absl::Milliseconds(200)));
  collector.Next();
  ASSERT_TRUE(collector.WaitForPieces(1));
  EXPECT_EQ(collector.piece_count(), 1u);
  collector.Cancel();
  EXPECT_EQ(collector.WaitForDone().code(), absl::StatusCode::kCancelled);
}

TEST(UpstreamClientTest, EventsThatArriveTogetherComeAsOnePiece) {
  auto fake = StartFake();
  auto client = MakeClient();
  ExpectTheBurstInOnePiece(*fake, *client,
                           Post(fake->port(), "/v1/chat/completions", Chat("fake-burst", true)));
}

TEST(UpstreamClientTest, TheLastPieceSaysSoAndTheCallEndsWithoutAnotherNext) {
  auto fake = StartFake();
  auto client = MakeClient();
  Collector collector(/*auto_next=*/false);
  collector.SetCall(client->Start(
      Post(fake->port(), "/v1/chat/completions", Chat("gpt-4o", false)), &collector));
  ASSERT_TRUE(collector.WaitForHead());
  collector.Next();  // for the body; none after its last piece
  ASSERT_TRUE(collector.WaitForDone().ok());
  EXPECT_TRUE(collector.last_seen());
  EXPECT_THAT(collector.Body(), HasSubstr("chat.completion"));
}

TEST(UpstreamClientTest, ReusesKeepAliveConnections) {
  auto fake = StartFake();
  auto client = MakeClient(With(&UpstreamOptions::threads, 1));
  for (int i = 0; i < 3; ++i) {
    Collector collector;
    absl::Status s =
        RunCall(*client, Post(fake->port(), "/v1/chat/completions", Chat("gpt-4o", false)), collector);
    ASSERT_TRUE(s.ok()) << s;
    EXPECT_THAT(collector.Body(), HasSubstr("chat.completion"));
  }
  EXPECT_EQ(client->connections_opened(), 1);
  EXPECT_EQ(fake->connections_accepted(), 1);
}

// What the pools report to the metrics: one connection opened, two reuses, one idle connection until
// the client (and its pools) is gone.

TEST(UpstreamClientTest, ThePoolsReportOpenedReusedAndIdleConnections) {
  struct Counting : upstream::PoolObserver {
    std::atomic<int> opened{0}, reused{0}, idle{0};
    void ConnectionOpened() override { ++opened; }
    void ConnectionReused() override { ++reused; }
    void IdleChanged(int delta) override { idle += delta; }
  } counting;
  upstream::SetPoolObserver(&counting);
  {
    auto fake = StartFake();
    auto client = MakeClient(With(&UpstreamOptions::threads, 1));
    for (int i = 0; i < 3; ++i) {
      Collector collector;
      absl::Status s =
          RunCall(*client, Post(fake->port(), "/v1/chat/completions", Chat("gpt-4o", false)), collector);
      ASSERT_TRUE(s.ok()) << s;
      EXPECT_EQ(counting.idle.load(), 1) << i;
    }
    EXPECT_EQ(counting.opened.load(), 1);
    EXPECT_EQ(counting.reused.load(), 2);
    client.reset();
    EXPECT_EQ(counting.idle.load(), 0);
  }
  upstream::SetPoolObserver(nullptr);
}

TEST(UpstreamClientTest, CancelClosesTheProviderConnectionAtOnce) {
  auto fake = StartFake();
  auto client = MakeClient();
  Collector collector;
  collector.SetCall(client->Start(
      Post(fake->port(), "/v1/chat/completions", Chat("fake-hold", true)), &collector));
  ASSERT_TRUE(collector.WaitForPieces(1));
  const absl::Time cancelled_at = absl::Now();
  collector.Cancel();
  auto closed_at = fake->WaitForClientClosed(kWait);
  ASSERT_TRUE(closed_at.has_value());
  EXPECT_LT(*closed_at - cancelled_at, absl::Milliseconds(100));
  EXPECT_EQ(collector.WaitForDone().code(), absl::StatusCode::kCancelled);
}

TEST(UpstreamClientTest, HeadersTimeoutIsDeadlineExceeded) {
  auto fake = StartFake();
  auto client = MakeClient(With(&UpstreamOptions::headers_timeout, absl::Milliseconds(300)));
  Collector collector;
  absl::Status s = RunCall(
      *client, Post(fake->port(), "/v1/chat/completions", Chat("fake-stall-headers", true)),
      collector);
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_THAT(s.message(), HasSubstr("response headers"));
}

TEST(UpstreamClientTest, IdleTimeoutCutsAStalledStream) {
  auto fake = StartFake();
  auto client = MakeClient(With(&UpstreamOptions::idle_timeout, absl::Milliseconds(300)));
  Collector collector;
  absl::Status s = RunCall(
      *client, Post(fake->port(), "/v1/chat/completions", Chat("fake-stall-body", true)),
      collector);
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_THAT(s.message(), HasSubstr("stalled"));
  EXPECT_EQ(collector.head().status, 200);
  EXPECT_THAT(collector.Body(), HasSubstr("Hello"));
  // A slow but steady stream is not cut by the same idle limit.
  Collector steady;
  EXPECT_TRUE(RunCall(*client, Post(fake->port(), "/v1/chat/completions", Chat("fake-slow-5-100", true)),
                  steady)
                  .ok());
}

TEST(UpstreamClientTest, RefusedConnectionIsUnavailable) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);  // bound once, never listening: nothing answers there
  auto client = MakeClient();
  Collector collector;
  absl::Status s = RunCall(*client, Post(ntohs(addr.sin_port), "/v1/chat/completions", "{}"), collector);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
}

// A provider whose chunk header never ends (Beast's parser puts no bound on one): the response fails
// once the connection's read buffer is full, rather than the relay keeping all the provider sends.
TEST(UpstreamClientTest, AChunkHeaderThatNeverEndsFailsTheResponse) {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(listener, 1), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  std::atomic<size_t> sent{0};
  std::thread provider([listener, &sent] {
    const int c = accept(listener, nullptr, nullptr);
    if (c < 0) return;
    const timeval limit{15, 0};  // bounds the test if the client neither reads nor closes
    setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
    char request[4096];
    static_cast<void>(recv(c, request, sizeof(request), 0));
    const std::string head =
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
        "10;ext=";
    const std::string filler(16 * 1024, 'a');
    ssize_t n = send(c, head.data(), head.size(), MSG_NOSIGNAL);
    for (int i = 0; n > 0 && i < 512; ++i) {  // 8 MiB at most, and the connection stays open
      n = send(c, filler.data(), filler.size(), MSG_NOSIGNAL);
      if (n > 0) sent += static_cast<size_t>(n);
    }
    while (recv(c, request, sizeof(request), 0) > 0) {
    }
    close(c);
  });
  auto client = MakeClient();
  Collector collector;
  absl::Status s = RunCall(
      *client, Post(ntohs(addr.sin_port), "/v1/chat/completions", Chat("gpt-4o", true)), collector);
  EXPECT_EQ(s.code(), absl::StatusCode::kAborted) << s;
  provider.join();  // the failed response closed the connection
  close(listener);
  EXPECT_LT(sent.load(), 8u * 1024 * 1024);  // the client stopped reading before the end
}

TEST(UpstreamClientTest, BrokenStreamIsAborted) {
  auto fake = StartFake();
  auto client = MakeClient();
  Collector collector;
  absl::Status s = RunCall(
      *client, Post(fake->port(), "/v1/chat/completions", Chat("fake-break", true)), collector);
  EXPECT_EQ(s.code(), absl::StatusCode::kAborted) << s;
  EXPECT_THAT(collector.Body(), HasSubstr("Hello"));
}

TEST(UpstreamClientTest, ProviderErrorsPassThroughWithTheirHeaders) {
  auto fake = StartFake();
  auto client = MakeClient();
  Collector collector;
  ASSERT_TRUE(RunCall(*client, Post(fake->port(), "/v1/chat/completions", Chat("fake-429", false)),
                  collector)
                  .ok());
  EXPECT_EQ(collector.head().status, 429);
  EXPECT_EQ(HeaderOf(collector.head(), "retry-after"), "7");
  EXPECT_THAT(collector.Body(), HasSubstr("Rate limit"));
}

TEST(UpstreamClientTest, AddressGuardRefusesBeforeAnyConnection) {
  auto fake = StartFake();
  auto client = MakeClient();
  std::vector<std::string> checked;
  UpstreamRequest request = Post(fake->port(), "/v1/chat/completions", "{}", false, "localhost");
  request.address_guard = [&checked](const std::string& address) {
    checked.push_back(address);
    return absl::PermissionDeniedError("base URL refused: it resolves to a private address");
  };
  Collector collector;
  absl::Status s = RunCall(*client, std::move(request), collector);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
  EXPECT_FALSE(checked.empty());
  EXPECT_EQ(fake->connections_accepted(), 0);

  // A guard that lets the address through: the call goes to the checked address.
  UpstreamRequest allowed = Post(fake->port(), "/v1/chat/completions", Chat("m", false));
  allowed.address_guard = [](const std::string& address) {
    return address == "127.0.0.1" ? absl::OkStatus() : absl::PermissionDeniedError("no");
  };
  Collector ok;
  EXPECT_TRUE(RunCall(*client, std::move(allowed), ok).ok());
  EXPECT_EQ(fake->connections_accepted(), 1);
}


}  // namespace
}  // namespace byok::relay
