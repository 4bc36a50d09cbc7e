// End to end with the vault on PostgreSQL (BYOK_VAULT_DATABASE_URL): the whole suite as a browser app
// meets it, registering, storing a key, relaying, revoking; and the vault restarted keeps everything.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <string>

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

// A connection of the test's own to the vault's database, for statements that fail the test when
// they fail.
class TestConnection {
 public:
  explicit TestConnection(const std::string& url) : conn_(PQconnectdb(url.c_str()), &PQfinish) {}
  bool ok() const { return PQstatus(conn_.get()) == CONNECTION_OK; }
  bool Exec(const char* sql) {
    PGresult* result = PQexec(conn_.get(), sql);
    const ExecStatusType status = PQresultStatus(result);
    const bool done = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
    if (!done) ADD_FAILURE() << sql << ": " << PQresultErrorMessage(result);
    PQclear(result);
    return done;
  }
  // The single number `sql` selects, or -1.
  int64_t Count(const char* sql) {
    PGresult* result = PQexec(conn_.get(), sql);
    int64_t n = -1;
    if (PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) == 1) n = std::stoll(PQgetvalue(result, 0, 0));
    PQclear(result);
    return n;
  }

 private:
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn_;
};

// Holds inserts into the vault's `usage` table (selects go on) while it lives: a transaction of the
// test's own on the database.
class UsageInsertsHeld {
 public:
  explicit UsageInsertsHeld(const std::string& url) : conn_(url) {
    ok_ = conn_.ok() && conn_.Exec("BEGIN") && conn_.Exec("LOCK TABLE usage IN SHARE MODE");
  }
  ~UsageInsertsHeld() { Release(); }
  bool ok() const { return ok_; }
  void Release() {
    if (ok_) conn_.Exec("ROLLBACK");
    ok_ = false;
  }

 private:
  TestConnection conn_;
  bool ok_ = false;
};

// Holds only inserts into `usage` while it lives: deletes and reads of the table go on. A trigger of
// the test's own makes every insert wait for an advisory lock the test holds.
class OnlyUsageInsertsHeld {
 public:
  explicit OnlyUsageInsertsHeld(const std::string& url) : conn_(url) {
    ok_ = conn_.ok() &&
          conn_.Exec("CREATE FUNCTION test_hold_usage() RETURNS trigger LANGUAGE plpgsql AS "
                     "$$ BEGIN PERFORM pg_advisory_xact_lock_shared(4242); RETURN NEW; END $$") &&
          conn_.Exec("CREATE TRIGGER test_hold_usage BEFORE INSERT ON usage FOR EACH ROW "
                     "EXECUTE FUNCTION test_hold_usage()") &&
          conn_.Exec("SELECT pg_advisory_lock(4242)");
  }
  ~OnlyUsageInsertsHeld() { Release(); }
  bool ok() const { return ok_; }
  // Waits until an insert waits for the lock; false after 5 s.
  bool WaitForInsert() {
    for (const absl::Time deadline = absl::Now() + absl::Seconds(5); absl::Now() < deadline;) {
      if (conn_.Count("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted") > 0) {
        return true;
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    return false;
  }
  void Release() {
    if (ok_) conn_.Exec("SELECT pg_advisory_unlock(4242)");
    ok_ = false;
  }

 private:
  TestConnection conn_;
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

// Sends `request` from another thread and expects no answer for 700 ms (`why` otherwise) while `held`
// holds the usage inserts; then releases them and returns the answer, which must come within 20 s.
template <typename Held>
absl::StatusOr<TestResponse> AnsweredOnlyOnceReleased(Held& held,
                                                      std::function<absl::StatusOr<TestResponse>()> request,
                                                      const char* why) {
  std::future<absl::StatusOr<TestResponse>> answer = std::async(std::launch::async, std::move(request));
  EXPECT_EQ(answer.wait_for(std::chrono::milliseconds(700)), std::future_status::timeout) << why;
  held.Release();
  if (answer.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
    return absl::DeadlineExceededError("no answer 20 s after the inserts were released");
  }
  return answer.get();
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

  EXPECT_EQ(StatsTotal(AnsweredOnlyOnceReleased(
                held, stats, "GET /stats answered before the record of a response that ended before it was stored")),
            2);
}

// BYOK_GATEWAY_END_AFTER_USAGE=1: the response itself waits for its record (so a GET /stats through
// any gateway replica counts it), as a Relay call's does.
TEST(E2ePostgresTest, WithEndAfterUsageTheResponseWaitsForItsRecord) {
  WarmSuite warm;
  ASSERT_NO_FATAL_FAILURE(StartWarm({{"BYOK_GATEWAY_END_AFTER_USAGE", "1"}}, &warm));
  Suite& suite = *warm.suite;

  UsageInsertsHeld held(warm.url);
  ASSERT_TRUE(held.ok());
  absl::StatusOr<TestResponse> second = AnsweredOnlyOnceReleased(
      held, [&] { return RelayChat(suite, warm.token); }, "the response ended before its usage record was stored");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->status, 200) << second->body;
  EXPECT_EQ(StatsTotal(Fetch(suite.port(), "GET", "/stats", {{"x-relay-token", warm.token}}, "")), 2);
}

// DELETE /users erases the user's usage history, including the record of a response that ended
// before it: the delete waits for that record (as GET /stats does), so no record of a deleted user is
// stored after the user is gone. Only inserts into `usage` are held, once the record's insert has
// found its user: a delete that did not wait would go through at once, and the held record would
// then be stored for a user who no longer exists.
TEST(E2ePostgresTest, ADeleteAfterAResponseWaitsForItsRecordAndErasesIt) {
  WarmSuite warm;
  ASSERT_NO_FATAL_FAILURE(StartWarm({}, &warm));
  Suite& suite = *warm.suite;
  TestConnection db(warm.url);
  ASSERT_TRUE(db.ok());
  // The warm-up response did not wait for its record; GET /stats does (compat.md).
  ASSERT_EQ(StatsTotal(Fetch(suite.port(), "GET", "/stats", {{"x-relay-token", warm.token}}, "")), 1);
  ASSERT_EQ(db.Count("SELECT count(*) FROM usage"), 1);

  OnlyUsageInsertsHeld held(warm.url);
  ASSERT_TRUE(held.ok());
  std::future<absl::StatusOr<TestResponse>> relayed =
      std::async(std::launch::async, [&] { return RelayChat(suite, warm.token); });
  ASSERT_EQ(relayed.wait_for(std::chrono::seconds(3)), std::future_status::ready) << suite.Logs();
  absl::StatusOr<TestResponse> second = relayed.get();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->status, 200) << second->body;
  // The record's insert has found the user and waits for the test's lock.
  ASSERT_TRUE(held.WaitForInsert()) << suite.Logs();

  absl::StatusOr<TestResponse> gone = AnsweredOnlyOnceReleased(
      held, [&] { return Fetch(suite.port(), "DELETE", "/users", {{"x-relay-token", warm.token}}, ""); },
      "DELETE /users answered before the record of a response that ended before it was stored");
  ASSERT_TRUE(gone.ok()) << gone.status();
  EXPECT_EQ(gone->status, 200) << gone->body;
  // Every insert that waited for the test's lock has committed once no advisory lock is held.
  for (const absl::Time deadline = absl::Now() + absl::Seconds(5);
       db.Count("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") != 0 && absl::Now() < deadline;) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(db.Count("SELECT count(*) FROM users"), 0);
  EXPECT_EQ(db.Count("SELECT count(*) FROM usage"), 0) << "a usage record outlived its user";
}

}  // namespace
}  // namespace byok::testing
