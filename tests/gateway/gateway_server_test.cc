// The gateway's HTTP behaviour in front of its backends, in-process, with the vault and relay addresses
// pointing at closed loopback ports: limits, errors, CORS, rate limits, timeouts and readiness.
#include "services/gateway/gateway_server.h"

#include <map>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "services/gateway/api/api.h"
#include "services/gateway/backends/backends.h"
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

TEST_F(GatewayServerTest, UnknownRoutesAndWrongMethodsGetTheOriginals404InJson) {
  StartWith({});
  auto r = Fetch(port_, "GET", "/no/such/route?x=1");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 404);
  EXPECT_THAT(r->Header("content-type"), ::testing::StartsWith("application/json"));
  EXPECT_EQ(Json(*r)["error"], "Cannot GET /no/such/route");

  r = Fetch(port_, "PUT", "/keys");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(Json(*r)["error"], "Cannot PUT /keys");
  for (const char* method : {"PUT", "PATCH", "DELETE"}) {
    r = Fetch(port_, method, "/relay/openai/v1/chat/completions", {{"x-relay-token", "t"}});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 404) << method;
    EXPECT_EQ(Json(*r)["error"], absl::StrCat("Cannot ", method, " /relay/openai/v1/chat/completions"));
  }
  r = Fetch(port_, "POST", "/relay/openai", {{"x-relay-token", "t"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(Json(*r)["error"], "Cannot POST /relay/openai");
}

TEST_F(GatewayServerTest, EveryResponseCarriesTheSecurityHeaders) {
  StartWith({});
  for (auto [method, target] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/version"}, {"GET", "/nope"}, {"OPTIONS", "/keys"}, {"GET", "/keys"}}) {
    auto r = Fetch(port_, method, target);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->Header("x-content-type-options"), "nosniff") << method << " " << target;
    EXPECT_EQ(r->Header("x-frame-options"), "SAMEORIGIN");
    EXPECT_EQ(r->Header("strict-transport-security"), "max-age=31536000; includeSubDomains");
    EXPECT_EQ(r->Header("cross-origin-opener-policy"), "same-origin");
    EXPECT_EQ(r->Header("referrer-policy"), "no-referrer");
    EXPECT_EQ(r->Header("x-xss-protection"), "0");
    EXPECT_THAT(r->Header("content-security-policy"), ::testing::HasSubstr("default-src 'self'"));
    EXPECT_FALSE(r->Has("x-powered-by"));
  }
}

TEST_F(GatewayServerTest, HeadIsAnsweredByGetRoutesWithoutABody) {
  StartWith({});
  auto client = TestHttpClient::Connect(port_);
  ASSERT_TRUE(client.ok());
  TestRequest head;
  head.method = "HEAD";
  head.target = "/version";
  ASSERT_TRUE((*client)->Send(head).ok());
  auto r = (*client)->ReadHead();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_THAT(r->Header("content-type"), ::testing::StartsWith("application/json"));
  // The connection is ready for the next request at once: no body was sent.
  ASSERT_TRUE((*client)->Send(TestRequest{"GET", "/version", {}, "", true}).ok());
  auto next = (*client)->ReadResponse();
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->status, 200);
}

TEST_F(GatewayServerTest, TokenAndBodyChecksInTheOriginalsOrder) {
  StartWith({});
  std::pair<std::string, std::string> json = {"Content-Type", "application/json"};
  auto r = Fetch(port_, "GET", "/keys");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(Json(*r)["error"], "x-relay-token header required");
  EXPECT_EQ(Json(*r)["code"], "token_required");

  // The body is read before any route check: malformed JSON is 400 even without a token.
  r = Fetch(port_, "POST", "/keys/openai", {json}, "{not json");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(Json(*r)["code"], "invalid_json");
  // Strict: a top-level scalar is malformed too; arrays and objects are JSON.
  r = Fetch(port_, "POST", "/users", {json}, "\"text\"");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(Json(*r)["code"], "invalid_json");
  r = Fetch(port_, "POST", "/keys/openai", {json}, "[1,2]");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 401);
  // Without a JSON content type the body is not parsed at all.
  r = Fetch(port_, "POST", "/keys/openai", {{"Content-Type", "text/plain"}}, "{not json");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 401);
  // Nesting deeper than the bound is malformed, not a crash.
  r = Fetch(port_, "POST", "/keys/openai", {json},
            std::string(100000, '[') + std::string(100000, ']'));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400);
  // A relay route with a raw (non-JSON) body takes it unparsed; the token is checked next.
  r = Fetch(port_, "POST", "/relay/deepgram/v1/listen", {{"Content-Type", "audio/wav"}}, "{not json");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(Json(*r)["error"], "x-relay-token header required");
}

// The relay paths only check a JSON body (they send its bytes on) but refuse exactly what the other
// routes refuse, at the same point: before the token.
TEST_F(GatewayServerTest, RelayPathsRefuseTheSameMalformedJsonBeforeTheToken) {
  StartWith({});
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  for (const char* path : {"/relay", "/relay/", "/Relay", "/relay/openai/v1/chat/completions",
                           "/RELAY/openai/v1/chat/completions"}) {
    for (const char* type : {"application/json", "application/json; charset=utf-8"}) {
      for (const std::string& body : std::vector<std::string>{
               "{not json", "\"text\"", "42", "{}{}", "[1,]", "{\"model\":\"x\"} x", " ", deep,
               "\xEF\xBB\xBF{}"}) {
        auto r = Fetch(port_, "POST", path, {{"Content-Type", type}}, body);
        ASSERT_TRUE(r.ok()) << r.status();
        EXPECT_EQ(r->status, 400) << path << " " << body.substr(0, 20);
        EXPECT_EQ(Json(*r)["code"], "invalid_json") << path << " " << body.substr(0, 20);
      }
      for (const char* body : {"{}", "[]", "[1]", " {\"model\":\"gpt-4o\"}\n",
                               "[[[[[[[[[[]]]]]]]]]]"}) {
        auto r = Fetch(port_, "POST", path, {{"Content-Type", type}}, body);
        ASSERT_TRUE(r.ok()) << r.status();
        EXPECT_EQ(r->status, 401) << path << " " << body;
        EXPECT_EQ(Json(*r)["error"], "x-relay-token header required") << path << " " << body;
      }
    }
  }
}

TEST_F(GatewayServerTest, BackendsDownGive503WithFixedPhrasesAndHealthSaysWhich) {
  StartWith({});
  auto r = Fetch(port_, "GET", "/keys", {{"x-relay-token", "t"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(Json(*r)["error"], "vault unavailable");

  // The relay routes ask the vault about the token before anything else.
  r = Fetch(port_, "POST", "/relay/openai/v1/chat/completions",
            {{"x-relay-token", "t"}, {"Content-Type", "application/json"}}, "{}");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(Json(*r)["error"], "vault unavailable");

  r = Fetch(port_, "GET", "/models");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(Json(*r)["error"], "relay unavailable");

  r = Fetch(port_, "GET", "/health");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);
  nlohmann::json health = Json(*r);
  EXPECT_EQ(health["ok"], false);
  EXPECT_EQ(health["status"], "degraded");
  EXPECT_EQ(health["checks"]["db"], nlohmann::json({{"ok", false}, {"error", "Database unreachable"}}));
  EXPECT_EQ(health["checks"]["vault"], "unavailable");
  EXPECT_EQ(health["checks"]["relay"], "unavailable");
  EXPECT_EQ(health["checks"]["config"]["ok"], true);
  EXPECT_EQ(health["checks"]["config"]["registration_gated"], false);
  EXPECT_TRUE(health["version"].is_string());
  EXPECT_TRUE(health["uptime"].is_number_integer());
  EXPECT_TRUE(health["commit"].is_null());
  EXPECT_FALSE(health.contains("warnings"));

  r = Fetch(port_, "GET", "/version");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  nlohmann::json version = Json(*r);
  EXPECT_TRUE(version["version"].is_string());
  EXPECT_TRUE(version["commit"].is_null());
  EXPECT_TRUE(version["attestationUrl"].is_null());
  EXPECT_TRUE(version["repoUrl"].is_string());
  EXPECT_THAT(version["buildTime"].get<std::string>(),
              ::testing::MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{3}Z"));

  r = Fetch(port_, "GET", "/openapi.json");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(Json(*r)["openapi"], "3.0.3");
  r = Fetch(port_, "GET", "/openapi.yaml");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("content-type"), "text/yaml; charset=utf-8");
}

TEST_F(GatewayServerTest, OversizedBodyIsRefusedBeforeItIsRead) {
  StartWith({{"REQUEST_BODY_LIMIT_BYTES", "1000"}, {"ALLOWED_ORIGINS", "https://app.example"}});
  auto client = TestHttpClient::Connect(port_);
  ASSERT_TRUE(client.ok());
  TestRequest request;
  request.method = "POST";
  request.target = "/keys/openai";
  request.headers = {{"x-relay-token", "t"},
                     {"Origin", "https://app.example"},
                     {"x-request-id", "refused-request-1"},
                     {"Content-Length", "5000000"}};
  request.set_content_length = false;
  // Only the head goes out: the answer must come without the body.
  ASSERT_TRUE((*client)->Send(request).ok());
  auto r = (*client)->ReadResponse(absl::Seconds(5));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(Json(*r)["error"], "request body too large");
  EXPECT_EQ(r->Header("connection"), "close");
  // Answered as the chain answers: the browser can read it (CORS grant), and it has a request id of
  // its own (nothing of a refused request is trusted, its x-request-id included).
  EXPECT_EQ(r->Header("access-control-allow-origin"), "https://app.example");
  EXPECT_EQ(r->Header("x-request-id").size(), 32u);
  EXPECT_NE(r->Header("x-request-id"), "refused-request-1");
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
                             "Content-Type: application/json\r\n"
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

TEST_F(GatewayServerTest, CorsPreflightIsAnsweredBeforeEverythingElse) {
  StartWith({{"ALLOWED_ORIGINS", "https://app.example.com"}, {"RATE_LIMIT_GLOBAL", "1"}});
  std::vector<std::pair<std::string, std::string>> preflight = {
      {"Origin", "https://app.example.com"},
      {"Access-Control-Request-Method", "POST"},
      {"Access-Control-Request-Headers", "content-type, x-relay-token, anthropic-beta"}};
  // Any path, never rate limited.
  for (const char* path : {"/relay/anthropic/v1/messages", "/no/such/route", "/keys"}) {
    auto r = Fetch(port_, "OPTIONS", path, preflight);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 204) << path;
    EXPECT_EQ(r->Header("access-control-allow-origin"), "https://app.example.com");
    EXPECT_EQ(r->Header("vary"), "Origin");
    EXPECT_THAT(r->Header("access-control-allow-headers"), ::testing::HasSubstr("x-relay-token"));
    EXPECT_THAT(r->Header("access-control-allow-headers"), ::testing::HasSubstr("anthropic-beta"));
    EXPECT_EQ(r->Header("access-control-allow-methods"), "GET,POST,DELETE,OPTIONS");
    EXPECT_FALSE(r->Has("ratelimit-limit"));
  }

  preflight[0].second = "https://evil.example";
  auto r = Fetch(port_, "OPTIONS", "/relay/anthropic/v1/messages", preflight);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 204);
  EXPECT_FALSE(r->Has("access-control-allow-origin"));

  // Ordinary responses (errors included) carry the grant for allowed origins; others are still
  // served, without it.
  r = Fetch(port_, "GET", "/keys", {{"Origin", "https://app.example.com"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->Header("access-control-allow-origin"), "https://app.example.com");
  EXPECT_THAT(r->Header("access-control-expose-headers"), ::testing::HasSubstr("RateLimit-Remaining"));
}

TEST_F(GatewayServerTest, GlobalRateLimitTripsWithHeaders) {
  StartWith({{"RATE_LIMIT_GLOBAL", "3"}});
  for (int i = 0; i < 3; ++i) {
    auto r = Fetch(port_, "GET", "/version");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->Header("ratelimit-limit"), "3");
    EXPECT_EQ(r->Header("ratelimit-policy"), "3;w=60");
    EXPECT_EQ(r->Header("ratelimit-remaining"), std::to_string(2 - i));
  }
  auto r = Fetch(port_, "GET", "/version");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(r->Header("ratelimit-remaining"), "0");
  int retry_after = std::stoi(r->Header("retry-after"));
  EXPECT_GT(retry_after, 0);
  EXPECT_LE(retry_after, 60);
  EXPECT_EQ(Json(*r)["error"], "Too many requests, please slow down.");
  // Every request counts, unknown routes and /health included (as the original).
  r = Fetch(port_, "GET", "/health");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 429);
  r = Fetch(port_, "GET", "/nope");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 429);
}

TEST_F(GatewayServerTest, BodyFailuresAndPreflightsDoNotCountGlobally) {
  StartWith({{"RATE_LIMIT_GLOBAL", "1"}});
  for (int i = 0; i < 3; ++i) {
    auto bad = Fetch(port_, "POST", "/users", {{"Content-Type", "application/json"}}, "{bad");
    ASSERT_TRUE(bad.ok());
    EXPECT_EQ(bad->status, 400);
    EXPECT_FALSE(bad->Has("ratelimit-limit"));
  }
  auto r = Fetch(port_, "GET", "/version");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
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

TEST_F(GatewayServerTest, RegisterLimitPerAddressCountsOnlyPastTheAppSecret) {
  StartWith({{"RATE_LIMIT_REGISTER", "1"}, {"APP_SECRET", "the-app-secret"}});
  std::vector<std::pair<std::string, std::string>> ok = {{"Authorization", "Bearer the-app-secret"},
                                                         {"Content-Type", "application/json"}};
  // Refused at the APP_SECRET check: no registration quota used.
  for (int i = 0; i < 3; ++i) {
    auto r = Fetch(port_, "POST", "/users", {{"Authorization", "Bearer wrong"}}, "{}");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 401);
  }
  auto reg1 = Fetch(port_, "POST", "/users", ok, "{\"app_id\":\"a\"}");
  ASSERT_TRUE(reg1.ok());
  EXPECT_EQ(reg1->status, 503);  // past the limiter; the vault is down
  EXPECT_EQ(reg1->Header("ratelimit-policy"), "1;w=3600");
  auto reg2 = Fetch(port_, "POST", "/users", ok, "{\"app_id\":\"a\"}");
  ASSERT_TRUE(reg2.ok());
  EXPECT_EQ(reg2->status, 429);
  EXPECT_EQ(Json(*reg2)["error"], "Too many registrations from this IP, please try again later.");
  EXPECT_TRUE(reg2->Has("retry-after"));
  EXPECT_EQ(reg2->Header("ratelimit-limit"), "1");
}

TEST_F(GatewayServerTest, AppSecretGatesRegistrationAndAppStats) {
  StartWith({{"APP_SECRET", "the-app-secret"}});
  const char* kRefusal =
      "Unauthorized: valid Authorization: Bearer <APP_SECRET> header required to register.";
  for (const char* auth : {"", "Bearer wrong-secret", "bearer the-app-secret", "Bearer  the-app-secret",
                           "Basic the-app-secret"}) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (*auth) headers.emplace_back("Authorization", auth);
    auto r = Fetch(port_, "POST", "/users", headers, "{}");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 401) << auth;
    EXPECT_EQ(Json(*r)["error"], kRefusal);
  }
  // Parts after the secret are ignored, as the original.
  auto r = Fetch(port_, "POST", "/users", {{"Authorization", "Bearer the-app-secret extra"}}, "{}");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400);  // past the gate: app_id is required
  EXPECT_EQ(Json(*r)["error"], "app_id is required");
  r = Fetch(port_, "GET", "/stats/a");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(Json(*r)["error"], kRefusal);
}

TEST_F(GatewayServerTest, AppStatsWithoutAppSecretAre503) {
  StartWith({});
  auto r = Fetch(port_, "GET", "/stats/a");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(Json(*r)["error"], "Operator stats require APP_SECRET to be configured.");
}

TEST_F(GatewayServerTest, RegistrationChecksAppIdBeforeTheVault) {
  StartWith({});
  std::pair<std::string, std::string> json = {"Content-Type", "application/json"};
  for (const char* body : {"{}", "{\"app_id\":\"\"}", "{\"app_id\":null}", "{\"app_id\":0}",
                           "{\"app_id\":false}", "[]"}) {
    auto r = Fetch(port_, "POST", "/users", {json}, body);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 400) << body;
    EXPECT_EQ(Json(*r)["error"], "app_id is required") << body;
  }
  // Not JSON: the body is {} (400), as the original.
  auto r = Fetch(port_, "POST", "/users", {{"Content-Type", "text/plain"}}, "{\"app_id\":\"a\"}");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400);
  // true or an object: the original's 500, as JSON.
  r = Fetch(port_, "POST", "/users", {json}, "{\"app_id\":true}");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 500);
  EXPECT_TRUE(Json(*r)["error"].is_string());
  // A number goes on to the vault (down here).
  r = Fetch(port_, "POST", "/users", {json}, "{\"app_id\":42}");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);
}

// What the HTTP layer's own refusals (413, 431) are to carry: the same security headers and CORS grant.
TEST(ApiTest, RefusalHeadersAreTheSecurityHeadersAndTheCorsGrant) {
  auto config = LoadGatewayConfig(
      Env(absl::flat_hash_map<std::string, std::string>{{"ALLOWED_ORIGINS", "https://app.example"}}));
  ASSERT_TRUE(config.ok());
  Backends backends(*config);
  Api api(*config, backends);
  std::map<std::string, std::string> headers;
  for (const auto& [name, value] : api.RefusalHeaders("https://app.example")) headers[name] = value;
  EXPECT_EQ(headers["X-Frame-Options"], "SAMEORIGIN");
  EXPECT_EQ(headers["Strict-Transport-Security"], "max-age=31536000; includeSubDomains");
  EXPECT_EQ(headers["Access-Control-Allow-Origin"], "https://app.example");
  EXPECT_EQ(headers["Vary"], "Origin");
}

}  // namespace
}  // namespace byok::gateway
