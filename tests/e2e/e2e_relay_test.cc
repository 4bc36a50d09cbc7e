// End to end, as a browser app: relayed requests for each provider, whole and streamed, the unified
// route, provider errors passed through, and a browser that leaves mid-stream.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/e2e/suite.h"

namespace byok::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

nlohmann::json Json(const TestResponse& r) { return nlohmann::json::parse(r.body, nullptr, false); }

class E2eRelayTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    SuiteOptions options;
    // groq points at a port nobody listens on: the provider is unreachable.
    options.relay_env["BYOK_PROVIDER_GROQ_BASE_URL"] =
        absl::StrCat("http://127.0.0.1:", PickUnusedPort());
    options.relay_env["BYOK_UPSTREAM_HEADERS_TIMEOUT_MS"] = "1000";
    auto suite = Suite::Start(options);
    ASSERT_TRUE(suite.ok()) << suite.status();
    suite_ = suite->release();
    auto token = suite_->Register();
    ASSERT_TRUE(token.ok()) << token.status();
    token_ = new std::string(*token);
    for (const char* provider : {"openai", "anthropic", "google", "openai-compatible", "groq"}) {
      auto r = Fetch(suite_->port(), "POST", absl::StrCat("/keys/", provider),
                     {{"x-relay-token", *token_}},
                     nlohmann::json({{"key", absl::StrCat("key-for-", provider, "-42")}}).dump());
      ASSERT_TRUE(r.ok());
      ASSERT_EQ(r->status, 200) << r->body;
    }
  }
  static void TearDownTestSuite() {
    delete suite_;
    delete token_;
    suite_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(suite_, nullptr);
    while (suite_->fake().WaitForRequest(absl::ZeroDuration()).has_value()) {
    }
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << suite_->Logs();
  }

  static TestRequest Relay(const std::string& target, std::string body,
                           std::vector<std::pair<std::string, std::string>> extra = {}) {
    TestRequest request;
    request.method = "POST";
    request.target = target;
    request.headers = {{"x-relay-token", *token_}, {"Content-Type", "application/json"}};
    for (auto& h : extra) request.headers.push_back(std::move(h));
    request.body = std::move(body);
    return request;
  }

  static Suite* suite_;
  static std::string* token_;
};

Suite* E2eRelayTest::suite_ = nullptr;
std::string* E2eRelayTest::token_ = nullptr;

struct ProviderCase {
  std::string provider;
  std::string path;
  std::string stream_path;
  std::string body;
  std::string stream_body;
  // Where the provider expects its key, and how.
  std::string key_header;
  std::string key_value;
  std::vector<std::pair<std::string, std::string>> headers;
};

std::vector<ProviderCase> Cases(const std::string& fake_url) {
  return {
      {"openai", "/v1/chat/completions", "/v1/chat/completions",
       R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]})",
       R"({"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]})",
       "authorization", "Bearer key-for-openai-42", {}},
      {"anthropic", "/v1/messages", "/v1/messages",
       R"({"model":"claude-3-5-haiku","max_tokens":5,"messages":[{"role":"user","content":"hi"}]})",
       R"({"model":"claude-3-5-haiku","max_tokens":5,"stream":true,"messages":[]})", "x-api-key",
       "key-for-anthropic-42", {{"anthropic-version", "2023-06-01"}}},
      {"google", "/v1beta/models/gemini-2.0-flash:generateContent",
       "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
       R"({"contents":[{"parts":[{"text":"hi"}]}]})", R"({"contents":[{"parts":[{"text":"hi"}]}]})",
       "x-goog-api-key", "key-for-google-42", {}},
      {"openai-compatible", "/v1/chat/completions", "/v1/chat/completions",
       R"({"model":"llama3","messages":[]})", R"({"model":"llama3","stream":true,"messages":[]})",
       "authorization", "Bearer key-for-openai-compatible-42",
       {{"x-relay-base-url", fake_url}}},
  };
}

TEST_F(E2eRelayTest, EachProviderWholeResponse) {
  for (const ProviderCase& c : Cases(suite_->fake().base_url())) {
    SCOPED_TRACE(c.provider);
    auto r = Fetch(suite_->port(), Relay(absl::StrCat("/relay/", c.provider, c.path), c.body,
                                         c.headers));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_TRUE(Json(*r).is_object()) << r->body;
    auto seen = suite_->fake().WaitForRequest(absl::Seconds(5));
    ASSERT_TRUE(seen.has_value());
    EXPECT_EQ(seen->Header(c.key_header).value_or(""), c.key_value);
    EXPECT_THAT(seen->target, Not(HasSubstr("key-for")));
    // The gateway's own credential never travels upstream.
    EXPECT_FALSE(seen->Header("x-relay-token").has_value());
    EXPECT_EQ(seen->body, c.body);
  }
}

TEST_F(E2eRelayTest, HeadersTheBrowserNamedInConnectionStayBehind) {
  auto r = Fetch(suite_->port(),
                 Relay("/relay/anthropic/v1/messages", R"({"model":"claude-3-5-haiku","max_tokens":8})",
                       {{"Connection", "keep-alive, anthropic-beta"},
                        {"anthropic-beta", "prompt-caching-2024-07-31"},
                        {"anthropic-version", "2023-06-01"}}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200) << r->body;
  auto seen = suite_->fake().WaitForRequest(absl::Seconds(5));
  ASSERT_TRUE(seen.has_value());
  EXPECT_FALSE(seen->Header("anthropic-beta").has_value());
  EXPECT_EQ(seen->Header("anthropic-version").value_or(""), "2023-06-01");
}

TEST_F(E2eRelayTest, EachProviderStreamsPieceByPiece) {
  for (const ProviderCase& c : Cases(suite_->fake().base_url())) {
    SCOPED_TRACE(c.provider);
    auto client = TestHttpClient::Connect(suite_->port());
    ASSERT_TRUE(client.ok());
    ASSERT_TRUE((*client)
                    ->Send(Relay(absl::StrCat("/relay/", c.provider, c.stream_path), c.stream_body,
                                 c.headers))
                    .ok());
    auto head = (*client)->ReadHead();
    ASSERT_TRUE(head.ok()) << head.status();
    EXPECT_EQ(head->status, 200);
    EXPECT_THAT(head->Header("content-type"), HasSubstr("text/event-stream"));
    EXPECT_EQ(head->Header("cache-control"), "no-cache");
    EXPECT_EQ(head->Header("x-accel-buffering"), "no");
    EXPECT_EQ(head->Header("transfer-encoding"), "chunked");
    std::string body;
    int pieces = 0;
    while (true) {
      auto piece = (*client)->ReadBodyPiece();
      ASSERT_TRUE(piece.ok()) << piece.status();
      if (piece->empty()) break;
      body += *piece;
      ++pieces;
    }
    EXPECT_GT(pieces, 1) << body;
    EXPECT_THAT(body, HasSubstr("data: "));
    EXPECT_THAT(body, Not(HasSubstr("event: error")));
    auto seen = suite_->fake().WaitForRequest(absl::Seconds(5));
    ASSERT_TRUE(seen.has_value());
    EXPECT_EQ(seen->Header(c.key_header).value_or(""), c.key_value);
  }
}

TEST_F(E2eRelayTest, PiecesArriveBeforeTheProviderFinished) {
  auto client = TestHttpClient::Connect(suite_->port());
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE((*client)
                  ->Send(Relay("/relay/openai/v1/chat/completions",
                               R"({"model":"fake-hold","stream":true,"messages":[]})"))
                  .ok());
  auto head = (*client)->ReadHead();
  ASSERT_TRUE(head.ok()) << head.status();
  // The provider holds the rest of its stream: the first event must already be here.
  auto first = (*client)->ReadBodyPiece(absl::Seconds(5));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_THAT(*first, HasSubstr("data: "));
  suite_->fake().Release();
  std::string rest;
  while (true) {
    auto piece = (*client)->ReadBodyPiece();
    ASSERT_TRUE(piece.ok()) << piece.status();
    if (piece->empty()) break;
    rest += *piece;
  }
  EXPECT_THAT(rest, HasSubstr("[DONE]"));
}

TEST_F(E2eRelayTest, UnifiedRouteFollowsTheModel) {
  auto r = Fetch(suite_->port(),
                 Relay("/relay", R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}]})"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200) << r->body;
  auto seen = suite_->fake().WaitForRequest(absl::Seconds(5));
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->target, "/v1/chat/completions");
  EXPECT_EQ(seen->Header("authorization").value_or(""), "Bearer key-for-openai-42");

  r = Fetch(suite_->port(), Relay("/relay", R"({"model":"gemini-2.0-flash","stream":true,
                                   "contents":[{"parts":[{"text":"x"}]}]})"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_THAT(r->Header("content-type"), HasSubstr("text/event-stream"));
  seen = suite_->fake().WaitForRequest(absl::Seconds(5));
  ASSERT_TRUE(seen.has_value());
  EXPECT_THAT(seen->target, HasSubstr("gemini-2.0-flash:streamGenerateContent"));
  EXPECT_EQ(seen->Header("x-goog-api-key").value_or(""), "key-for-google-42");
}

// A body nested 100,000 deep once overflowed the stack while the route was worked out, before the token
// was checked, and took the service down. It is refused as malformed, with or without a valid token.
TEST_F(E2eRelayTest, DeeplyNestedBodyIsRefusedAndTheSuiteStaysUp) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  for (const char* model : {"openai/gpt-4o-mini", "gemini-2.0-flash"}) {
    for (const std::string& token : {*token_, std::string("not-a-valid-token")}) {
      for (const char* target : {"/relay", "/relay/openai/v1/chat/completions"}) {
        TestRequest request = Relay(target, absl::StrCat(R"({"model":")", model, R"(","x":)", deep, "}"));
        request.headers[0].second = token;
        auto r = Fetch(suite_->port(), request);
        ASSERT_TRUE(r.ok()) << target << " " << model << ": " << r.status();
        EXPECT_EQ(r->status, 400) << target << " " << model << ": " << r->body;
        EXPECT_TRUE(Json(*r)["error"].is_string()) << r->body;
      }
    }
  }
  EXPECT_FALSE(suite_->fake().WaitForRequest(absl::ZeroDuration()).has_value());
  auto health = Fetch(suite_->port(), "GET", "/health", {}, "");
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(health->status, 200) << health->body;
  auto r = Fetch(suite_->port(),
                 Relay("/relay", R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}]})"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200) << r->body;
}

TEST_F(E2eRelayTest, ProviderErrorsPassThrough) {
  auto r = Fetch(suite_->port(), Relay("/relay/openai/v1/chat/completions",
                                       R"({"model":"fake-429","messages":[]})"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(r->Header("retry-after"), "7");
  EXPECT_TRUE(Json(*r).contains("error")) << r->body;
}

TEST_F(E2eRelayTest, BrokenStreamEndsWithAnSseErrorEvent) {
  auto r = Fetch(suite_->port(), Relay("/relay/openai/v1/chat/completions",
                                       R"({"model":"fake-break","stream":true,"messages":[]})"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_THAT(r->body, HasSubstr("data: "));
  EXPECT_TRUE(absl::EndsWith(r->body, "event: error\ndata: {\"error\":\"Stream interrupted by provider\"}\n\n"))
      << r->body;
}

TEST_F(E2eRelayTest, UnreachableProviderIs502AndStalledOneIs504) {
  auto r = Fetch(suite_->port(), Relay("/relay/groq/openai/v1/chat/completions",
                                       R"({"model":"llama-3.1-8b","messages":[]})"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 502) << r->body;
  EXPECT_EQ(Json(*r)["error"], "Failed to reach AI provider");

  r = Fetch(suite_->port(), Relay("/relay/openai/v1/chat/completions",
                                  R"({"model":"fake-stall-headers","messages":[]})"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 504) << r->body;
  EXPECT_EQ(Json(*r)["error"], "AI provider timed out (30 s). Please retry.");
}

// A provider that cannot be reached is still a forwarded request: it is recorded (as 502, compat.md §10.5).
TEST_F(E2eRelayTest, AnUnreachableProviderIsRecorded) {
  auto token = suite_->Register();
  ASSERT_TRUE(token.ok());
  auto r = Fetch(suite_->port(), "POST", "/keys/groq", {{"x-relay-token", *token}},
                 R"({"key":"gsk_0123456789abcdef"})");
  ASSERT_TRUE(r.ok() && r->status == 200);
  TestRequest request = Relay("/relay/groq/openai/v1/chat/completions", R"({"model":"llama-unreachable"})");
  request.headers[0].second = *token;
  r = Fetch(suite_->port(), request);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 502);
  bool recorded = false;
  for (absl::Time deadline = absl::Now() + absl::Seconds(10); !recorded && absl::Now() < deadline;) {
    auto stats = Fetch(suite_->port(), "GET", "/stats", {{"x-relay-token", *token}}, "");
    ASSERT_TRUE(stats.ok());
    const nlohmann::json body = Json(*stats);
    for (const auto& m : body["top_models"]) recorded |= m["model"] == "llama-unreachable";
    if (!recorded) absl::SleepFor(absl::Milliseconds(50));  // usage is batched; nothing signals a flush
  }
  EXPECT_TRUE(recorded);
}

TEST_F(E2eRelayTest, DisconnectingBrowserClosesTheUpstreamAtOnce) {
  auto client = TestHttpClient::Connect(suite_->port());
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE((*client)
                  ->Send(Relay("/relay/anthropic/v1/messages",
                               R"({"model":"fake-stall-body","stream":true,"max_tokens":5,"messages":[]})",
                               {{"anthropic-version", "2023-06-01"}}))
                  .ok());
  auto head = (*client)->ReadHead();
  ASSERT_TRUE(head.ok()) << head.status();
  auto first = (*client)->ReadBodyPiece(absl::Seconds(5));
  ASSERT_TRUE(first.ok());
  absl::Time left = absl::Now();
  (*client)->Close();
  std::optional<absl::Time> closed = suite_->fake().WaitForClientClosed(absl::Seconds(5));
  ASSERT_TRUE(closed.has_value()) << "the provider connection stayed open";
  EXPECT_LT(*closed - left, absl::Milliseconds(100));
}

}  // namespace
}  // namespace byok::testing
