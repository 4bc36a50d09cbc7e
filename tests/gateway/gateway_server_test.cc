// The gateway's HTTP behaviour in front of its backends, in-process, with the vault and relay addresses
// pointing at closed loopback ports: limits, errors, CORS, rate limits, timeouts and readiness.
#include "services/gateway/gateway_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "tests/gateway/http_test_client.h"
#include "tests/testing/process.h"

namespace byok::gateway {
namespace {

using byok::testing::Fetch;
using byok::testing::TestHttpClient;
using byok::testing::TestRequest;
using byok::testing::TestResponse;

class GatewayServerTest : public ::testing::Test {
 protected:
  void StartWith(absl::flat_hash_map<std::string, std::string> vars) {
    vars.emplace("PORT", "0");
    vars.emplace("BYOK_GATEWAY_HOST", "127.0.0.1");
    // Nothing listens there: the backends are down.
    vars.emplace("BYOK_VAULT_ADDR", absl::StrCat("127.0.0.1:", byok::testing::PickUnusedPort()));
    vars.emplace("BYOK_RELAY_ADDR", absl::StrCat("127.0.0.1:", byok::testing::PickUnusedPort()));
    vars.emplace("BYOK_HEALTH_TIMEOUT_MS", "300");
    vars.emplace("BYOK_GATEWAY_RPC_TIMEOUT_MS", "2000");
    auto config = LoadGatewayConfig(Env(std::move(vars)));
    ASSERT_TRUE(config.ok()) << config.status();
    auto server = GatewayServer::Start(*std::move(config));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    port_ = server_->port();
  }

  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(1));
  }

  static nlohmann::json Json(const TestResponse& r) {
    return nlohmann::json::parse(r.body, nullptr, false);
  }

  std::unique_ptr<GatewayServer> server_;
  int port_ = 0;
};

TEST_F(GatewayServerTest, UnknownRoutesAndWrongMethodsGetJsonErrors) {
  StartWith({});
  auto r = Fetch(port_, "GET", "/no/such/route");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 404);
  EXPECT_THAT(r->Header("content-type"), ::testing::StartsWith("application/json"));
  EXPECT_THAT(Json(*r)["error"].get<std::string>(), ::testing::HasSubstr("/no/such/route"));

  r = Fetch(port_, "PUT", "/keys");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->Header("allow"), "GET");
  EXPECT_TRUE(Json(*r).contains("error"));
}

TEST_F(GatewayServerTest, TokenRoutesNeedATokenAndJsonRoutesNeedJson) {
  StartWith({});
  auto r = Fetch(port_, "GET", "/keys");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(Json(*r)["error"], "missing x-relay-token header");

  r = Fetch(port_, "POST", "/keys/openai", {{"x-relay-token", "t"}}, "{not json");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(Json(*r)["error"], "request body is not valid JSON");

  r = Fetch(port_, "POST", "/keys/openai", {{"x-relay-token", "t"}}, "[1,2]");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400);

  r = Fetch(port_, "POST", "/keys/openai", {{"x-relay-token", "t"}}, "{\"key\": 5}");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(Json(*r)["error"], "\"key\" must be a string");
}

TEST_F(GatewayServerTest, BackendsDownGive503AndHealthSaysWhich) {
  StartWith({});
  auto r = Fetch(port_, "GET", "/keys", {{"x-relay-token", "t"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(Json(*r)["error"], "vault unavailable");

  r = Fetch(port_, "POST", "/relay/openai/v1/chat/completions", {{"x-relay-token", "t"}}, "{}");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(Json(*r)["error"], "relay unavailable");

  r = Fetch(port_, "GET", "/health");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);
  nlohmann::json health = Json(*r);
  EXPECT_EQ(health["ok"], false);
  EXPECT_EQ(health["checks"]["vault"], "unavailable");
  EXPECT_EQ(health["checks"]["relay"], "unavailable");
  EXPECT_EQ(health["checks"]["config"], "ok");
  EXPECT_TRUE(health.contains("version"));
  EXPECT_TRUE(health.contains("uptime"));

  r = Fetch(port_, "GET", "/version");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(Json(*r)["name"], "byok-relay");

  r = Fetch(port_, "GET", "/openapi.json");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(Json(*r)["openapi"], "3.0.3");
}

TEST_F(GatewayServerTest, OversizedBodyIsRefusedBeforeItIsRead) {
  StartWith({{"REQUEST_BODY_LIMIT_BYTES", "1000"}});
  auto client = TestHttpClient::Connect(port_);
  ASSERT_TRUE(client.ok());
  TestRequest request;
  request.method = "POST";
  request.target = "/keys/openai";
  request.headers = {{"x-relay-token", "t"}, {"Content-Length", "5000000"}};
  request.set_content_length = false;
  // Only the head goes out: the answer must come without the body.
  ASSERT_TRUE((*client)->Send(request).ok());
  auto r = (*client)->ReadResponse(absl::Seconds(5));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(Json(*r)["error"], "request body too large");
  EXPECT_EQ(r->Header("connection"), "close");
}

TEST_F(GatewayServerTest, ChunkedBodyIsCutOffAtTheLimit) {
  StartWith({{"REQUEST_BODY_LIMIT_BYTES", "1000"}});
  auto client = TestHttpClient::Connect(port_);
  ASSERT_TRUE(client.ok());
  std::string piece(600, 'x');
  std::string raw = absl::StrCat(
      "POST /keys/openai HTTP/1.1\r\nHost: x\r\nx-relay-token: t\r\nTransfer-Encoding: chunked\r\n\r\n",
      "258\r\n", piece, "\r\n", "258\r\n", piece, "\r\n");
  ASSERT_TRUE((*client)->WriteRaw(raw).ok());
  auto r = (*client)->ReadResponse(absl::Seconds(5));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 413);
}

TEST_F(GatewayServerTest, SlowOrHugeHeadersCannotHoldAConnection) {
  StartWith({{"BYOK_HTTP_HEADER_TIMEOUT_MS", "300"}});
  auto slow = TestHttpClient::Connect(port_);
  ASSERT_TRUE(slow.ok());
  ASSERT_TRUE((*slow)->WriteRaw("GET /health HTTP/1.1\r\nHost: x\r\n").ok());
  absl::Time start = absl::Now();
  EXPECT_TRUE((*slow)->WaitForClose(absl::Seconds(5)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));

  auto huge = TestHttpClient::Connect(port_);
  ASSERT_TRUE(huge.ok());
  ASSERT_TRUE((*huge)
                  ->WriteRaw(absl::StrCat("GET /version HTTP/1.1\r\nHost: x\r\nX-Big: ",
                                          std::string(64 * 1024, 'a'), "\r\n\r\n"))
                  .ok());
  auto r = (*huge)->ReadResponse(absl::Seconds(5));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 431);
  EXPECT_TRUE(Json(*r).contains("error"));
}

TEST_F(GatewayServerTest, ExpectContinueIsHonoured) {
  StartWith({});
  auto client = TestHttpClient::Connect(port_);
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE((*client)
                  ->WriteRaw("POST /keys/openai HTTP/1.1\r\nHost: x\r\nx-relay-token: t\r\n"
                             "Expect: 100-continue\r\nContent-Length: 5\r\n\r\n")
                  .ok());
  auto interim = (*client)->ReadHead(absl::Seconds(5));
  ASSERT_TRUE(interim.ok()) << interim.status();
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE((*client)->WriteRaw("{bad}").ok());
  auto r = (*client)->ReadResponse(absl::Seconds(5));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 400);
}

TEST_F(GatewayServerTest, CorsPreflightIsAnsweredWithoutTokenOnlyForAllowedOrigins) {
  StartWith({{"ALLOWED_ORIGINS", "https://app.example.com"}});
  std::vector<std::pair<std::string, std::string>> preflight = {
      {"Origin", "https://app.example.com"},
      {"Access-Control-Request-Method", "POST"},
      {"Access-Control-Request-Headers", "content-type, x-relay-token, anthropic-beta"}};
  auto r = Fetch(port_, "OPTIONS", "/relay/anthropic/v1/messages", preflight);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(r->Header("access-control-allow-origin"), "https://app.example.com");
  EXPECT_THAT(r->Header("access-control-allow-headers"), ::testing::HasSubstr("x-relay-token"));
  EXPECT_THAT(r->Header("access-control-allow-headers"), ::testing::HasSubstr("anthropic-beta"));
  EXPECT_THAT(r->Header("access-control-allow-methods"), ::testing::HasSubstr("POST"));
  EXPECT_TRUE(r->Has("access-control-max-age"));

  preflight[0].second = "https://evil.example";
  r = Fetch(port_, "OPTIONS", "/relay/anthropic/v1/messages", preflight);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->Has("access-control-allow-origin"));
  EXPECT_FALSE(r->Has("access-control-allow-headers"));

  // Ordinary responses (errors included) carry the grant for allowed origins only.
  r = Fetch(port_, "GET", "/keys", {{"Origin", "https://app.example.com"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->Header("access-control-allow-origin"), "https://app.example.com");
  r = Fetch(port_, "GET", "/keys", {{"Origin", "https://evil.example"}});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->Has("access-control-allow-origin"));
}

TEST_F(GatewayServerTest, GlobalRateLimitTripsWithHeaders) {
  StartWith({{"RATE_LIMIT_GLOBAL", "3"}});
  for (int i = 0; i < 3; ++i) {
    auto r = Fetch(port_, "GET", "/version");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->Header("ratelimit-limit"), "3");
    EXPECT_EQ(r->Header("ratelimit-remaining"), std::to_string(2 - i));
  }
  auto r = Fetch(port_, "GET", "/version");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(r->Header("ratelimit-remaining"), "0");
  int retry_after = std::stoi(r->Header("retry-after"));
  EXPECT_GT(retry_after, 0);
  EXPECT_LE(retry_after, 60);
  EXPECT_TRUE(Json(*r).contains("error"));
  // Readiness probes are not counted.
  r = Fetch(port_, "GET", "/health");
  ASSERT_TRUE(r.ok());
  EXPECT_NE(r->status, 429);
}

TEST_F(GatewayServerTest, TrustedProxyHopsDecideTheClientAddress) {
  StartWith({{"RATE_LIMIT_GLOBAL", "1"}, {"TRUST_PROXY", "1"}});
  auto a = Fetch(port_, "GET", "/version", {{"X-Forwarded-For", "203.0.113.1"}});
  auto b = Fetch(port_, "GET", "/version", {{"X-Forwarded-For", "203.0.113.2"}});
  auto a2 = Fetch(port_, "GET", "/version", {{"X-Forwarded-For", "203.0.113.1"}});
  ASSERT_TRUE(a.ok() && b.ok() && a2.ok());
  EXPECT_EQ(a->status, 200);
  EXPECT_EQ(b->status, 200);
  EXPECT_EQ(a2->status, 429);
}

TEST_F(GatewayServerTest, UntrustedForwardedForIsIgnored) {
  StartWith({{"RATE_LIMIT_GLOBAL", "1"}});
  auto a = Fetch(port_, "GET", "/version", {{"X-Forwarded-For", "203.0.113.1"}});
  auto b = Fetch(port_, "GET", "/version", {{"X-Forwarded-For", "203.0.113.2"}});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->status, 200);
  EXPECT_EQ(b->status, 429);
}

TEST_F(GatewayServerTest, RelayLimitIsPerTokenAndRegisterLimitPerAddress) {
  StartWith({{"RATE_LIMIT_RELAY", "1"}, {"RATE_LIMIT_REGISTER", "1"}});
  auto first = Fetch(port_, "POST", "/relay/openai/v1/chat/completions", {{"x-relay-token", "a"}},
                     "{}");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->status, 503);  // the relay is down, but the request counted
  EXPECT_EQ(first->Header("ratelimit-limit"), "1");
  auto second = Fetch(port_, "POST", "/relay/openai/v1/chat/completions", {{"x-relay-token", "a"}},
                      "{}");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->status, 429);
  EXPECT_TRUE(second->Has("retry-after"));
  auto other = Fetch(port_, "POST", "/relay/openai/v1/chat/completions", {{"x-relay-token", "b"}},
                     "{}");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->status, 503);

  auto reg1 = Fetch(port_, "POST", "/users", {}, "{\"app_id\":\"a\"}");
  auto reg2 = Fetch(port_, "POST", "/users", {}, "{\"app_id\":\"a\"}");
  ASSERT_TRUE(reg1.ok() && reg2.ok());
  EXPECT_EQ(reg1->status, 503);
  EXPECT_EQ(reg2->status, 429);
  EXPECT_TRUE(reg2->Has("retry-after"));
}

TEST_F(GatewayServerTest, AppSecretGatesRegistrationAndAppStats) {
  StartWith({{"APP_SECRET", "the-app-secret"}});
  auto r = Fetch(port_, "POST", "/users", {}, "{\"app_id\":\"a\"}");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 401);
  r = Fetch(port_, "POST", "/users", {{"Authorization", "Bearer wrong-secret"}}, "{}");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 401);
  r = Fetch(port_, "POST", "/users", {{"Authorization", "Bearer the-app-secret"}}, "{}");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);  // past the gate; the vault is down
  r = Fetch(port_, "GET", "/stats/a");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 401);
}

TEST_F(GatewayServerTest, AppStatsAreClosedWithoutAppSecret) {
  StartWith({});
  auto r = Fetch(port_, "GET", "/stats/a");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 403);
}

}  // namespace
}  // namespace byok::gateway
