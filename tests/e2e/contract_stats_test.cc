// Contract, compat.md §3.12 and §3.13: usage statistics per user and per app, field by field.
#include <gmock/gmock.h>

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/e2e/contract_helpers.h"

namespace byok::testing {
namespace {

class ContractStatsTest : public ContractTest {
 protected:
  static void SetUpTestSuite() { StartSuite(); }

  // Reads GET /stats until `total` reaches `want` (usage is recorded as the response ends).
  static nlohmann::json StatsWhenTotal(const std::string& token, int64_t want) {
    absl::Time deadline = absl::Now() + absl::Seconds(5);
    nlohmann::json stats;
    do {
      TestResponse r = Call("GET", "/stats", token);
      EXPECT_EQ(r.status, 200) << r.body;
      stats = Json(r);
      if (stats.value("total", int64_t{-1}) >= want) break;
      absl::SleepFor(absl::Milliseconds(50));
    } while (absl::Now() < deadline);
    return stats;
  }
};

TEST_F(ContractStatsTest, ANewUserHasZerosNullsAndEmptyCollections) {
  std::string token = NewToken();
  TestResponse r = Call("GET", "/stats", token);
  ASSERT_EQ(r.status, 200) << r.body;
  nlohmann::json s = Json(r);
  for (const char* field : {"total", "last_7d", "last_30d", "error_count", "error_rate"}) {
    ASSERT_TRUE(s[field].is_number_integer()) << field << " in " << r.body;
    EXPECT_EQ(s[field], 0) << field;
  }
  EXPECT_EQ(s["providers"], nlohmann::json::object());
  EXPECT_EQ(s["top_models"], nlohmann::json::array());
  EXPECT_TRUE(s.contains("last_request"));
  EXPECT_TRUE(s["last_request"].is_null());
  EXPECT_FALSE(s.contains("app_id"));
  // The original's keys come first, in its order; ours (token counts, daily) after them.
  std::vector<std::string> keys = KeysInOrder(r.body);
  const std::vector<std::string> original = {"total",     "last_7d",  "last_30d",   "error_count",
                                             "error_rate", "providers", "top_models", "last_request"};
  ASSERT_GE(keys.size(), original.size());
  EXPECT_EQ(std::vector<std::string>(keys.begin(), keys.begin() + original.size()), original);
  EXPECT_EQ(Call("GET", "/stats", "").status, 401);
}

TEST_F(ContractStatsTest, ARelayedRequestIsCountedWithItsProviderAndModel) {
  std::string token = NewToken("stats-app");
  ASSERT_EQ(Call("POST", "/keys/openai", token, R"({"key":"sk-stats-0123456789"})").status, 200);
  TestResponse relayed = Call("POST", "/relay/openai/v1/chat/completions", token,
                              R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]})");
  ASSERT_EQ(relayed.status, 200) << relayed.body;
  nlohmann::json s = StatsWhenTotal(token, 1);
  EXPECT_EQ(s["total"], 1);
  EXPECT_EQ(s["last_7d"], 1);
  EXPECT_EQ(s["last_30d"], 1);
  EXPECT_EQ(s["error_count"], 0);
  EXPECT_EQ(s["error_rate"], 0);
  ASSERT_TRUE(s["providers"].contains("openai")) << s.dump();
  EXPECT_EQ(s["providers"]["openai"]["total"], 1);
  EXPECT_EQ(s["providers"]["openai"]["errors"], 0);
  ASSERT_EQ(s["top_models"].size(), 1u) << s.dump();
  EXPECT_EQ(s["top_models"][0]["model"], "gpt-4o-mini");
  EXPECT_EQ(s["top_models"][0]["total"], 1);

  // A provider error counts as an error; error_rate is errors / total, rounded to 4 places.
  TestResponse failed = Call("POST", "/relay/openai/v1/chat/completions", token,
                             R"({"model":"fake-429","messages":[]})");
  ASSERT_EQ(failed.status, 429);
  s = StatsWhenTotal(token, 2);
  EXPECT_EQ(s["total"], 2);
  EXPECT_EQ(s["error_count"], 1);
  EXPECT_DOUBLE_EQ(s["error_rate"].get<double>(), 0.5);
  EXPECT_EQ(s["providers"]["openai"]["errors"], 1);

  // The operator's view of the app: user_count, no last_request.
  TestResponse app = Call("GET", "/stats/stats-app", "", "", AppSecret());
  ASSERT_EQ(app.status, 200) << app.body;
  nlohmann::json a = Json(app);
  EXPECT_EQ(a["app_id"], "stats-app");
  EXPECT_EQ(a["user_count"], 1);
  EXPECT_EQ(a["total"], 2);
  EXPECT_EQ(a["error_count"], 1);
  EXPECT_FALSE(a.contains("last_request"));
  std::vector<std::string> keys = KeysInOrder(app.body);
  const std::vector<std::string> original = {"app_id",     "user_count", "total",     "last_7d",
                                             "last_30d",   "error_count", "error_rate", "providers",
                                             "top_models"};
  ASSERT_GE(keys.size(), original.size());
  EXPECT_EQ(std::vector<std::string>(keys.begin(), keys.begin() + original.size()), original);
}

// The vault fills last_request (GetStatsResponse.last_request) on its branch.
TEST_F(ContractStatsTest, LastRequestIsTheNewestRequestsTime) {
  std::string token = NewToken();
  ASSERT_EQ(Call("POST", "/keys/openai", token, R"({"key":"sk-stats-0123456789"})").status, 200);
  ASSERT_EQ(Call("POST", "/relay/openai/v1/chat/completions", token, R"({"model":"gpt-4o-mini"})").status,
            200);
  nlohmann::json s = StatsWhenTotal(token, 1);
  ASSERT_TRUE(s["last_request"].is_string()) << s.dump();
  EXPECT_THAT(s["last_request"].get<std::string>(),
              ::testing::MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z"));
}

// compat.md: a request whose response has ended is counted by any later GET /stats (the original writes
// its log row before it answers). No polling here: the very next call must count each request.
TEST_F(ContractStatsTest, ARequestIsCountedByTheNextStatsCall) {
  std::string token = NewToken();
  ASSERT_EQ(Call("POST", "/keys/openai", token, R"({"key":"sk-stats-0123456789"})").status, 200);
  for (int n = 1; n <= 3; ++n) {
    const bool stream = n == 2;
    TestResponse r = Call("POST", "/relay/openai/v1/chat/completions", token,
                          stream ? R"({"model":"gpt-4o-mini","stream":true})" : R"({"model":"gpt-4o-mini"})");
    ASSERT_EQ(r.status, 200) << r.body;
    TestResponse stats = Call("GET", "/stats", token);
    ASSERT_EQ(stats.status, 200) << stats.body;
    EXPECT_EQ(Json(stats)["total"], n) << stats.body;
  }
}

// Token counts of streamed replies are read from the stream as it passes, in each provider's shape, and
// reported per provider and in total beside the original's fields (as non-streamed counts are).
TEST_F(ContractStatsTest, AStreamedReplyOfEachProviderShapeRecordsItsTokens) {
  std::string token = NewToken("stream-usage-app");
  for (const char* provider : {"openai", "groq", "anthropic", "google"}) {
    ASSERT_EQ(Call("POST", absl::StrCat("/keys/", provider), token,
                   R"({"key":"sk-stream-usage-0123456789"})").status, 200) << provider;
  }
  struct Case {
    const char* target;
    const char* body;
    int64_t input;   // what the fake provider reports for this shape
    int64_t output;  // three text events
  };
  const Case cases[] = {
      {"/relay/openai/v1/chat/completions",
       R"({"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true}})", 9, 3},
      {"/relay/groq/openai/v1/chat/completions",
       R"({"model":"llama-3.1-8b-instant","stream":true,"stream_options":{"include_usage":true}})", 9, 3},
      {"/relay/anthropic/v1/messages", R"({"model":"claude-3-5-haiku","max_tokens":64,"stream":true})", 12, 3},
      {"/relay/google/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse", R"({"contents":[]})", 5, 3},
      // Without stream_options the provider sends no counts, and the relay does not ask for them.
      {"/relay/openai/v1/chat/completions", R"({"model":"gpt-4o-mini","stream":true})", 0, 0},
  };
  int64_t total_in = 0;
  int64_t total_out = 0;
  int n = 0;
  for (const Case& c : cases) {
    TestResponse r = Call("POST", c.target, token, c.body);
    ASSERT_EQ(r.status, 200) << c.target << ": " << r.body;
    ASSERT_NE(r.body.find("data: "), std::string::npos) << c.target << ": " << r.body;
    total_in += c.input;
    total_out += c.output;
    TestResponse stats = Call("GET", "/stats", token);
    nlohmann::json s = Json(stats);
    ASSERT_EQ(s["total"], ++n) << stats.body;
    EXPECT_EQ(s["input_tokens"], total_in) << c.target << ": " << stats.body;
    EXPECT_EQ(s["output_tokens"], total_out) << c.target << ": " << stats.body;
  }
  std::optional<RecordedRequest> last;
  for (const RecordedRequest& seen : suite_->fake().Requests()) {
    if (seen.body == R"({"model":"gpt-4o-mini","stream":true})") last = seen;
  }
  ASSERT_TRUE(last.has_value()) << "the request went upstream unchanged";

  TestResponse stats = Call("GET", "/stats", token);
  nlohmann::json s = Json(stats);
  EXPECT_EQ(s["providers"]["openai"]["input_tokens"], 9) << stats.body;
  EXPECT_EQ(s["providers"]["openai"]["output_tokens"], 3) << stats.body;
  EXPECT_EQ(s["providers"]["groq"]["input_tokens"], 9) << stats.body;
  EXPECT_EQ(s["providers"]["anthropic"]["input_tokens"], 12) << stats.body;
  EXPECT_EQ(s["providers"]["anthropic"]["output_tokens"], 3) << stats.body;
  EXPECT_EQ(s["providers"]["google"]["input_tokens"], 5) << stats.body;
  EXPECT_EQ(s["providers"]["google"]["output_tokens"], 3) << stats.body;
  // The operator's view counts them too.
  TestResponse app = Call("GET", "/stats/stream-usage-app", "", "", AppSecret());
  ASSERT_EQ(app.status, 200) << app.body;
  EXPECT_EQ(Json(app)["input_tokens"], total_in) << app.body;
  EXPECT_EQ(Json(app)["output_tokens"], total_out) << app.body;
}

TEST_F(ContractStatsTest, OperatorStatsOfAnUnknownAppAreZeros) {
  TestResponse r = Call("GET", "/stats/no-such-app", "", "", AppSecret());
  ASSERT_EQ(r.status, 200) << r.body;
  nlohmann::json a = Json(r);
  EXPECT_EQ(a["app_id"], "no-such-app");
  EXPECT_EQ(a["user_count"], 0);
  EXPECT_EQ(a["total"], 0);
  EXPECT_EQ(a["error_rate"], 0);
  EXPECT_EQ(a["providers"], nlohmann::json::object());
}

TEST_F(ContractStatsTest, OperatorStatsNeedTheAppSecretAndOneToBeConfigured) {
  TestResponse r = Call("GET", "/stats/stats-app", "", "", {{"Authorization", "Bearer wrong"}});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(Error(r),
            "Unauthorized: valid Authorization: Bearer <APP_SECRET> header required to register.");
  // Without APP_SECRET the check passes and the route answers 503.
  auto open = suite_->StartExtraGateway({{"APP_SECRET", ""}});
  ASSERT_TRUE(open.ok()) << open.status();
  r = Call("GET", "/stats/stats-app", "", "", {}, *open);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(Error(r), "Operator stats require APP_SECRET to be configured.");
}

}  // namespace
}  // namespace byok::testing
