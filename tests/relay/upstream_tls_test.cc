// The upstream client over TLS against the fake provider on loopback: trust and names, the handshake's
// deadline, bodies both ways, keep-alive reuse, every timeout, a connection cut, cancellation, and what
// a held stream keeps (services/relay/upstream/tls_socket.h).
#include <malloc.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/relay/upstream/upstream_client.h"
#include "tests/relay/upstream_rig.h"
#include "tests/testing/fake_provider/fake_provider.h"
#include "tests/testing/fake_provider/test_certificates.h"
#include "tests/testing/process.h"
#include "tests/testing/sanitizers.h"

namespace byok::relay {
namespace {

using ::byok::testing::FakeProvider;
using ::testing::HasSubstr;
using upstream_testing::Chat;
using upstream_testing::Collector;
using upstream_testing::ExpectTheBurstInOnePiece;
using upstream_testing::ExpectTheFakeAudio;
using upstream_testing::kWait;
using upstream_testing::MakeClient;
using upstream_testing::Post;
using upstream_testing::RunCall;
using upstream_testing::StartFake;
using upstream_testing::StartTlsRig;
using upstream_testing::TempFile;
using upstream_testing::TlsFake;
using upstream_testing::TlsRig;
using upstream_testing::TrustOnly;
using upstream_testing::With;

UpstreamRequest TlsPost(const FakeProvider& fake, std::string target, std::string body) {
  return Post(fake.port(), std::move(target), std::move(body), /*tls=*/true, "localhost");
}

// A large body arrives whole over TLS, and no piece holds much more memory than its bytes.
TEST(UpstreamClientTest, PassesBinaryAudioThroughByteForByteOverTls) {
  std::optional<TlsRig> rig = StartTlsRig();
  ASSERT_TRUE(rig.has_value());
  FakeProvider* fake = rig->fake.get();
  UpstreamClient* client = rig->client.get();
  Collector collector;
  ASSERT_TRUE(RunCall(*client,
                      Post(fake->port(), "/v1/audio/speech", R"({"input":"hi"})", /*tls=*/true,
                           "localhost"),
                      collector)
                  .ok());
  ExpectTheFakeAudio(collector);
  EXPECT_EQ(collector.OversizedPieces(), 0u);
}

// Over TLS, what one record brought is read on without waiting (the provider's write is one record).
TEST(UpstreamClientTest, EventsThatArriveTogetherOverTlsComeAsOnePiece) {
  std::optional<TlsRig> rig = StartTlsRig();
  ASSERT_TRUE(rig.has_value());
  FakeProvider* fake = rig->fake.get();
  UpstreamClient* client = rig->client.get();
  ExpectTheBurstInOnePiece(*fake, *client,
                           Post(fake->port(), "/v1/chat/completions", Chat("fake-burst", true),
                                /*tls=*/true, "localhost"));
}

TEST(UpstreamClientTest, ConnectTimeoutCoversTheTlsHandshake) {
  // A listener that never answers the TLS ClientHello: the kernel accepts, nobody speaks.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 8), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  auto client = MakeClient(With(&UpstreamOptions::connect_timeout, absl::Milliseconds(300)));
  Collector collector;
  const absl::Time start = absl::Now();
  absl::Status s =
      RunCall(*client, Post(ntohs(addr.sin_port), "/v1/chat/completions", "{}", /*tls=*/true),
          collector);
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  close(fd);
}

TEST(UpstreamClientTest, HttpsWithTheConfiguredCaWorksAndAnUntrustedCertificateIsRefused) {
  auto certs = byok::testing::MakeTestCertificates();
  ASSERT_TRUE(certs.ok());
  auto fake = StartFake(TlsFake(*certs));
  TempFile ca(certs->ca_pem);

  auto trusting = MakeClient(TrustOnly(ca.path()));
  for (const char* host : {"localhost", "127.0.0.1"}) {
    Collector collector;
    absl::Status s = RunCall(*trusting,
                         Post(fake->port(), "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
                              "{}", /*tls=*/true, host),
                         collector);
    EXPECT_TRUE(s.ok()) << host << ": " << s << " (fake: " << fake->connections_accepted()
                        << " connections, " << fake->Requests().size() << " requests, head "
                        << collector.head().status << ", " << collector.piece_count() << " pieces)";
    EXPECT_THAT(collector.Body(), HasSubstr("candidates"));
  }

  auto other = byok::testing::MakeTestCertificates();
  ASSERT_TRUE(other.ok());
  TempFile other_ca(other->ca_pem);
  auto untrusting = MakeClient(TrustOnly(other_ca.path(), /*system_roots=*/true));
  Collector refused;
  absl::Status s = RunCall(*untrusting,
                       Post(fake->port(), "/v1/chat/completions", "{}", /*tls=*/true, "localhost"),
                       refused);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_THAT(s.message(), HasSubstr("certificate verify failed"));
}

TEST(UpstreamClientTest, CertificateForAnotherNameIsRefused) {
  auto certs = byok::testing::MakeTestCertificates({"api.example.test"}, {});
  ASSERT_TRUE(certs.ok());
  auto fake = StartFake(TlsFake(*certs));
  TempFile ca(certs->ca_pem);
  auto client = MakeClient(TrustOnly(ca.path()));
  Collector collector;
  absl::Status s = RunCall(
      *client, Post(fake->port(), "/v1/chat/completions", "{}", /*tls=*/true, "localhost"),
      collector);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_TRUE(fake->Requests().empty());
}

TEST(UpstreamClientTest, ReusesKeepAliveTlsConnections) {
  UpstreamOptions options;
  options.threads = 1;
  std::optional<TlsRig> rig = StartTlsRig(options);
  ASSERT_TRUE(rig.has_value());
  for (int i = 0; i < 3; ++i) {
    Collector collector;
    absl::Status s =
        RunCall(*rig->client, TlsPost(*rig->fake, "/v1/chat/completions", Chat("gpt-4o", i == 1)),
                collector);
    ASSERT_TRUE(s.ok()) << i << ": " << s;
    EXPECT_THAT(collector.Body(), HasSubstr("chat.completion")) << i;
  }
  EXPECT_EQ(rig->client->connections_opened(), 1);
  EXPECT_EQ(rig->fake->connections_accepted(), 1);
}

// A body far larger than a TLS record goes out whole and in order (partial writes, many records).
TEST(UpstreamClientTest, SendsALargeRequestBodyWholeOverTls) {
  std::optional<TlsRig> rig = StartTlsRig();
  ASSERT_TRUE(rig.has_value());
  std::string text;
  for (int i = 0; text.size() < 3 * 1024 * 1024; ++i) absl::StrAppend(&text, "word", i, " ");
  const std::string body =
      absl::StrCat(R"({"model":"gpt-4o","messages":[{"role":"user","content":")", text, R"("}]})");
  Collector collector;
  ASSERT_TRUE(RunCall(*rig->client, TlsPost(*rig->fake, "/v1/chat/completions", body), collector).ok());
  auto seen = rig->fake->WaitForRequest(kWait);
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->body.size(), body.size());
  EXPECT_TRUE(seen->body == body);
  EXPECT_EQ(seen->Header("content-length"), std::to_string(body.size()));
}

TEST(UpstreamClientTest, HeadersTimeoutOverTlsIsDeadlineExceeded) {
  UpstreamOptions options;
  options.headers_timeout = absl::Milliseconds(300);
  std::optional<TlsRig> rig = StartTlsRig(options);
  ASSERT_TRUE(rig.has_value());
  Collector collector;
  const absl::Time start = absl::Now();
  absl::Status s = RunCall(
      *rig->client, TlsPost(*rig->fake, "/v1/chat/completions", Chat("fake-stall-headers", true)),
      collector);
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_THAT(s.message(), HasSubstr("response headers"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST(UpstreamClientTest, IdleTimeoutCutsAStalledTlsStreamButNotASlowOne) {
  UpstreamOptions options;
  options.idle_timeout = absl::Milliseconds(300);
  std::optional<TlsRig> rig = StartTlsRig(options);
  ASSERT_TRUE(rig.has_value());
  Collector collector;
  absl::Status s = RunCall(
      *rig->client, TlsPost(*rig->fake, "/v1/chat/completions", Chat("fake-stall-body", true)),
      collector);
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_THAT(s.message(), HasSubstr("stalled"));
  EXPECT_THAT(collector.Body(), HasSubstr("Hello"));
  Collector steady;
  s = RunCall(*rig->client,
              TlsPost(*rig->fake, "/v1/chat/completions", Chat("fake-slow-5-100", true)), steady);
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_THAT(steady.Body(), HasSubstr("[DONE]"));
}

TEST(UpstreamClientTest, ATlsStreamCutOffIsAborted) {
  std::optional<TlsRig> rig = StartTlsRig();
  ASSERT_TRUE(rig.has_value());
  Collector collector;
  absl::Status s = RunCall(
      *rig->client, TlsPost(*rig->fake, "/v1/chat/completions", Chat("fake-break", true)), collector);
  EXPECT_EQ(s.code(), absl::StatusCode::kAborted) << s;
  EXPECT_THAT(collector.Body(), HasSubstr("Hello"));
}

TEST(UpstreamClientTest, CancelClosesTheTlsConnectionAtOnce) {
  std::optional<TlsRig> rig = StartTlsRig();
  ASSERT_TRUE(rig.has_value());
  Collector collector;
  collector.SetCall(rig->client->Start(
      TlsPost(*rig->fake, "/v1/chat/completions", Chat("fake-hold", true)), &collector));
  ASSERT_TRUE(collector.WaitForPieces(1));
  const absl::Time cancelled_at = absl::Now();
  collector.Cancel();
  auto closed_at = rig->fake->WaitForClientClosed(kWait);
  ASSERT_TRUE(closed_at.has_value());
  EXPECT_LT(*closed_at - cancelled_at, absl::Milliseconds(100));
  EXPECT_EQ(collector.WaitForDone().code(), absl::StatusCode::kCancelled);
}

// What a held TLS stream keeps in the client: its TLS session and parser, no transfer buffers. The
// provider runs in a process of its own, so the heap measured is the client's alone. (Asio's
// ssl::stream kept about 68 KiB of buffers per connection: 17 KiB each way and a 17 KiB BIO pair.)
TEST(UpstreamClientTest, AHeldTlsStreamKeepsNoTransferBuffers) {
#if BYOK_ASAN || BYOK_TSAN
  GTEST_SKIP() << "the sanitizer's allocator is not glibc's: mallinfo2 does not see it";
#endif
  mallopt(M_ARENA_MAX, 1);  // every thread in the main arena, so that mallinfo2 sees all of it
  byok::testing::TempDir dir;
  const int port = byok::testing::PickUnusedPort();
  const std::string ca = dir.path() + "/ca.pem";
  auto fake = byok::testing::ChildProcess::Start(
      byok::testing::BinaryPath("fake-provider"),
      {"--tls", "--port", std::to_string(port), "--ca-out", ca}, {});
  ASSERT_TRUE(fake.ok()) << fake.status();
  ASSERT_TRUE((*fake)->WaitForPort(port, kWait).ok()) << (*fake)->Output();
  UpstreamOptions options = TrustOnly(ca);
  options.threads = 1;
  auto client = MakeClient(std::move(options));
  ASSERT_NE(client, nullptr);
  auto post = [port](const std::string& model) {
    return Post(static_cast<uint16_t>(port), "/v1/chat/completions", Chat(model, true),
                /*tls=*/true, "localhost");
  };
  {  // one stream first, so that the pool, the thread and the TLS context exist before measuring
    Collector warm;
    ASSERT_TRUE(RunCall(*client, post("gpt-4o"), warm).ok());
  }
  constexpr int kStreams = 100;
  const size_t before = mallinfo2().uordblks;
  std::vector<std::unique_ptr<Collector>> held;
  for (int i = 0; i < kStreams; ++i) {
    held.push_back(std::make_unique<Collector>());
    held.back()->SetCall(client->Start(post("fake-hold"), held.back().get()));
  }
  for (auto& c : held) ASSERT_TRUE(c->WaitForPieces(1));
  absl::SleepFor(absl::Milliseconds(300));  // every stream back to waiting for the provider
  const double per_stream =
      (static_cast<double>(mallinfo2().uordblks) - static_cast<double>(before)) / kStreams;
  std::printf("heap per held TLS stream (client): %.1f KiB\n", per_stream / 1024);
  EXPECT_LT(per_stream, 40 * 1024);  // 110 KiB with Asio's ssl::stream, 24 KiB without
  for (auto& c : held) c->Cancel();
  for (auto& c : held) EXPECT_EQ(c->WaitForDone().code(), absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace byok::relay
