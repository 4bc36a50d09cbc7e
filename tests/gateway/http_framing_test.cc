// The gateway's reading of request heads over raw sockets (RFC 9112): message framing a smuggler would
// use (Transfer-Encoding that is not exactly chunked, Transfer-Encoding with Content-Length), a missing
// or repeated Host, obs-folded and bare-LF lines; each is refused with 400 (or 501) and the connection
// closes, so nothing after it is read as a second request. Backends are down: /version answers alone.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "services/gateway/gateway_server.h"
#include "tests/gateway/http_test_client.h"
#include "tests/testing/process.h"

namespace byok::gateway {
namespace {

using byok::testing::TestHttpClient;
using byok::testing::TestResponse;
using ::testing::HasSubstr;

// A request that would be answered if it were read as a second request on the connection.
constexpr char kSmuggled[] = "GET /no/such/route HTTP/1.1\r\nHost: x\r\n\r\n";

class HttpFramingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto config = LoadGatewayConfig(
        Env({{"PORT", "0"},
             {"BYOK_GATEWAY_HOST", "127.0.0.1"},
             {"BYOK_VAULT_ADDR", absl::StrCat("127.0.0.1:", byok::testing::PickUnusedPort())},
             {"BYOK_RELAY_ADDR", absl::StrCat("127.0.0.1:", byok::testing::PickUnusedPort())}}));
    ASSERT_TRUE(config.ok()) << config.status();
    auto server = GatewayServer::Start(*std::move(config));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }
  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(1));
  }

  // Writes `raw` on a fresh connection and reads one response.
  absl::StatusOr<TestResponse> Exchange(const std::string& raw,
                                        std::unique_ptr<TestHttpClient>* keep = nullptr) {
    auto client = TestHttpClient::Connect(server_->port());
    if (!client.ok()) return client.status();
    if (absl::Status s = (*client)->WriteRaw(raw); !s.ok()) return s;
    auto response = (*client)->ReadResponse(absl::Seconds(5));
    if (keep != nullptr) *keep = *std::move(client);
    return response;
  }

  // Expects `raw` to be refused with `status`, and the connection closed with nothing more on it.
  void ExpectRefusedAndClosed(const std::string& raw, int status, const std::string& why) {
    std::unique_ptr<TestHttpClient> client;
    auto r = Exchange(raw, &client);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, status) << r->body;
    EXPECT_THAT(r->body, HasSubstr(why));
    EXPECT_EQ(r->Header("connection"), "close");
    // Answered as the chain answers: a request id and the security headers.
    EXPECT_EQ(r->Header("x-request-id").size(), 32u) << r->Header("x-request-id");
    EXPECT_EQ(r->Header("x-content-type-options"), "nosniff");
    ASSERT_NE(client, nullptr);
    // A second response (the 404 of the smuggled request) would arrive before the close.
    auto second = client->ReadResponse(absl::Seconds(2));
    EXPECT_FALSE(second.ok()) << "a second response: " << second->status;
  }

  std::unique_ptr<GatewayServer> server_;
};

class TransferEncodingTest : public HttpFramingTest,
                             public ::testing::WithParamInterface<std::tuple<std::string, int>> {};

TEST_P(TransferEncodingTest, OnlyExactlyChunkedIsAccepted) {
  const auto& [coding, status] = GetParam();
  ExpectRefusedAndClosed(absl::StrCat("GET /version HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ", coding,
                                      "\r\n\r\n", kSmuggled),
                         status, status == 501 ? "transfer coding" : "Transfer-Encoding");
}

INSTANTIATE_TEST_SUITE_P(
    Codings, TransferEncodingTest,
    ::testing::Values(std::make_tuple("identity", 400), std::make_tuple("xchunked", 400),
                      std::make_tuple("chunked, identity", 400), std::make_tuple("chunkedx", 400),
                      std::make_tuple("chunked;x=1", 400), std::make_tuple("", 400),
                      std::make_tuple(",", 400), std::make_tuple("gzip, chunked", 501),
                      std::make_tuple("chunked, chunked", 501)));

TEST_F(HttpFramingTest, TransferEncodingOverSeveralLinesMustStillEndInChunked) {
  ExpectRefusedAndClosed(absl::StrCat("GET /version HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                                      "Transfer-Encoding: identity\r\n\r\n0\r\n\r\n",
                                      kSmuggled),
                         400, "malformed");
  ExpectRefusedAndClosed(absl::StrCat("GET /version HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n"
                                      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                                      kSmuggled),
                         501, "transfer coding");
}

TEST_F(HttpFramingTest, TransferEncodingWithContentLengthIsRefusedEitherOrder) {
  // Content-Length first: the parser itself refuses.
  ExpectRefusedAndClosed(absl::StrCat("POST /version HTTP/1.1\r\nHost: x\r\nContent-Length: ",
                                      sizeof(kSmuggled) - 1,
                                      "\r\nTransfer-Encoding: chunked\r\n\r\n", kSmuggled),
                         400, "malformed");
  // Transfer-Encoding first, not chunked: the parser would take the Content-Length.
  ExpectRefusedAndClosed(absl::StrCat("POST /version HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n"
                                      "Content-Length: 5\r\n\r\nhello",
                                      kSmuggled),
                         400, "Content-Length");
}

TEST_F(HttpFramingTest, Http10RequestWithTransferEncodingIsRefused) {
  ExpectRefusedAndClosed(absl::StrCat("POST /version HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"
                                      "0\r\n\r\n",
                                      kSmuggled),
                         400, "HTTP/1.0");
}

TEST_F(HttpFramingTest, ExactlyChunkedStillWorks) {
  auto r = Exchange("POST /version HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n"
                    "3\r\nabc\r\n0\r\n\r\n");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NE(r->status, 400) << r->body;
  EXPECT_NE(r->status, 501) << r->body;
}

TEST_F(HttpFramingTest, Http11NeedsExactlyOneValidHost) {
  ExpectRefusedAndClosed(absl::StrCat("GET /version HTTP/1.1\r\n\r\n", kSmuggled), 400,
                         "missing Host");
  ExpectRefusedAndClosed(absl::StrCat("GET /version HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", kSmuggled),
                         400, "more than one Host");
  ExpectRefusedAndClosed(absl::StrCat("GET /version HTTP/1.1\r\nHost: a/b\r\n\r\n", kSmuggled), 400,
                         "invalid Host");
  auto r = Exchange("GET /version HTTP/1.1\r\nHost: gateway.example:3000\r\n\r\n");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
}

TEST_F(HttpFramingTest, Http10WithoutHostIsAnswered) {
  auto r = Exchange("GET /version HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_FALSE(r->Has("transfer-encoding"));
}

TEST_F(HttpFramingTest, VersionsOtherThanHttp10And11AreRefused) {
  for (const char* version : {"HTTP/2.0", "HTTP/0.9", "HTTP/1.2", "HTTP/1.10"}) {
    ExpectRefusedAndClosed(absl::StrCat("GET /version ", version, "\r\nHost: x\r\n\r\n", kSmuggled), 400,
                           "malformed");
  }
}

TEST_F(HttpFramingTest, ObsFoldedLinesAreRefused) {
  // A folded x-relay-token would be joined into one value.
  ExpectRefusedAndClosed(absl::StrCat("GET /keys HTTP/1.1\r\nHost: x\r\nx-relay-token: abc\r\n def\r\n\r\n",
                                      kSmuggled),
                         400, "folded");
  ExpectRefusedAndClosed(absl::StrCat("GET /version HTTP/1.1\r\nHost: x\r\nX-A: a\r\n\tb\r\n\r\n", kSmuggled),
                         400, "folded");
  // Whitespace between the request line and the first field (RFC 9112 §2.2).
  ExpectRefusedAndClosed(absl::StrCat("GET /version HTTP/1.1\r\n Host: x\r\n\r\n", kSmuggled), 400,
                         "folded");
}

TEST_F(HttpFramingTest, BareLineEndingsAndNulAreRefused) {
  ExpectRefusedAndClosed(absl::StrCat("GET /version HTTP/1.1\nHost: x\n\n", kSmuggled), 400, "bare LF");
  ExpectRefusedAndClosed(absl::StrCat("GET /version HTTP/1.1\r\nHost: x\rX-A: b\r\n\r\n", kSmuggled), 400,
                         "bare CR");
  ExpectRefusedAndClosed(absl::StrCat("GET /version HTTP/1.1\r\nHost: x\r\nX-A: ",
                                      std::string(1, '\0'), "\r\n\r\n", kSmuggled),
                         400, "NUL");
}

TEST_F(HttpFramingTest, EmptyLinesBeforeTheRequestLineAreSkipped) {
  auto r = Exchange("\r\n\r\nGET /version HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
}

TEST_F(HttpFramingTest, AHeadSentAByteAtATimeAndPipelinedRequestsAreRead) {
  auto client = TestHttpClient::Connect(server_->port());
  ASSERT_TRUE(client.ok());
  std::string head = "GET /version HTTP/1.1\r\nHost: x\r\n\r\n";
  for (char c : head) ASSERT_TRUE((*client)->WriteRaw(std::string(1, c)).ok());
  auto r = (*client)->ReadResponse();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);

  ASSERT_TRUE((*client)->WriteRaw(absl::StrCat(head, kSmuggled)).ok());
  r = (*client)->ReadResponse();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  r = (*client)->ReadResponse();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 404);
}

TEST_F(HttpFramingTest, AHeadPastTheLimitIs431EvenWithoutItsEnd) {
  ExpectRefusedAndClosed(absl::StrCat("GET /version HTTP/1.1\r\nHost: x\r\nX-Big: ", std::string(20000, 'a')),
                         431, "too large");
}

}  // namespace
}  // namespace byok::gateway
