// End to end with the vault on PostgreSQL (BYOK_VAULT_DATABASE_URL): the whole suite as a browser app
// meets it, registering, storing a key, relaying, revoking; and the vault restarted keeps everything.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <future>
#include <map>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/e2e/suite.h"
#include "tests/testing/postgres_server.h"

namespace byok::testing {
namespace {

constexpr char kChat[] = R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]})";

absl::StatusOr<TestResponse> RelayChat(Suite& suite, const std::string& token) {
  TestRequest request;
  request.method = "POST";
  request.target = "/relay/openai/v1/chat/completions";
  request.headers = {{"x-relay-token", token}, {"Content-Type", "application/json"}};
  request.body = kChat;
  return Fetch(suite.port(), request);
}

TEST(E2ePostgresTest, TheSuiteServesFromAVaultOnPostgres) {
  absl::StatusOr<std::string> url = FreshPostgresDatabase();
  ASSERT_TRUE(url.ok()) << url.status();
  SuiteOptions options;
  options.vault_env["BYOK_VAULT_DATABASE_URL"] = *url;
  absl::StatusOr<std::unique_ptr<Suite>> started = Suite::Start(options);
  ASSERT_TRUE(started.ok()) << started.status();
  Suite& suite = **started;

  absl::StatusOr<std::string> token = suite.Register();
  ASSERT_TRUE(token.ok()) << token.status();
  auto stored = Fetch(suite.port(), "POST", "/keys/openai", {{"x-relay-token", *token}},
                      nlohmann::json({{"key", "key-for-openai-42"}}).dump());
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->status, 200) << stored->body;
  auto relayed = RelayChat(suite, *token);
  ASSERT_TRUE(relayed.ok()) << relayed.status();
  EXPECT_EQ(relayed->status, 200) << relayed->body << suite.Logs();
  auto seen = suite.fake().WaitForRequest(absl::Seconds(5));
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->Header("authorization").value_or(""), "Bearer key-for-openai-42");

  // The vault restarted: the user and the key are in PostgreSQL, not in the process.
  ASSERT_TRUE(suite.StopVault().ok());
  ASSERT_TRUE(suite.StartVault().ok());
  int status = 0;
  for (const absl::Time deadline = absl::Now() + absl::Seconds(10);
       status != 200 && absl::Now() < deadline;) {
    auto again = RelayChat(suite, *token);
    status = again.ok() ? again->status : 0;
    if (status != 200) absl::SleepFor(absl::Milliseconds(50));  // the gateway reconnecting
  }
  EXPECT_EQ(status, 200) << suite.Logs();

  // Revoked: refused at once.
  auto revoked = Fetch(suite.port(), "POST", "/tokens/revoke", {{"x-relay-token", *token}}, "");
  ASSERT_TRUE(revoked.ok());
  EXPECT_EQ(revoked->status, 200) << revoked->body;
  auto refused = RelayChat(suite, *token);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 401) << refused->body;
}

// Holds inserts into the vault's `usage` table (selects go on) while it lives: a transaction of the
// test's own on the database.
class UsageInsertsHeld {
 public:
  explicit UsageInsertsHeld(const std::string& url) : conn_(PQconnectdb(url.c_str()), &PQfinish) {
    ok_ = PQstatus(conn_.get()) == CONNECTION_OK && Exec("BEGIN") && Exec("LOCK TABLE usage IN SHARE MODE");
  }
  ~UsageInsertsHeld() { Release(); }
  bool ok() const { return ok_; }
  void Release() {
    if (ok_) Exec("ROLLBACK");
    ok_ = false;
  }

 private:
  bool Exec(const char* sql) {
    PGresult* result = PQexec(conn_.get(), sql);
    const bool done = PQresultStatus(result) == PGRES_COMMAND_OK;
    if (!done) ADD_FAILURE() << sql << ": " << PQresultErrorMessage(result);
    PQclear(result);
    return done;
  }
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn_;
  bool ok_ = false;
};

// The suite on a fresh PostgreSQL database (with `gateway_env`), a user with an OpenAI key, and one
// relayed request counted: after it the gateway keeps the token and the relay the key, so the next
// relayed request reaches the database only with its usage record.
struct WarmSuite {
  std::string url;
  std::unique_ptr<Suite> suite;
  std::string token;
};

void StartWarm(std::map<std::string, std::string> gateway_env, WarmSuite* out) {
  absl::StatusOr<std::string> url = FreshPostgresDatabase();
  ASSERT_TRUE(url.ok()) << url.status();
  out->url = *url;
  SuiteOptions options;
  options.vault_env["BYOK_VAULT_DATABASE_URL"] = *url;
  options.gateway_env = std::move(gateway_env);
  absl::StatusOr<std::unique_ptr<Suite>> started = Suite::Start(options);
  ASSERT_TRUE(started.ok()) << started.status();
  out->suite = *std::move(started);
  absl::StatusOr<std::string> token = out->suite->Register();
  ASSERT_TRUE(token.ok()) << token.status();
  out->token = *token;
  auto stored = Fetch(out->suite->port(), "POST", "/keys/openai", {{"x-relay-token", out->token}},
                      nlohmann::json({{"key", "key-for-openai-42"}}).dump());
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->status, 200) << stored->body;
  auto first = RelayChat(*out->suite, out->token);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->status, 200) << first->body;
}

// GET /stats's total, or -1.
int64_t StatsTotal(const absl::StatusOr<TestResponse>& r) {
  if (!r.ok() || r->status != 200) return -1;
  return nlohmann::json::parse(r->body, nullptr, false).value("total", int64_t{-1});
}

// A relayed response does not wait for its usage record to be stored; a GET /stats made after it does,
// so it still counts the request (compat.md). The vault on PostgreSQL reads the statistics on one pool
// connection while the record's insert waits on another, so a read that did not wait would answer
// without it. The insert waits for the test's lock, untimed; a response that waited for its record
// would come only once the relay gave up, after its 5-s vault deadline (which would release the read
// too): everything below runs well inside it.
TEST(E2ePostgresTest, AResponseDoesNotWaitForItsUsageRecordButALaterStatsReadDoes) {
  WarmSuite warm;
  ASSERT_NO_FATAL_FAILURE(StartWarm({}, &warm));
  Suite& suite = *warm.suite;
  auto stats = [&] { return Fetch(suite.port(), "GET", "/stats", {{"x-relay-token", warm.token}}, ""); };
  ASSERT_EQ(StatsTotal(stats()), 1);

  UsageInsertsHeld held(warm.url);
  ASSERT_TRUE(held.ok());
  std::future<absl::StatusOr<TestResponse>> relayed =
      std::async(std::launch::async, [&] { return RelayChat(suite, warm.token); });
  ASSERT_EQ(relayed.wait_for(std::chrono::seconds(3)), std::future_status::ready)
      << "the response waited for its usage record" << suite.Logs();
  absl::StatusOr<TestResponse> second = relayed.get();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->status, 200) << second->body;

  std::future<absl::StatusOr<TestResponse>> later = std::async(std::launch::async, stats);
  EXPECT_EQ(later.wait_for(std::chrono::milliseconds(700)), std::future_status::timeout)
      << "GET /stats answered before the record of a response that ended before it was stored";
  held.Release();
  ASSERT_EQ(later.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  EXPECT_EQ(StatsTotal(later.get()), 2);
}

// BYOK_GATEWAY_END_AFTER_USAGE=1: the response itself waits for its record (so a GET /stats through
// any gateway replica counts it), as a Relay call's does.
TEST(E2ePostgresTest, WithEndAfterUsageTheResponseWaitsForItsRecord) {
  WarmSuite warm;
  ASSERT_NO_FATAL_FAILURE(StartWarm({{"BYOK_GATEWAY_END_AFTER_USAGE", "1"}}, &warm));
  Suite& suite = *warm.suite;

  UsageInsertsHeld held(warm.url);
  ASSERT_TRUE(held.ok());
  std::future<absl::StatusOr<TestResponse>> relayed =
      std::async(std::launch::async, [&] { return RelayChat(suite, warm.token); });
  EXPECT_EQ(relayed.wait_for(std::chrono::milliseconds(700)), std::future_status::timeout)
      << "the response ended before its usage record was stored";
  held.Release();
  ASSERT_EQ(relayed.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  absl::StatusOr<TestResponse> second = relayed.get();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->status, 200) << second->body;
  EXPECT_EQ(StatsTotal(Fetch(suite.port(), "GET", "/stats", {{"x-relay-token", warm.token}}, "")), 2);
}

}  // namespace
}  // namespace byok::testing
