// Moving a deployment between stores: SQLite to PostgreSQL and back with every row and value kept,
// all or nothing, never into a store that holds data.
#include "services/vault/store_copy.h"

#include <filesystem>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/vault/key_store_factory.h"
#include "tests/testing/postgres_server.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"
#include "tests/vault/store_records.h"

namespace byok::vault {
namespace {

using ::byok::testing::FreshPostgresDatabase;
using ::byok::testing::IsOk;
using ::byok::testing::StatusIs;
using ::byok::testing::TempDir;
using ::byok::vault::testing::ExpectSameRows;
using ::byok::vault::testing::Key;
using ::byok::vault::testing::SampleDeployment;
using ::byok::vault::testing::User;

std::unique_ptr<KeyStore> Open(const std::string& location) {
  absl::StatusOr<std::unique_ptr<KeyStore>> store = OpenKeyStore(location);
  EXPECT_THAT(store, IsOk());
  return store.ok() ? *std::move(store) : nullptr;
}

TEST(StoreCopyTest, SqliteToPostgresAndBackKeepsEveryRow) {
  TempDir dir;
  const std::string sqlite = dir.path() + "/relay.db";
  const std::string back = dir.path() + "/back.db";
  absl::StatusOr<std::string> pg = FreshPostgresDatabase();
  ASSERT_THAT(pg, IsOk());
  const ImportData data = SampleDeployment();
  { ASSERT_THAT(Open(sqlite)->Import(data), IsOk()); }

  absl::StatusOr<StoreCopyReport> there = CopyStoreAt(sqlite, *pg);
  ASSERT_THAT(there, IsOk());
  EXPECT_EQ(there->users, 3);
  EXPECT_EQ(there->keys, 3);
  EXPECT_EQ(there->usage_records, 6);
  ExpectSameRows(*Open(*pg)->Export(), data);
  EXPECT_THAT(DescribeCopy(*there, sqlite, *pg), ::testing::HasSubstr("PostgreSQL 127.0.0.1:"));

  absl::StatusOr<StoreCopyReport> home = CopyStoreAt(*pg, back);
  ASSERT_THAT(home, IsOk());
  ExpectSameRows(*Open(back)->Export(), data);
  // The copy behaves as the source: statistics agree.
  const StatsScope app{StatsScope::Kind::kApp, "app-1"};
  const absl::Time now = testing::kT0 + absl::Hours(1);
  absl::StatusOr<UsageStats> a = Open(sqlite)->GetStats(app, now);
  absl::StatusOr<UsageStats> b = Open(*pg)->GetStats(app, now);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(a->total_requests, b->total_requests);
  EXPECT_EQ(a->total_errors, b->total_errors);
  EXPECT_EQ(a->output_tokens, b->output_tokens);
  EXPECT_EQ(a->users, b->users);
  ASSERT_EQ(a->providers.size(), b->providers.size());
  EXPECT_EQ(a->providers[0].avg_latency_ms, b->providers[0].avg_latency_ms);
  ASSERT_EQ(a->daily.size(), b->daily.size());
  EXPECT_EQ(a->daily[0].day, b->daily[0].day);
}

TEST(StoreCopyTest, RefusesATargetThatHoldsDataAndWritesNothing) {
  TempDir dir;
  const std::string sqlite = dir.path() + "/relay.db";
  absl::StatusOr<std::string> pg = FreshPostgresDatabase();
  ASSERT_THAT(pg, IsOk());
  { ASSERT_THAT(Open(sqlite)->Import(SampleDeployment()), IsOk()); }
  { ASSERT_THAT(Open(*pg)->CreateUser(User("someone-else")), IsOk()); }
  EXPECT_THAT(CopyStoreAt(sqlite, *pg), StatusIs(absl::StatusCode::kFailedPrecondition));
  absl::StatusOr<ImportData> target = Open(*pg)->Export();
  ASSERT_EQ(target->users.size(), 1u);
  EXPECT_TRUE(target->keys.empty());
}

TEST(StoreCopyTest, AllOrNothing) {
  // A source row the target cannot take (a key of no user: SQLite held it before foreign keys
  // were enforced) fails the whole copy, and the target stays empty.
  TempDir dir;
  absl::StatusOr<std::string> pg = FreshPostgresDatabase();
  ASSERT_THAT(pg, IsOk());
  std::unique_ptr<KeyStore> target = Open(*pg);
  ImportData data = SampleDeployment();
  data.keys.push_back(Key("nobody", "openai", "ct"));
  class FixedSource : public KeyStore {
   public:
    explicit FixedSource(ImportData rows) : rows_(std::move(rows)) {}
    absl::StatusOr<ImportData> Export() override { return rows_; }
    absl::StatusOr<bool> Empty() override { return false; }
    absl::Status CreateUser(const UserRecord&) override { return Unused(); }
    absl::StatusOr<UserRecord> FindUserByTokenHash(absl::string_view) override { return Unused(); }
    absl::StatusOr<UserRecord> FindUserById(absl::string_view) override { return Unused(); }
    absl::StatusOr<bool> UpdateTokenHash(absl::string_view, absl::string_view, absl::string_view,
                                         int) override {
      return Unused();
    }
    absl::Status SetExpiry(absl::string_view, absl::Time) override { return Unused(); }
    absl::StatusOr<int64_t> DeleteUser(absl::string_view) override { return Unused(); }
    absl::StatusOr<int64_t> PurgeUsers(absl::Time) override { return Unused(); }
    absl::StatusOr<bool> PutKey(const KeyRecord&) override { return Unused(); }
    absl::StatusOr<KeyRecord> GetKey(absl::string_view, absl::string_view) override { return Unused(); }
    absl::StatusOr<std::vector<KeyRecord>> ListKeys(absl::string_view) override { return Unused(); }
    absl::StatusOr<bool> DeleteKey(absl::string_view, absl::string_view) override { return Unused(); }
    absl::StatusOr<std::vector<KeyRecord>> KeysNotUnderVersion(uint32_t, absl::string_view,
                                                               absl::string_view, int) override {
      return Unused();
    }
    absl::StatusOr<int64_t> CountKeysNotUnderVersion(uint32_t) override { return Unused(); }
    absl::StatusOr<bool> ReplaceCiphertext(absl::string_view, absl::string_view, absl::string_view,
                                           absl::string_view, uint32_t) override {
      return Unused();
    }
    absl::Status RecordUsage(const UsageRecord&) override { return Unused(); }
    absl::StatusOr<int64_t> RecordUsageBatch(absl::Span<const UsageRecord>) override {
      return Unused();
    }
    absl::StatusOr<UsageStats> GetStats(const StatsScope&, absl::Time) override { return Unused(); }
    absl::Status Import(const ImportData&) override { return Unused(); }
    absl::StatusOr<int64_t> CountUsers() override { return Unused(); }
    absl::StatusOr<int64_t> CountKeys() override { return Unused(); }
    absl::StatusOr<int64_t> AppendAuditEvent(const AuditRecord&) override { return Unused(); }
    absl::StatusOr<std::vector<AuditRecord>> ListAuditEvents(const AuditQuery&) override {
      return Unused();
    }
    absl::StatusOr<int64_t> PurgeAuditEvents(absl::Time) override { return Unused(); }

   private:
    static absl::Status Unused() { return absl::UnimplementedError("not a source operation"); }
    ImportData rows_;
  };
  FixedSource source(data);
  EXPECT_THAT(CopyStore(source, *target), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(*target->Empty(), true);
}

TEST(StoreCopyTest, RefusesAMissingSourceAndTheSameStoreTwice) {
  TempDir dir;
  const std::string missing = dir.path() + "/no-such.db";
  EXPECT_THAT(CopyStoreAt(missing, dir.path() + "/to.db"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_FALSE(std::filesystem::exists(missing));
  const std::string sqlite = dir.path() + "/relay.db";
  { ASSERT_NE(Open(sqlite), nullptr); }
  EXPECT_THAT(CopyStoreAt(sqlite, sqlite), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace byok::vault
