// Faults of the services behind the gateway, on the real processes: the vault killed (SIGKILL) during
// concurrent key writes loses no acknowledged key; the relay killed mid-stream ends the browser's stream
// with a clean SSE error event; after a vault or relay restart relayed requests work again within 1 s, and
// /health never says ok while they fail.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>
#include <iostream>
#include <optional>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "tests/e2e/suite.h"

namespace byok::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kChat[] = "/relay/openai/v1/chat/completions";
// How long a restarted service stays down: long enough for gRPC's default backoff (1 s, then x1.6)
// to have grown past a second.
constexpr absl::Duration kOutage = absl::Seconds(3);
// How long /health may say ok before relayed requests work (see ExpectTruthfulRecovery): not at all.
constexpr absl::Duration kHealthSlack = absl::ZeroDuration();
constexpr char kChatBody[] = R"({"model":"gpt-4o-mini","messages":[]})";

TestRequest RelayRequest(const std::string& token, std::string body = kChatBody) {
  TestRequest request;
  request.method = "POST";
  request.target = kChat;
  request.headers = {{"x-relay-token", token}, {"Content-Type", "application/json"}};
  request.body = std::move(body);
  return request;
}

absl::StatusOr<std::string> RegisterUser(int port) {
  auto r = Fetch(port, "POST", "/users",
                 {{"Authorization", absl::StrCat("Bearer ", Suite::kAppSecret)},
                  {"Content-Type", "application/json"}},
                 R"({"app_id":"fault-app"})");
  if (!r.ok()) return r.status();
  auto json = nlohmann::json::parse(r->body, nullptr, false);
  if (r->status != 200 || !json.is_object() || !json["token"].is_string()) {
    return absl::UnavailableError(absl::StrCat("POST /users: ", r->status));
  }
  return json["token"].get<std::string>();
}

absl::Status StoreKey(int port, const std::string& token, const std::string& key) {
  auto r = Fetch(port, "POST", "/keys/openai", {{"x-relay-token", token}},
                 nlohmann::json({{"key", key}}).dump());
  if (!r.ok()) return r.status();
  if (r->status != 200) return absl::UnavailableError(absl::StrCat("POST /keys: ", r->status));
  return absl::OkStatus();
}

class FaultRestartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto suite = Suite::Start();
    ASSERT_TRUE(suite.ok()) << suite.status();
    suite_ = *std::move(suite);
    auto token = suite_->Register();
    ASSERT_TRUE(token.ok()) << token.status();
    token_ = *token;
    ASSERT_TRUE(StoreKey(suite_->port(), token_, "sk-fault-test").ok());
    auto r = Fetch(suite_->port(), RelayRequest(token_));
    ASSERT_TRUE(r.ok() && r->status == 200) << suite_->Logs();
  }
  void TearDown() override {
    if (HasFailure() && suite_) std::cerr << suite_->Logs();
  }

  int RelayStatus() {
    auto r = Fetch(suite_->port(), RelayRequest(token_), absl::Seconds(5));
    return r.ok() ? r->status : 0;
  }
  int HealthStatus() {
    TestRequest health;
    health.target = "/health";
    auto r = Fetch(suite_->port(), health, absl::Seconds(5));
    return r.ok() ? r->status : 0;
  }

  // With the service down for a few seconds, clients keep trying (so gRPC's reconnect backoff grows
  // as it would in production): /health is 503 and relayed requests fail all along. Then `restart`
  // brings it back; relayed requests must work within 1 s of it accepting connections, and from the
  // first /health that says ok on, every relayed request must work.
  void ExpectTruthfulRecovery(const std::function<absl::Status()>& restart) {
    absl::Time down = absl::Now();
    while (absl::Now() - down < kOutage) {
      EXPECT_EQ(HealthStatus(), 503);
      EXPECT_NE(RelayStatus(), 200);
      absl::SleepFor(absl::Milliseconds(100));
    }

    ASSERT_TRUE(restart().ok());
    absl::Time back = absl::Now();
    std::optional<absl::Duration> relay_ok;   // first relayed request that worked
    std::optional<absl::Duration> health_ok;  // first /health that said ok
    std::optional<absl::Duration> last_lie;   // last relayed failure right after /health said ok
    // Pairs: a health check, then a relayed request right after it, for two seconds.
    while (absl::Now() - back < absl::Seconds(2)) {
      bool healthy = HealthStatus() == 200;
      absl::Duration at = absl::Now() - back;
      if (healthy && !health_ok) health_ok = at;
      bool relayed = RelayStatus() == 200;
      if (relayed && !relay_ok) relay_ok = absl::Now() - back;
      if (healthy && !relayed) last_lie = at;
      if (relay_ok) {
        EXPECT_TRUE(relayed) << "relayed requests failed again after working";
      }
    }
    ASSERT_TRUE(relay_ok.has_value()) << "relayed requests never worked again";
    ASSERT_TRUE(health_ok.has_value()) << "/health never said ok again";
    std::cerr << "relayed requests worked again after " << absl::FormatDuration(*relay_ok)
              << ", /health said ok after " << absl::FormatDuration(*health_ok);
    if (last_lie) {
      std::cerr << "; /health said ok while relayed requests failed for "
                << absl::FormatDuration(*last_lie - *health_ok);
    }
    std::cerr << "\n";
    EXPECT_LE(*relay_ok, absl::Seconds(1));
    // The gateway's and the relay's channels to the vault reconnect on their own backoff (at most
    // 0.5 s, +20 % jitter), so the gateway's may be back first. The relay's health follows its own
    // vault link (docs/security.md, item 9), so /health says ok only once relayed requests work.
    // Before that it said ok up to about 0.6 s early, and before the backoff fix about 3 s.
    if (last_lie) {
      EXPECT_LE(*last_lie - *health_ok, kHealthSlack);
    }
  }

  std::unique_ptr<Suite> suite_;
  std::string token_;
};

TEST_F(FaultRestartTest, VaultKilledDuringConcurrentKeyWritesLosesNoAcknowledgedKey) {
  struct Acked {
    std::string token;
    std::string key;
  };
  absl::Mutex mu;
  std::vector<Acked> acked;
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  int port = suite_->port();
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; !stop.load(); ++i) {
        // A fresh user per write: one write per key, so "acknowledged" has one meaning.
        auto token = RegisterUser(port);
        std::string key = absl::StrCat("sk-writer-", w, "-", i);
        if (token.ok() && StoreKey(port, *token, key).ok()) {
          absl::MutexLock lock(&mu);
          acked.push_back({*token, key});
        } else {
          failures.fetch_add(1);
          absl::SleepFor(absl::Milliseconds(5));
        }
      }
    });
  }
  auto acked_count = [&] {
    absl::MutexLock lock(&mu);
    return acked.size();
  };
  auto wait_for_acked = [&](size_t n) {
    absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (acked_count() < n && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
    return acked_count() >= n;
  };

  bool before = wait_for_acked(20);
  suite_->KillVault();  // writes are in flight
  size_t at_kill = acked_count();
  absl::Status restarted = suite_->StartVault();
  bool after = restarted.ok() && wait_for_acked(at_kill + 20);
  stop.store(true);
  for (std::thread& t : writers) t.join();
  ASSERT_TRUE(before && restarted.ok() && after) << restarted << " acked " << acked_count();
  EXPECT_GT(failures.load(), 0) << "the kill fell between writes: nothing was in flight";

  // The relay's own channel to the vault may still be in its reconnect backoff (how long relayed
  // requests may fail after a restart is the WithinOneSecond tests' business): wait until a relayed
  // request gets past the vault before reading what it stored.
  absl::Time relay_deadline = absl::Now() + absl::Seconds(5);
  for (;;) {
    auto r = Fetch(port, RelayRequest(acked.front().token));
    ASSERT_TRUE(r.ok()) << r.status();
    if (r->status != 503 || absl::Now() >= relay_deadline) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  // Every acknowledged key is stored, with its value: the relay hands it to the provider.
  while (suite_->fake().WaitForRequest(absl::ZeroDuration()).has_value()) {
  }
  for (const Acked& a : acked) {
    auto r = Fetch(port, RelayRequest(a.token));
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->status, 200) << "key of an acknowledged write lost: " << r->body;
    auto seen = suite_->fake().WaitForRequest(absl::Seconds(5));
    ASSERT_TRUE(seen.has_value());
    EXPECT_EQ(seen->Header("authorization").value_or(""), absl::StrCat("Bearer ", a.key));
  }
  std::cerr << acked.size() << " acknowledged writes checked, " << failures.load()
            << " writes refused during the outage\n";
}

TEST_F(FaultRestartTest, RelayKilledMidStreamEndsTheStreamWithAnSseError) {
  while (suite_->fake().WaitForRequest(absl::ZeroDuration()).has_value()) {
  }
  auto client = TestHttpClient::Connect(suite_->port());
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE(
      (*client)->Send(RelayRequest(token_, R"({"model":"fake-hold","stream":true,"messages":[]})")).ok());
  auto head = (*client)->ReadHead();
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(head->status, 200);
  auto first = (*client)->ReadBodyPiece(absl::Seconds(5));
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_THAT(*first, HasSubstr("data: "));

  ASSERT_TRUE(suite_->StopRelay(/*kill=*/true).ok());
  std::string rest;
  while (true) {
    // A clean end: the body ends with its last chunk, not with a cut connection.
    auto piece = (*client)->ReadBodyPiece(absl::Seconds(5));
    ASSERT_TRUE(piece.ok()) << piece.status() << " after " << rest;
    if (piece->empty()) break;
    rest += *piece;
  }
  EXPECT_THAT(rest, HasSubstr("event: error\ndata: {\"error\":"));
  EXPECT_THAT(rest, ::testing::Not(HasSubstr("[DONE]")));

  ExpectTruthfulRecovery([this] { return suite_->StartRelay(); });
}

TEST_F(FaultRestartTest, AfterAVaultRestartRelayedRequestsWorkWithinOneSecond) {
  ASSERT_TRUE(suite_->StopVault().ok());
  ExpectTruthfulRecovery([this] { return suite_->StartVault(); });
}

TEST_F(FaultRestartTest, AfterAVaultKillRelayedRequestsWorkWithinOneSecond) {
  suite_->KillVault();
  ExpectTruthfulRecovery([this] { return suite_->StartVault(); });
}

TEST_F(FaultRestartTest, AfterARelayRestartRelayedRequestsWorkWithinOneSecond) {
  ASSERT_TRUE(suite_->StopRelay().ok());
  ExpectTruthfulRecovery([this] { return suite_->StartRelay(); });
}

}  // namespace
}  // namespace byok::testing
