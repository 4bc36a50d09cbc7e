// The vault's store on PostgreSQL (BYOK_VAULT_DATABASE_URL): any number of vault replicas share one
// database. Every operation is one statement or one transaction on a pooled connection, so what one
// replica commits (a key, a revocation, a deletion) is what the next statement on any replica reads.
#ifndef BYOK_SERVICES_VAULT_PG_KEY_STORE_H_
#define BYOK_SERVICES_VAULT_PG_KEY_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/vault/key_store.h"
#include "services/vault/pg_pool.h"

namespace byok::vault {

// KeyStore over a PgPool. Thread-safe.
class PgKeyStore : public KeyStore {
 public:
  struct Options {
    int pool_size = 8;  // connections per store (per vault replica)
    absl::Duration acquire_timeout = absl::Seconds(5);
    PgTimeouts timeouts;
  };

  // Connects to `url` (a postgres:// or postgresql:// URI, passed to libpq as it is: sslmode,
  // sslrootcert and the rest apply) and applies pending migrations (pg_schema.h), safely when other
  // replicas start at the same time. Unavailable when the database cannot be reached; FailedPrecondition
  // when its schema is newer than this vault knows.
  static absl::StatusOr<std::unique_ptr<PgKeyStore>> Open(const std::string& url, Options options,
                                                          absl::Time now = absl::Now());

  absl::Status CreateUser(const UserRecord& user) override;
  absl::StatusOr<UserRecord> FindUserByTokenHash(absl::string_view token_hash) override;
  absl::StatusOr<UserRecord> FindUserById(absl::string_view user_id) override;
  absl::StatusOr<bool> UpdateTokenHash(absl::string_view user_id, absl::string_view expected_hash,
                                       absl::string_view new_hash, int token_hmac_version) override;
  absl::Status SetExpiry(absl::string_view user_id, absl::Time expires_at) override;
  absl::StatusOr<int64_t> DeleteUser(absl::string_view user_id) override;
  // Runs on one replica at a time, in transactions of up to 1,000 users: a replica that finds the
  // purge lock (kPgPurgeLock) taken stops there (returning what it purged so far, usually 0); the
  // replica holding it does the work.
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
  // Connections open now (for tests).
  int open_connections() const { return pool_.open(); }

 private:
  explicit PgKeyStore(PgPoolOptions options) : pool_(std::move(options)) {}

  // Runs one statement on a leased connection.
  absl::StatusOr<PgResult> Exec(const char* sql, const PgParams& params);

  PgPool pool_;
};

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_PG_KEY_STORE_H_
