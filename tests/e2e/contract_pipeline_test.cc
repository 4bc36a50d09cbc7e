// Contract, compat.md §1, §7 and §8: what every request meets before its route — security headers, CORS,
// body reading, the global limiter, route matching — in the original's order.
#include <gmock/gmock.h>

#include "tests/e2e/contract_helpers.h"

namespace byok::testing {
namespace {

using ::testing::HasSubstr;

class ContractPipelineTest : public ContractTest {
 protected:
  static void SetUpTestSuite() {
    SuiteOptions options;
    options.gateway_env["ALLOWED_ORIGINS"] = " https://app.example , https://other.example ";
    StartSuite(options);
  }
};

void ExpectSecurityHeaders(const TestResponse& r) {
  EXPECT_THAT(r.Header("content-security-policy"), HasSubstr("default-src 'self'"));
  EXPECT_EQ(r.Header("cross-origin-opener-policy"), "same-origin");
  EXPECT_EQ(r.Header("cross-origin-resource-policy"), "same-origin");
  EXPECT_EQ(r.Header("origin-agent-cluster"), "?1");
  EXPECT_EQ(r.Header("referrer-policy"), "no-referrer");
  EXPECT_EQ(r.Header("strict-transport-security"), "max-age=31536000; includeSubDomains");
  EXPECT_EQ(r.Header("x-content-type-options"), "nosniff");
  EXPECT_EQ(r.Header("x-dns-prefetch-control"), "off");
  EXPECT_EQ(r.Header("x-download-options"), "noopen");
  EXPECT_EQ(r.Header("x-frame-options"), "SAMEORIGIN");
  EXPECT_EQ(r.Header("x-permitted-cross-domain-policies"), "none");
  EXPECT_EQ(r.Header("x-xss-protection"), "0");
  EXPECT_FALSE(r.Has("x-powered-by"));
}

TEST_F(ContractPipelineTest, SecurityHeadersOnEveryResponse) {
  std::string token = NewToken();
  ExpectSecurityHeaders(Call("GET", "/version", ""));
  ExpectSecurityHeaders(Call("GET", "/keys", token));
  ExpectSecurityHeaders(Call("GET", "/keys", ""));
  ExpectSecurityHeaders(Call("GET", "/nowhere", ""));
  ExpectSecurityHeaders(Call("OPTIONS", "/keys", ""));
  ExpectSecurityHeaders(Call("POST", "/keys/openai", "", "{bad"));
}

TEST_F(ContractPipelineTest, UnknownRoutesAre404CannotMethodPathAsJson) {
  TestResponse r = Call("GET", "/nowhere?x=1", "");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Error(r), "Cannot GET /nowhere");
  EXPECT_THAT(r.Header("content-type"), HasSubstr("application/json"));
  // A known path with a method it does not take.
  r = Call("PUT", "/keys/openai", "");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Error(r), "Cannot PUT /keys/openai");
  // The provider route: POST (and GET), nothing else; no provider path at all is no route.
  std::string token = NewToken();
  for (const char* method : {"PUT", "PATCH", "DELETE"}) {
    r = Call(method, "/relay/openai/v1/chat/completions", token);
    EXPECT_EQ(r.status, 404) << method;
    EXPECT_EQ(Error(r), absl::StrCat("Cannot ", method, " /relay/openai/v1/chat/completions"));
  }
  r = Call("POST", "/relay/openai", token, "{}");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Error(r), "Cannot POST /relay/openai");
}

TEST_F(ContractPipelineTest, RoutesMatchInAnyCaseWithOneTrailingSlash) {
  std::string token = NewToken();
  EXPECT_EQ(Call("GET", "/KEYS", token).status, 200);
  EXPECT_EQ(Call("GET", "/keys/", token).status, 200);
  EXPECT_EQ(Call("GET", "/Models/", "").status, 200);
  EXPECT_EQ(Call("GET", "/keys//", token).status, 404);
  // Parameters keep their case: /keys/OpenAI is an unsupported provider, not openai.
  EXPECT_EQ(Call("POST", "/keys/OpenAI", token, R"({"key":"sk-0123456789abc"})").status, 400);
}

TEST_F(ContractPipelineTest, HeadAnswersGetRoutesWithoutBody) {
  auto client = TestHttpClient::Connect(suite_->port());
  ASSERT_TRUE(client.ok());
  TestRequest head;
  head.method = "HEAD";
  head.target = "/health";
  ASSERT_TRUE((*client)->Send(head).ok());
  auto r = (*client)->ReadHead();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  TestRequest next;
  next.target = "/version";
  ASSERT_TRUE((*client)->Send(next).ok());
  auto v = (*client)->ReadResponse();
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->status, 200);
  EXPECT_TRUE(Json(*v).contains("version"));
}

TEST_F(ContractPipelineTest, MalformedJsonIs400BeforeAuthentication) {
  for (const char* body : {"{bad", "\"scalar\"", "42", " "}) {
    TestResponse r = Call("POST", "/keys/openai", "", body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_TRUE(Json(r)["error"].is_string()) << r.body;
  }
  // A NUL byte ends no JSON text: what follows it is not ignored (the original's JSON.parse refuses it).
  TestResponse nul = Call("POST", "/keys/openai", "", std::string("{\"key\":\"k\"}\0junk", 16));
  EXPECT_EQ(nul.status, 400);
  EXPECT_TRUE(Json(nul)["error"].is_string()) << nul.body;
  // The same for a relayed body, which the gateway checks without parsing it into a document.
  nul = Call("POST", "/relay/openai/v1/chat/completions", "", std::string("{\"model\":\"m\"}\0junk", 18));
  EXPECT_EQ(nul.status, 400);
  // A JSON array is JSON: the token check runs next.
  EXPECT_EQ(Call("POST", "/keys/openai", "", "[]").status, 401);
  // Not declared as JSON: not parsed, so the route's own checks answer.
  TestResponse r = Call("POST", "/keys/openai", "", "{bad", {{"Content-Type", "text/plain"}});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(Error(r), "x-relay-token header required");
}

TEST_F(ContractPipelineTest, CorsReflectsListedOriginsAndStillServesOthers) {
  std::string token = NewToken();
  TestResponse r = Call("GET", "/keys", token, "", {{"Origin", "https://other.example"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("access-control-allow-origin"), "https://other.example");
  EXPECT_EQ(r.Header("vary"), "Origin");
  EXPECT_THAT(r.Header("access-control-expose-headers"), HasSubstr("Retry-After"));
  EXPECT_FALSE(r.Has("access-control-allow-credentials"));

  r = Call("GET", "/keys", token, "", {{"Origin", "https://evil.example"}});
  EXPECT_EQ(r.status, 200);  // served; the browser withholds it
  EXPECT_FALSE(r.Has("access-control-allow-origin"));
  EXPECT_EQ(r.Header("vary"), "Origin");
}

TEST_F(ContractPipelineTest, AnyOptionsIsA204PreflightBeforeLimitsAndRoutes) {
  auto port = suite_->StartExtraGateway({{"RATE_LIMIT_GLOBAL", "1"}, {"ALLOWED_ORIGINS", "*"}});
  ASSERT_TRUE(port.ok()) << port.status();
  for (const char* path : {"/relay/openai/v1/chat/completions", "/nowhere", "/users", "/keys"}) {
    TestResponse r = Call("OPTIONS", path, "",
                          "", {{"Origin", "https://any.example"}, {"Access-Control-Request-Method", "POST"}},
                          *port);
    EXPECT_EQ(r.status, 204) << path;
    EXPECT_EQ(r.Header("access-control-allow-origin"), "*");
    EXPECT_EQ(r.Header("access-control-allow-methods"), "GET,POST,DELETE,OPTIONS");
    EXPECT_THAT(r.Header("access-control-allow-headers"),
                HasSubstr("Content-Type,Authorization,x-relay-token,anthropic-version,x-relay-base-url,"
                          "x-relay-referer,x-title,http-referer,x-relay-e2e-base-url-token,xi-api-key"));
    EXPECT_THAT(r.Header("access-control-allow-headers"), HasSubstr("anthropic-beta"));
    EXPECT_THAT(r.Header("access-control-allow-headers"), HasSubstr("x-stainless-os"));
    EXPECT_FALSE(r.Has("access-control-max-age"));
    EXPECT_FALSE(r.Has("ratelimit-limit"));
  }
  // The one request the global limit allows is still there.
  EXPECT_EQ(Call("GET", "/version", "", "", {}, *port).status, 200);
}

TEST_F(ContractPipelineTest, GlobalLimiterCountsEveryRoutedRequestButNotBodyFailures) {
  auto port = suite_->StartExtraGateway({{"RATE_LIMIT_GLOBAL", "3"}});
  ASSERT_TRUE(port.ok()) << port.status();
  // Malformed bodies are refused before the limiter.
  for (int i = 0; i < 4; ++i) {
    TestResponse bad = Call("POST", "/users", "", "{bad", {}, *port);
    EXPECT_EQ(bad.status, 400);
    EXPECT_FALSE(bad.Has("ratelimit-limit"));
  }
  TestResponse r = Call("GET", "/nowhere", "", "", {}, *port);  // a 404 counts
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.Header("ratelimit-policy"), "3;w=60");
  EXPECT_EQ(r.Header("ratelimit-limit"), "3");
  EXPECT_EQ(r.Header("ratelimit-remaining"), "2");
  EXPECT_FALSE(r.Header("ratelimit-reset").empty());
  EXPECT_EQ(Call("GET", "/keys", "", "", {}, *port).status, 401);  // a 401 counts
  EXPECT_EQ(Call("GET", "/health", "", "", {}, *port).status, 200);
  r = Call("GET", "/version", "", "", {}, *port);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(Error(r), "Too many requests, please slow down.");
  EXPECT_EQ(r.Header("ratelimit-remaining"), "0");
  int retry_after = std::stoi(r.Header("retry-after"));
  EXPECT_GT(retry_after, 0);
  EXPECT_LE(retry_after, 60);
  ExpectSecurityHeaders(r);
}

}  // namespace
}  // namespace byok::testing
