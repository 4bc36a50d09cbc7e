// A relayed call ends only once the vault has stored its usage record, so that a GET /stats after the
// response counts it (compat.md: the original writes its log row before it answers). Shown with the
// vault's database held by another writer: the provider has answered, yet the call does not end while
// the record cannot be stored; it ends, counted, once it can. Real byok-vaultd and byok-relayd.
#include <grpcpp/client_context.h>
#include <sqlite3.h>

#include <chrono>
#include <future>
#include <memory>
#include <ostream>
#include <string>

#include "gtest/gtest.h"
#include "tests/relay/relay_daemons.h"
#include "tests/relay/relay_suite.h"

namespace byok::relay::testing {
namespace {

// How long the call is watched while the record cannot be stored: far above a relayed call's own
// time here (a few ms), far below the vault's busy timeout (5 s) and the relay's vault deadline.
constexpr auto kHeld = std::chrono::milliseconds(700);

struct Case {
  const char* name;
  const char* body;
  friend void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }
};

class RelayUsageWaitTest : public RelayDaemonsTest, public ::testing::WithParamInterface<Case> {};

// Closes the connection, rolling back what it left open.
struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};


TEST_P(RelayUsageWaitTest, TheCallEndsOnlyOnceItsUsageRecordIsStored) {
  ASSERT_NO_FATAL_FAILURE(StartWithVault());
  absl::StatusOr<std::string> token = vault().CreateUserWithKey("openai", "sk-usage-wait-0123456789");
  ASSERT_TRUE(token.ok()) << token.status();

  const v1::RelayRequest request = MakeRequest(*token, "openai", "/v1/chat/completions", GetParam().body);
  // The relay keeps the key first (a resolution writes to the database too), so that the watched
  // call's only write is its usage record.
  ASSERT_TRUE(KeepKeyInRelay(vault(), relay().stub(), request).ok());
  const absl::StatusOr<int64_t> before = vault().TotalRequests(*token);
  ASSERT_TRUE(before.ok()) << before.status();

  // Another writer takes the database's write lock: the vault's insert waits for it.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(vault().database_path().c_str(), &raw), SQLITE_OK);
  std::unique_ptr<sqlite3, SqliteCloser> db(raw);
  ASSERT_EQ(sqlite3_exec(db.get(), "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);

  std::future<RelayResult> call =
      std::async(std::launch::async, [&] { return RunRelay(relay().stub(), request); });
  EXPECT_EQ(call.wait_for(kHeld), std::future_status::timeout)
      << "the call ended while its usage record could not be stored";

  ASSERT_EQ(sqlite3_exec(db.get(), "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  ASSERT_EQ(call.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  RelayResult result = call.get();
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.head.status(), 200);
  EXPECT_FALSE(result.body.empty());
  // The call's end means the record is stored: the very next read counts it.
  EXPECT_EQ(vault().TotalRequests(*token).value_or(-1), *before + 1);
}

INSTANTIATE_TEST_SUITE_P(Responses, RelayUsageWaitTest,
                         ::testing::Values(Case{"Whole", R"({"model":"gpt-4o-mini"})"},
                                           Case{"Streamed", R"({"model":"gpt-4o-mini","stream":true})"}),
                         [](const ::testing::TestParamInfo<Case>& param) { return std::string(param.param.name); });

}  // namespace
}  // namespace byok::relay::testing
