// The key audit trail and per-model token counts through the whole suite: a key stored through the
// gateway and used by a relayed request leaves KEY_STORED and KEY_RESOLVED rows in the vault carrying
// the x-request-id the browser sent (the gateway and the relay pass it on in gRPC metadata), read back
// with the admin RPC; the rows never hold the key or the token; /stats shows each model's tokens for a
// streamed reply beside the original's fields.
#include <grpcpp/client_context.h>

#include <chrono>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "byok/vault/v1/vault.grpc.pb.h"
#include "gmock/gmock.h"
#include "tests/e2e/contract_helpers.h"
#include "tests/testing/service_token.h"

namespace byok::testing {
namespace {

using byok::vault::v1::AuditEvent;

class AuditTest : public ContractTest {
 protected:
  static void SetUpTestSuite() { StartSuite(); }

  // Every event of the trail, a page at a time, as an admin (the service token) reads it.
  static std::vector<AuditEvent> AllEvents() {
    auto stub = vault::v1::Vault::NewStub(ServiceChannel(absl::StrCat("127.0.0.1:", suite_->vault_port())));
    std::vector<AuditEvent> events;
    vault::v1::ListAuditEventsRequest q;
    q.set_page_size(50);
    for (int pages = 0; pages < 100; ++pages) {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      vault::v1::ListAuditEventsResponse r;
      grpc::Status s = stub->ListAuditEvents(&context, q, &r);
      EXPECT_TRUE(s.ok()) << s.error_message();
      if (!s.ok()) break;
      events.insert(events.end(), r.events().begin(), r.events().end());
      if (r.next_page_token().empty()) break;
      q.set_page_token(r.next_page_token());
    }
    return events;
  }

  // The events carrying `request_id`.
  static std::vector<AuditEvent> EventsOf(const std::vector<AuditEvent>& all, const std::string& request_id) {
    std::vector<AuditEvent> out;
    for (const AuditEvent& e : all) {
      if (e.request_id() == request_id) out.push_back(e);
    }
    return out;
  }
};

TEST_F(AuditTest, AStoredAndRelayedKeyLeavesRowsWithTheBrowsersRequestId) {
  const std::string token = NewToken("audit-app");
  constexpr char kKey[] = "sk-audit-e2e-0123456789";
  TestResponse stored = Call("POST", "/keys/openai", token, absl::StrCat(R"({"key":")", kKey, R"("})"),
                             {{"x-request-id", "audit-store-1"}});
  ASSERT_EQ(stored.status, 200) << stored.body;
  TestResponse relayed = Call("POST", "/relay/openai/v1/chat/completions", token, R"({"model":"gpt-4o-mini"})",
                              {{"x-request-id", "audit-relay-1"}});
  ASSERT_EQ(relayed.status, 200) << relayed.body;

  const std::vector<AuditEvent> all = AllEvents();
  const std::vector<AuditEvent> store_rows = EventsOf(all, "audit-store-1");
  ASSERT_EQ(store_rows.size(), 1u) << "rows carrying audit-store-1";
  EXPECT_EQ(store_rows[0].action(), AuditEvent::ACTION_KEY_STORED);
  EXPECT_EQ(store_rows[0].provider(), "openai");
  EXPECT_EQ(store_rows[0].outcome(), "OK");
  EXPECT_FALSE(store_rows[0].user_id().empty());
  EXPECT_FALSE(store_rows[0].caller().empty());
  EXPECT_NE(store_rows[0].caller(), "vault");

  const std::vector<AuditEvent> relay_rows = EventsOf(all, "audit-relay-1");
  ASSERT_EQ(relay_rows.size(), 1u) << "rows carrying audit-relay-1";
  EXPECT_EQ(relay_rows[0].action(), AuditEvent::ACTION_KEY_RESOLVED);
  EXPECT_EQ(relay_rows[0].provider(), "openai");
  EXPECT_EQ(relay_rows[0].outcome(), "OK");
  EXPECT_EQ(relay_rows[0].user_id(), store_rows[0].user_id());
  EXPECT_GT(relay_rows[0].id(), store_rows[0].id());
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  EXPECT_NEAR(relay_rows[0].time().seconds(), now, 60);

  for (const AuditEvent& e : all) {
    const std::string row = e.DebugString();
    EXPECT_EQ(row.find(kKey), std::string::npos) << row;
    EXPECT_EQ(row.find(token), std::string::npos) << row;
  }
}

TEST_F(AuditTest, StatsShowEachModelsTokensForAStreamedReply) {
  const std::string token = NewToken("model-tokens-app");
  ASSERT_EQ(Call("POST", "/keys/anthropic", token, R"({"key":"sk-model-tokens-0123456789"})").status, 200);
  TestResponse streamed = Call("POST", "/relay/anthropic/v1/messages", token,
                               R"({"model":"claude-3-5-haiku","max_tokens":64,"stream":true})");
  ASSERT_EQ(streamed.status, 200) << streamed.body;
  ASSERT_NE(streamed.body.find("data: "), std::string::npos) << streamed.body;

  for (const bool operator_view : {false, true}) {
    TestResponse stats = operator_view ? Call("GET", "/stats/model-tokens-app", "", "", AppSecret())
                                       : Call("GET", "/stats", token);
    ASSERT_EQ(stats.status, 200) << stats.body;
    // Ordered: the fields' order is part of the contract.
    nlohmann::ordered_json s = nlohmann::ordered_json::parse(stats.body, nullptr, false);
    ASSERT_TRUE(s.is_object()) << stats.body;
    ASSERT_EQ(s["top_models"].size(), 1u) << stats.body;
    const nlohmann::ordered_json& model = s["top_models"][0];
    // The original's fields first, in its order, then the tokens (the fake's anthropic stream reports
    // 12 in and 3 out).
    std::vector<std::string> keys;
    for (auto it = model.begin(); it != model.end(); ++it) keys.push_back(it.key());
    EXPECT_THAT(keys, ::testing::ElementsAre("model", "total", "input_tokens", "output_tokens")) << stats.body;
    EXPECT_EQ(model["model"], "claude-3-5-haiku") << stats.body;
    EXPECT_EQ(model["total"], 1) << stats.body;
    EXPECT_EQ(model["input_tokens"], 12) << stats.body;
    EXPECT_EQ(model["output_tokens"], 3) << stats.body;
  }
}

}  // namespace
}  // namespace byok::testing
