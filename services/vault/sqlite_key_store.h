// The embedded default storage: one SQLite file (DB_PATH) in WAL mode.
#ifndef BYOK_SERVICES_VAULT_SQLITE_KEY_STORE_H_
#define BYOK_SERVICES_VAULT_SQLITE_KEY_STORE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "services/vault/key_store.h"
#include "services/vault/sqlite_db.h"

namespace byok::vault {

// KeyStore over one SQLite connection with a cache of prepared statements. Thread-safe: a mutex
// serialises use of the connection; every operation is a few indexed statements, so holding it is brief.
class SqliteKeyStore : public KeyStore {
 public:
  // Busy timeout: how long a statement waits for another process's write lock before Unavailable.
  static constexpr int kBusyTimeoutMs = 5000;

  // Opens or creates the database at `path` (":memory:" for a private in-memory database) and applies
  // pending migrations (sqlite_schema.h). See SqliteDb::Open for the file permissions.
  // FailedPrecondition when the file holds an original byok-relay database (adopt it first: it is
  // never migrated over) or a schema newer than this vault knows.
  static absl::StatusOr<std::unique_ptr<SqliteKeyStore>> Open(const std::string& path,
                                                              absl::Time now = absl::Now());

  // Adoption in place, in one transaction: runs `clear_original` (which checks the original's rows are
  // still those that were verified, and drops its tables), creates this vault's schema and inserts
  // `data`. On any failure the transaction rolls back and the file keeps the original's tables.
  static absl::Status ReplaceOriginal(const std::string& path, absl::Time now,
                                      const std::function<absl::Status(SqliteDb&)>& clear_original,
                                      const ImportData& data);

  absl::Status CreateUser(const UserRecord& user) override;
  absl::StatusOr<UserRecord> FindUserByTokenHash(absl::string_view token_hash) override;
  absl::StatusOr<UserRecord> FindUserById(absl::string_view user_id) override;
  absl::StatusOr<bool> UpdateTokenHash(absl::string_view user_id, absl::string_view expected_hash,
                                       absl::string_view new_hash, int token_hmac_version) override;
  absl::Status SetExpiry(absl::string_view user_id, absl::Time expires_at) override;
  absl::StatusOr<int64_t> DeleteUser(absl::string_view user_id) override;
  absl::StatusOr<int64_t> PurgeUsers(absl::Time now) override;
  absl::StatusOr<bool> PutKey(const KeyRecord& key) override;
  absl::StatusOr<KeyRecord> GetKey(absl::string_view user_id, absl::string_view provider) override;
  absl::StatusOr<std::vector<KeyRecord>> ListKeys(absl::string_view user_id) override;
  absl::StatusOr<bool> DeleteKey(absl::string_view user_id, absl::string_view provider) override;
  absl::StatusOr<std::vector<KeyRecord>> KeysNotUnderVersion(uint32_t version,
                                                             absl::string_view after_user_id,
                                                             absl::string_view after_provider,
                                                             int limit) override;
  absl::StatusOr<int64_t> CountKeysNotUnderVersion(uint32_t version) override;
  absl::StatusOr<bool> ReplaceCiphertext(absl::string_view user_id, absl::string_view provider,
                                         absl::string_view expected_ciphertext,
                                         absl::string_view new_ciphertext, uint32_t new_version) override;
  absl::Status RecordUsage(const UsageRecord& usage) override;
  absl::StatusOr<int64_t> RecordUsageBatch(absl::Span<const UsageRecord> records) override;
  absl::StatusOr<std::vector<int64_t>> RecordUsageBatches(
      absl::Span<const absl::Span<const UsageRecord>> batches) override;
  absl::StatusOr<UsageStats> GetStats(const StatsScope& scope, absl::Time now) override;
  absl::Status Import(const ImportData& data) override;
  absl::StatusOr<ImportData> Export() override;
  absl::StatusOr<bool> Empty() override;
  absl::StatusOr<int64_t> CountUsers() override;
  absl::StatusOr<int64_t> CountKeys() override;
  absl::StatusOr<int64_t> AppendAuditEvent(const AuditRecord& event) override;
  absl::StatusOr<std::vector<AuditRecord>> ListAuditEvents(const AuditQuery& query) override;
  absl::StatusOr<int64_t> PurgeAuditEvents(absl::Time before) override;

  // Returns the highest applied migration (for tests and diagnostics).
  absl::StatusOr<int> SchemaVersion();

  // Usage transactions committed since open (RecordUsageBatch(es) calls; for tests of group commit).
  int64_t usage_transactions() const { return usage_transactions_.load(std::memory_order_relaxed); }

 private:
  explicit SqliteKeyStore(std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {}

  absl::StatusOr<UserRecord> FindUser(const char* sql, absl::string_view value, bool as_blob)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Inserts one usage row; false when the user does not exist.
  absl::StatusOr<bool> InsertUsage(const UsageRecord& usage) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status FillTotals(const StatsScope& scope, absl::Time now, UsageStats& stats)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status FillProviders(const StatsScope& scope, UsageStats& stats)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status FillModels(const StatsScope& scope, UsageStats& stats)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status FillDaily(const StatsScope& scope, absl::Time now, UsageStats& stats)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  const std::unique_ptr<SqliteDb> db_ ABSL_PT_GUARDED_BY(mu_);
  std::atomic<int64_t> usage_transactions_{0};
};

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_SQLITE_KEY_STORE_H_
