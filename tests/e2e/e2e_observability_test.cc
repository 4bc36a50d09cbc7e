// Request ids, traces and logs across the suite: the browser's x-request-id comes back on the response
// and reaches the gateway's JSON access line and the relay's and vault's logs; a W3C traceparent is
// continued to the provider with the same trace id; nothing from the network forges a log line.
#include <gmock/gmock.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/request_context.h"
#include "tests/e2e/contract_helpers.h"

namespace byok::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kTrace[] = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr char kParent[] = "00f067aa0ba902b7";

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

class ObservabilityTest : public ContractTest {
 protected:
  static void SetUpTestSuite() {
    SuiteOptions options;
    options.gateway_env = {{"LOG_FORMAT", "json"}, {"LOG_LEVEL", "info"}};
    options.relay_env = {{"LOG_FORMAT", "json"}, {"LOG_LEVEL", "debug"}};
    options.vault_env = {{"LOG_FORMAT", "json"}, {"LOG_LEVEL", "debug"}};
    StartSuite(std::move(options));
  }

  // The gateway's JSON access line of the request `request_id`, once written (it follows the response).
  static nlohmann::json AccessLine(const std::string& request_id) {
    absl::Time deadline = absl::Now() + absl::Seconds(5);
    do {
      for (const std::string& line : Lines(suite_->GatewayLogs())) {
        if (!absl::StrContains(line, request_id)) continue;
        nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_object() && j.value("message", "") == "request") return j;
      }
      absl::SleepFor(absl::Milliseconds(20));
    } while (absl::Now() < deadline);
    ADD_FAILURE() << "no access line for " << request_id << " in\n" << suite_->GatewayLogs();
    return nullptr;
  }

  // Waits until the suite's logs (every process) hold `text`.
  static bool LogsContain(const std::string& text) {
    absl::Time deadline = absl::Now() + absl::Seconds(5);
    do {
      if (absl::StrContains(suite_->Logs(), text)) return true;
      absl::SleepFor(absl::Milliseconds(20));
    } while (absl::Now() < deadline);
    return false;
  }
};

TEST_F(ObservabilityTest, TheBrowsersRequestIdComesBackAndIsInTheJsonAccessLine) {
  std::string token = NewToken();
  TestResponse r = Call("GET", "/keys", token, "", {{"x-request-id", "browser-req-42"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("x-request-id"), "browser-req-42");
  nlohmann::json line = AccessLine("browser-req-42");
  ASSERT_TRUE(line.is_object());
  EXPECT_EQ(line["request_id"], "browser-req-42");
  EXPECT_EQ(line["level"], "info");
  EXPECT_EQ(line["service"], "gateway");
  EXPECT_EQ(line["trace_id"].get<std::string>().size(), 32u);
  EXPECT_EQ(line["fields"]["method"], "GET");
  EXPECT_EQ(line["fields"]["route"], "/keys");
  EXPECT_EQ(line["fields"]["status"], "200");
  EXPECT_TRUE(line["fields"].contains("duration_ms"));
  EXPECT_TRUE(line["fields"].contains("bytes"));
  // The vault's log of the call it made carries the same id.
  EXPECT_TRUE(LogsContain(R"("request_id":"browser-req-42")")) << suite_->Logs();
}

TEST_F(ObservabilityTest, EveryResponseHasARequestIdMadeWhenTheBrowsersIsMissingOrInvalid) {
  for (const Headers& headers : {Headers{}, Headers{{"x-request-id", "has space"}},
                                 Headers{{"x-request-id", std::string(200, 'a')}}}) {
    TestResponse r = Call("GET", "/health", "", "", headers);
    ASSERT_EQ(r.status, 200);
    EXPECT_THAT(r.Header("x-request-id"), ::testing::MatchesRegex("[0-9a-f]{32}"));
  }
  // Refusals too: a 404, a 401.
  EXPECT_TRUE(Call("GET", "/nowhere", "").Has("x-request-id"));
  EXPECT_EQ(Call("GET", "/keys", "", "", {{"x-request-id", "r-401"}}).Header("x-request-id"), "r-401");
  EXPECT_EQ(Call("OPTIONS", "/keys", "", "", {{"x-request-id", "r-pre"}}).Header("x-request-id"), "r-pre");
}

TEST_F(ObservabilityTest, TheTraceparentReachesTheProviderWithTheSameTraceIdAndANewSpan) {
  std::string token = NewToken();
  ASSERT_EQ(Call("POST", "/keys/openai", token, R"({"key":"sk-trace-0123456789"})").status, 200);
  const std::string traceparent = absl::StrCat("00-", kTrace, "-", kParent, "-01");
  TestResponse r = Call("POST", "/relay/openai/v1/chat/completions", token,
                        R"({"model":"gpt-4o-mini","messages":[],"user":"trace-test-1"})",
                        {{"traceparent", traceparent}, {"tracestate", "vendor=abc"}, {"x-request-id", "trace-req-1"}});
  ASSERT_EQ(r.status, 200) << r.body;
  // The provider's own request id is passed back (compat.md); the gateway's is in the logs.
  EXPECT_EQ(r.Header("x-request-id"), "req_fake_123");
  std::optional<RecordedRequest> seen;
  for (const RecordedRequest& q : suite_->fake().Requests()) {
    if (absl::StrContains(q.body, "trace-test-1")) seen = q;
  }
  ASSERT_TRUE(seen.has_value());
  std::string trace, span, flags;
  ASSERT_TRUE(trace::ParseTraceparent(seen->Header("traceparent").value_or(""), &trace, &span, &flags))
      << seen->Header("traceparent").value_or("(none)");
  EXPECT_EQ(trace, kTrace);
  EXPECT_NE(span, kParent);  // each hop its own span
  EXPECT_EQ(flags, "01");
  EXPECT_EQ(seen->Header("tracestate").value_or(""), "vendor=abc");
  EXPECT_EQ(seen->HeaderCount("traceparent"), 1);
  // The request id is ours, never sent to the provider.
  EXPECT_FALSE(seen->Header("x-request-id").has_value());
  // The gateway's line, and the relay's and vault's logs, carry the trace id.
  nlohmann::json line = AccessLine("trace-req-1");
  ASSERT_TRUE(line.is_object());
  EXPECT_EQ(line["trace_id"], kTrace);
  EXPECT_EQ(line["fields"]["route"], "/relay/{provider}/{path...}");
  // The time inside it spent on the vault (the token check) and the relay (the whole relayed call).
  int relay_ms = -1;
  int duration_ms = -1;
  ASSERT_TRUE(absl::SimpleAtoi(line["fields"].value("relay_ms", ""), &relay_ms)) << line.dump();
  ASSERT_TRUE(absl::SimpleAtoi(line["fields"].value("duration_ms", ""), &duration_ms)) << line.dump();
  EXPECT_TRUE(line["fields"].contains("vault_ms")) << line.dump();
  EXPECT_LE(relay_ms, duration_ms);
  EXPECT_TRUE(LogsContain(absl::StrCat(R"("service":"relay")"))) << suite_->Logs();
  for (const std::string& l : Lines(suite_->Logs())) {
    if (!absl::StrContains(l, "trace-req-1")) continue;
    nlohmann::json j = nlohmann::json::parse(l, nullptr, false);
    ASSERT_TRUE(j.is_object()) << l;
    EXPECT_EQ(j["trace_id"], kTrace) << l;
  }
}

TEST_F(ObservabilityTest, WithoutATraceparentOneIsMadeAndCarriedToTheProvider) {
  std::string token = NewToken();
  ASSERT_EQ(Call("POST", "/keys/anthropic", token, R"({"key":"sk-ant-trace-0123456789"})").status, 200);
  TestResponse r = Call("POST", "/relay/anthropic/v1/messages", token,
                        R"({"model":"claude-3-5-haiku","max_tokens":8,"stream":true,"metadata":{"user_id":"trace-test-2"}})",
                        {{"traceparent", "00-zz-not-valid"}, {"x-request-id", "trace-req-2"}});
  ASSERT_EQ(r.status, 200) << r.body;
  std::optional<RecordedRequest> seen;
  for (const RecordedRequest& q : suite_->fake().Requests()) {
    if (absl::StrContains(q.body, "trace-test-2")) seen = q;
  }
  ASSERT_TRUE(seen.has_value());
  std::string trace, span, flags;
  ASSERT_TRUE(trace::ParseTraceparent(seen->Header("traceparent").value_or(""), &trace, &span, &flags));
  nlohmann::json line = AccessLine("trace-req-2");
  ASSERT_TRUE(line.is_object());
  EXPECT_EQ(line["trace_id"], trace);  // the trace the gateway made is the one the provider saw
}

TEST_F(ObservabilityTest, AMaliciousPathOrHeaderCannotForgeAJsonLine) {
  const std::string forged = R"({"level":"error","message":"forged","request_id":"x"})";
  TestRequest request;
  request.method = "GET";
  request.target = "/keys%0a%7B%22level%22%3A%22error%22%7D%0d%0a?q=%0a";
  request.headers = {{"x-request-id", "evil\"}"}, {"traceparent", "00-\"},{-x"}, {"user-agent", forged}};
  ASSERT_TRUE(Fetch(suite_->port(), request).ok());
  TestResponse ok = Call("GET", "/health", "", "", {{"x-request-id", "after-forgery"}});
  ASSERT_EQ(ok.status, 200);
  ASSERT_TRUE(AccessLine("after-forgery").is_object());
  for (const std::string& line : Lines(suite_->GatewayLogs())) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(j.is_object()) << line;
    EXPECT_NE(j.value("message", ""), "forged") << line;
    EXPECT_NE(j.value("level", ""), "error") << line;
  }
  EXPECT_THAT(suite_->GatewayLogs(), ::testing::Not(HasSubstr("evil")));
}

// The default text form: one line per event, ids appended, nothing from the network breaks a line.
class TextLogTest : public ContractTest {
 protected:
  static void SetUpTestSuite() {
    SuiteOptions options;
    options.gateway_env = {{"LOG_LEVEL", "info"}};
    StartSuite(std::move(options));
  }
};

TEST_F(TextLogTest, AMaliciousPathOrHeaderCannotForgeATextLine) {
  TestRequest request;
  request.method = "GET";
  request.target = "/keys%0a2026-01-01T00:00:00.000Z%20error%20%5Bvault%5D%20forged";
  request.headers = {{"x-request-id", "evil\r"}, {"user-agent", "2026-01-01T00:00:00.000Z error [vault] forged"}};
  ASSERT_TRUE(Fetch(suite_->port(), request).ok());
  TestResponse ok = Call("GET", "/health", "", "", {{"x-request-id", "text-after-forgery"}});
  ASSERT_EQ(ok.status, 200);
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (!absl::StrContains(suite_->GatewayLogs(), "text-after-forgery") && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  const std::string logs = suite_->GatewayLogs();
  EXPECT_THAT(logs, HasSubstr("request_id=text-after-forgery"));
  EXPECT_THAT(logs, HasSubstr("route=/health"));
  // gtest's POSIX regex: std::regex trips GCC 12's -Wmaybe-uninitialized under the sanitizers.
  const char* line_start = "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z (debug|info |warn |error) \\[[a-z-]+\\] .*";
  for (const std::string& line : Lines(logs)) {
    EXPECT_THAT(line, ::testing::MatchesRegex(line_start));
    EXPECT_THAT(line, ::testing::Not(HasSubstr("forged"))) << line;
  }
}

}  // namespace
}  // namespace byok::testing
