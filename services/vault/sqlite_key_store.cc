#include "services/vault/sqlite_key_store.h"

#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "common/status.h"
#include "services/vault/sqlite_schema.h"

namespace byok::vault {
namespace {

constexpr char kOriginalNotAdopted[] =
    "DB_PATH holds an original byok-relay database that has not been adopted; start with the "
    "original's ENCRYPTION_SECRET (and ENCRYPTION_SALT, TOKEN_HMAC_SECRET) to adopt it, or run "
    "byok-vaultd adopt --dry-run to see what adoption does";

// Days in the daily statistics series, today (UTC) included.
constexpr int kDailyDays = 30;

int64_t Millis(absl::Time t) { return absl::ToUnixMillis(t); }
absl::Time FromMillis(int64_t ms) { return absl::FromUnixMillis(ms); }

// Columns: id, app_id, token_hash, token_hmac_version, created_at, expires_at.
#define BYOK_USER_COLUMNS "id, app_id, token_hash, token_hmac_version, created_at, expires_at"

UserRecord ReadUser(const SqliteStatement& s) {
  UserRecord u;
  u.user_id = s.ColumnText(0);
  u.app_id = s.ColumnText(1);
  u.token_hash = s.ColumnBlob(2);
  u.token_hmac_version = static_cast<int>(s.ColumnInt64(3));
  u.created_at = FromMillis(s.ColumnInt64(4));
  if (!s.ColumnIsNull(5)) u.expires_at = FromMillis(s.ColumnInt64(5));
  return u;
}

// Columns: user_id, provider, ciphertext, key_version, base_url, created_at, updated_at.
KeyRecord ReadKey(const SqliteStatement& s) {
  KeyRecord k;
  k.user_id = s.ColumnText(0);
  k.provider = s.ColumnText(1);
  k.ciphertext = s.ColumnBlob(2);
  k.key_version = static_cast<uint32_t>(s.ColumnInt64(3));
  k.base_url = s.ColumnText(4);
  k.created_at = FromMillis(s.ColumnInt64(5));
  k.updated_at = FromMillis(s.ColumnInt64(6));
  return k;
}

absl::Status InsertUser(SqliteDb& db, const UserRecord& user) {
  BYOK_ASSIGN_OR_RETURN(SqliteStatement s,
                        db.Prepare("INSERT INTO users (" BYOK_USER_COLUMNS
                                   ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
  s.BindText(1, user.user_id).BindText(2, user.app_id).BindBlob(3, user.token_hash);
  s.BindInt64(4, user.token_hmac_version).BindInt64(5, Millis(user.created_at));
  if (user.expires_at.has_value()) s.BindInt64(6, Millis(*user.expires_at)); else s.BindNull(6);
  return s.Run();
}

absl::Status InsertKey(SqliteDb& db, const KeyRecord& key) {
  BYOK_ASSIGN_OR_RETURN(SqliteStatement s,
                        db.Prepare("INSERT INTO provider_keys (user_id, provider, ciphertext, "
                                   "key_version, base_url, created_at, updated_at) "
                                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
  s.BindText(1, key.user_id).BindText(2, key.provider).BindBlob(3, key.ciphertext);
  s.BindInt64(4, key.key_version).BindText(5, key.base_url).BindInt64(6, Millis(key.created_at));
  s.BindInt64(7, Millis(key.updated_at));
  return s.Run();
}

absl::Status InsertImportedUsage(SqliteDb& db, const UsageRecord& usage) {
  BYOK_ASSIGN_OR_RETURN(
      SqliteStatement s,
      db.Prepare("INSERT INTO usage (user_id, app_id, provider, model, status, latency_ms, "
                 "input_tokens, output_tokens, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"));
  s.BindText(1, usage.user_id).BindText(2, usage.app_id).BindText(3, usage.provider);
  s.BindText(4, usage.model).BindInt64(5, usage.status).BindInt64(6, usage.latency_ms);
  s.BindInt64(7, usage.input_tokens).BindInt64(8, usage.output_tokens).BindInt64(9, Millis(usage.at));
  return s.Run();
}

// Inserts everything; the caller holds the transaction.
absl::Status InsertAll(SqliteDb& db, const ImportData& data) {
  for (const UserRecord& u : data.users) BYOK_RETURN_IF_ERROR(InsertUser(db, u));
  for (const KeyRecord& k : data.keys) BYOK_RETURN_IF_ERROR(InsertKey(db, k));
  for (const UsageRecord& r : data.usage) BYOK_RETURN_IF_ERROR(InsertImportedUsage(db, r));
  return absl::OkStatus();
}

// The two scopes differ only in the column they filter usage on; each gets its own cached statement.
const char* ScopeSql(const StatsScope& scope, const char* by_user, const char* by_app) {
  return scope.kind == StatsScope::Kind::kUser ? by_user : by_app;
}

// An error is any status outside 2xx (502 stands for no response).
#define BYOK_USAGE_ERROR "(status < 200 OR status >= 300)"
#define BYOK_USAGE_TOTALS(column)                                                                \
  "SELECT COUNT(*), COALESCE(SUM(" BYOK_USAGE_ERROR "), 0), COALESCE(SUM(at >= ?2), 0), "        \
  "COALESCE(SUM(at >= ?3), 0), COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0), " \
  "MAX(at) FROM usage WHERE " column " = ?1"
#define BYOK_USAGE_PROVIDERS(column)                                                           \
  "SELECT provider, COUNT(*), SUM(" BYOK_USAGE_ERROR "), CAST(AVG(latency_ms) AS INTEGER), "   \
  "SUM(input_tokens), SUM(output_tokens) FROM usage WHERE " column " = ?1 GROUP BY provider " \
  "ORDER BY COUNT(*) DESC, provider"
#define BYOK_USAGE_MODELS(column)                                                             \
  "SELECT model, COUNT(*), SUM(input_tokens), SUM(output_tokens) FROM usage "                \
  "WHERE " column " = ?1 AND model != '' GROUP BY model "                                     \
  "ORDER BY COUNT(*) DESC, model LIMIT 10"
#define BYOK_USAGE_DAILY(column)                                                                 \
  "SELECT strftime('%Y-%m-%d', at / 1000, 'unixepoch') AS day, provider, COUNT(*), "             \
  "SUM(" BYOK_USAGE_ERROR "), SUM(input_tokens), SUM(output_tokens) FROM usage "                 \
  "WHERE " column " = ?1 AND at >= ?2 GROUP BY day, provider ORDER BY day, provider"

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteKeyStore>> SqliteKeyStore::Open(const std::string& path,
                                                                     absl::Time now) {
  BYOK_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path, kBusyTimeoutMs));
  BYOK_ASSIGN_OR_RETURN(bool original, HoldsOriginalSchema(*db));
  if (original) return absl::FailedPreconditionError(kOriginalNotAdopted);
  BYOK_RETURN_IF_ERROR(ApplyMigrations(*db, SqliteMigrations(), now, MigrationTransactions::kOwn));
  return std::unique_ptr<SqliteKeyStore>(new SqliteKeyStore(std::move(db)));
}

absl::Status SqliteKeyStore::ReplaceOriginal(
    const std::string& path, absl::Time now,
    const std::function<absl::Status(SqliteDb&)>& clear_original, const ImportData& data) {
  BYOK_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path, kBusyTimeoutMs));
  // The original's tables are dropped and ours created in the same transaction; the original's foreign
  // key (keys -> users) must not act on the drop.
  BYOK_RETURN_IF_ERROR(db->Exec("PRAGMA foreign_keys=OFF"));
  SqliteTransaction tx(*db);
  BYOK_RETURN_IF_ERROR(tx.Begin());
  BYOK_RETURN_IF_ERROR(clear_original(*db));
  BYOK_RETURN_IF_ERROR(
      ApplyMigrations(*db, SqliteMigrations(), now, MigrationTransactions::kCallers));
  BYOK_RETURN_IF_ERROR(InsertAll(*db, data));
  BYOK_RETURN_IF_ERROR(tx.Commit());
  return db->Exec("PRAGMA foreign_keys=ON");
}

absl::StatusOr<int> SqliteKeyStore::SchemaVersion() {
  absl::MutexLock lock(&mu_);
  return AppliedSchemaVersion(*db_);
}

absl::Status SqliteKeyStore::CreateUser(const UserRecord& user) {
  absl::MutexLock lock(&mu_);
  return InsertUser(*db_, user);
}

absl::StatusOr<UserRecord> SqliteKeyStore::FindUser(const char* sql, absl::string_view value,
                                                    bool as_blob) {
  BYOK_ASSIGN_OR_RETURN(SqliteStatement s, db_->Prepare(sql));
  // Hashes are blobs; ids are bound as text so the comparison uses the column's affinity.
  if (as_blob) s.BindBlob(1, value); else s.BindText(1, value);
  BYOK_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return absl::NotFoundError("no such user");
  return ReadUser(s);
}

absl::StatusOr<UserRecord> SqliteKeyStore::FindUserByTokenHash(absl::string_view token_hash) {
  absl::MutexLock lock(&mu_);
  return FindUser("SELECT " BYOK_USER_COLUMNS " FROM users WHERE token_hash = ?1", token_hash, true);
}

absl::StatusOr<UserRecord> SqliteKeyStore::FindUserById(absl::string_view user_id) {
  absl::MutexLock lock(&mu_);
  return FindUser("SELECT " BYOK_USER_COLUMNS " FROM users WHERE id = ?1", user_id, false);
}

absl::StatusOr<bool> SqliteKeyStore::UpdateTokenHash(absl::string_view user_id,
                                                     absl::string_view expected_hash,
                                                     absl::string_view new_hash,
                                                     int token_hmac_version) {
  absl::MutexLock lock(&mu_);
  BYOK_ASSIGN_OR_RETURN(SqliteStatement s,
                        db_->Prepare("UPDATE users SET token_hash = ?3, token_hmac_version = ?4 "
                                     "WHERE id = ?1 AND token_hash = ?2"));
  s.BindText(1, user_id).BindBlob(2, expected_hash).BindBlob(3, new_hash);
  s.BindInt64(4, token_hmac_version);
  BYOK_RETURN_IF_ERROR(s.Run());
  return db_->Changes() > 0;
}

absl::Status SqliteKeyStore::SetExpiry(absl::string_view user_id, absl::Time expires_at) {
  absl::MutexLock lock(&mu_);
  BYOK_ASSIGN_OR_RETURN(SqliteStatement s,
                        db_->Prepare("UPDATE users SET expires_at = ?2 WHERE id = ?1"));
  s.BindText(1, user_id).BindInt64(2, Millis(expires_at));
  BYOK_RETURN_IF_ERROR(s.Run());
  if (db_->Changes() == 0) return absl::NotFoundError("no such user");
  return absl::OkStatus();
}

absl::StatusOr<int64_t> SqliteKeyStore::DeleteUser(absl::string_view user_id) {
  absl::MutexLock lock(&mu_);
  SqliteTransaction tx(*db_);
  BYOK_RETURN_IF_ERROR(tx.Begin());
  int64_t keys = 0;
  {
    BYOK_ASSIGN_OR_RETURN(SqliteStatement count,
                          db_->Prepare("SELECT COUNT(*) FROM provider_keys WHERE user_id = ?1"));
    count.BindText(1, user_id);
    BYOK_ASSIGN_OR_RETURN(bool row, count.Step());
    if (row) keys = count.ColumnInt64(0);
  }
  {
    // Keys go with the user (ON DELETE CASCADE); usage records outlive purged users, so they are
    // erased here explicitly.
    BYOK_ASSIGN_OR_RETURN(SqliteStatement del, db_->Prepare("DELETE FROM users WHERE id = ?1"));
    del.BindText(1, user_id);
    BYOK_RETURN_IF_ERROR(del.Run());
    if (db_->Changes() == 0) return absl::NotFoundError("no such user");
  }
  {
    BYOK_ASSIGN_OR_RETURN(SqliteStatement del, db_->Prepare("DELETE FROM usage WHERE user_id = ?1"));
    del.BindText(1, user_id);
    BYOK_RETURN_IF_ERROR(del.Run());
  }
  BYOK_RETURN_IF_ERROR(tx.Commit());
  return keys;
}

absl::StatusOr<int64_t> SqliteKeyStore::PurgeUsers(absl::Time now) {
  absl::MutexLock lock(&mu_);
  BYOK_ASSIGN_OR_RETURN(SqliteStatement s,
                        db_->Prepare("DELETE FROM users WHERE expires_at IS NOT NULL AND "
                                     "expires_at < ?1"));
  s.BindInt64(1, Millis(now));
  BYOK_RETURN_IF_ERROR(s.Run());
  return db_->Changes();
}

absl::StatusOr<bool> SqliteKeyStore::PutKey(const KeyRecord& key) {
  absl::MutexLock lock(&mu_);
  SqliteTransaction tx(*db_);
  BYOK_RETURN_IF_ERROR(tx.Begin());
  bool existed = false;
  {
    BYOK_ASSIGN_OR_RETURN(SqliteStatement q, db_->Prepare("SELECT 1 FROM provider_keys WHERE "
                                                          "user_id = ?1 AND provider = ?2"));
    q.BindText(1, key.user_id).BindText(2, key.provider);
    BYOK_ASSIGN_OR_RETURN(existed, q.Step());
  }
  {
    BYOK_ASSIGN_OR_RETURN(
        SqliteStatement s,
        db_->Prepare("INSERT INTO provider_keys (user_id, provider, ciphertext, key_version, "
                     "base_url, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) "
                     "ON CONFLICT (user_id, provider) DO UPDATE SET ciphertext = excluded.ciphertext, "
                     "key_version = excluded.key_version, base_url = excluded.base_url, "
                     "updated_at = excluded.updated_at"));
    s.BindText(1, key.user_id).BindText(2, key.provider).BindBlob(3, key.ciphertext);
    s.BindInt64(4, key.key_version).BindText(5, key.base_url).BindInt64(6, Millis(key.updated_at));
    BYOK_RETURN_IF_ERROR(s.Run());
  }
  BYOK_RETURN_IF_ERROR(tx.Commit());
  return existed;
}

absl::StatusOr<KeyRecord> SqliteKeyStore::GetKey(absl::string_view user_id,
                                                 absl::string_view provider) {
  absl::MutexLock lock(&mu_);
  BYOK_ASSIGN_OR_RETURN(SqliteStatement s,
                        db_->Prepare("SELECT user_id, provider, ciphertext, key_version, base_url, "
                                     "created_at, updated_at FROM provider_keys "
                                     "WHERE user_id = ?1 AND provider = ?2"));
  s.BindText(1, user_id).BindText(2, provider);
  BYOK_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return absl::NotFoundError("no key stored for this provider");
  return ReadKey(s);
}

absl::StatusOr<std::vector<KeyRecord>> SqliteKeyStore::ListKeys(absl::string_view user_id) {
  absl::MutexLock lock(&mu_);
  BYOK_ASSIGN_OR_RETURN(SqliteStatement s,
                        db_->Prepare("SELECT user_id, provider, x'', key_version, base_url, "
                                     "created_at, updated_at FROM provider_keys "
                                     "WHERE user_id = ?1 ORDER BY provider"));
  s.BindText(1, user_id);
  std::vector<KeyRecord> keys;
  while (true) {
    BYOK_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    keys.push_back(ReadKey(s));
  }
  return keys;
}

absl::StatusOr<bool> SqliteKeyStore::DeleteKey(absl::string_view user_id,
                                               absl::string_view provider) {
  absl::MutexLock lock(&mu_);
  BYOK_ASSIGN_OR_RETURN(SqliteStatement s, db_->Prepare("DELETE FROM provider_keys WHERE "
                                                        "user_id = ?1 AND provider = ?2"));
  s.BindText(1, user_id).BindText(2, provider);
  BYOK_RETURN_IF_ERROR(s.Run());
  return db_->Changes() > 0;
}

absl::StatusOr<std::vector<KeyRecord>> SqliteKeyStore::KeysNotUnderVersion(
    uint32_t version, absl::string_view after_user_id, absl::string_view after_provider, int limit) {
  absl::MutexLock lock(&mu_);
  BYOK_ASSIGN_OR_RETURN(
      SqliteStatement s,
      db_->Prepare("SELECT user_id, provider, ciphertext, key_version, base_url, created_at, "
                   "updated_at FROM provider_keys WHERE key_version != ?1 AND "
                   "(user_id > ?2 OR (user_id = ?2 AND provider > ?3)) "
                   "ORDER BY user_id, provider LIMIT ?4"));
  s.BindInt64(1, version).BindText(2, after_user_id).BindText(3, after_provider).BindInt64(4, limit);
  std::vector<KeyRecord> keys;
  while (true) {
    BYOK_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    keys.push_back(ReadKey(s));
  }
  return keys;
}

absl::StatusOr<int64_t> SqliteKeyStore::CountKeysNotUnderVersion(uint32_t version) {
  absl::MutexLock lock(&mu_);
  BYOK_ASSIGN_OR_RETURN(SqliteStatement s,
                        db_->Prepare("SELECT COUNT(*) FROM provider_keys WHERE key_version != ?1"));
  s.BindInt64(1, version);
  BYOK_ASSIGN_OR_RETURN(bool row, s.Step());
  return row ? s.ColumnInt64(0) : 0;
}

absl::StatusOr<bool> SqliteKeyStore::ReplaceCiphertext(absl::string_view user_id,
                                                       absl::string_view provider,
                                                       absl::string_view expected_ciphertext,
                                                       absl::string_view new_ciphertext,
                                                       uint32_t new_version) {
  absl::MutexLock lock(&mu_);
  BYOK_ASSIGN_OR_RETURN(SqliteStatement s,
                        db_->Prepare("UPDATE provider_keys SET ciphertext = ?4, key_version = ?5 "
                                     "WHERE user_id = ?1 AND provider = ?2 AND ciphertext = ?3"));
  s.BindText(1, user_id).BindText(2, provider).BindBlob(3, expected_ciphertext);
  s.BindBlob(4, new_ciphertext).BindInt64(5, new_version);
  BYOK_RETURN_IF_ERROR(s.Run());
  return db_->Changes() > 0;
}

absl::StatusOr<bool> SqliteKeyStore::InsertUsage(const UsageRecord& usage) {
  BYOK_ASSIGN_OR_RETURN(
      SqliteStatement s,
      db_->Prepare("INSERT INTO usage (user_id, app_id, provider, model, status, latency_ms, "
                   "input_tokens, output_tokens, at) SELECT id, app_id, ?2, ?3, ?4, ?5, ?6, ?7, ?8 "
                   "FROM users WHERE id = ?1"));
  s.BindText(1, usage.user_id).BindText(2, usage.provider).BindText(3, usage.model);
  s.BindInt64(4, usage.status).BindInt64(5, usage.latency_ms).BindInt64(6, usage.input_tokens);
  s.BindInt64(7, usage.output_tokens).BindInt64(8, Millis(usage.at));
  BYOK_RETURN_IF_ERROR(s.Run());
  return db_->Changes() > 0;
}

absl::Status SqliteKeyStore::RecordUsage(const UsageRecord& usage) {
  absl::MutexLock lock(&mu_);
  BYOK_ASSIGN_OR_RETURN(bool stored, InsertUsage(usage));
  if (!stored) return absl::NotFoundError("no such user");
  return absl::OkStatus();
}

absl::StatusOr<int64_t> SqliteKeyStore::RecordUsageBatch(absl::Span<const UsageRecord> records) {
  const absl::Span<const UsageRecord> one[] = {records};
  BYOK_ASSIGN_OR_RETURN(std::vector<int64_t> stored, RecordUsageBatches(one));
  return stored.front();
}

absl::StatusOr<std::vector<int64_t>> SqliteKeyStore::RecordUsageBatches(
    absl::Span<const absl::Span<const UsageRecord>> batches) {
  absl::MutexLock lock(&mu_);
  // One transaction: one WAL append for every batch instead of one per record or per batch.
  SqliteTransaction tx(*db_);
  BYOK_RETURN_IF_ERROR(tx.Begin());
  std::vector<int64_t> stored;
  stored.reserve(batches.size());
  for (absl::Span<const UsageRecord> batch : batches) {
    int64_t n = 0;
    for (const UsageRecord& usage : batch) {
      BYOK_ASSIGN_OR_RETURN(bool inserted, InsertUsage(usage));
      if (inserted) ++n;
    }
    stored.push_back(n);
  }
  BYOK_RETURN_IF_ERROR(tx.Commit());
  ++usage_transactions_;
  return stored;
}

absl::Status SqliteKeyStore::FillTotals(const StatsScope& scope, absl::Time now, UsageStats& stats) {
  BYOK_ASSIGN_OR_RETURN(SqliteStatement s,
                        db_->Prepare(ScopeSql(scope, BYOK_USAGE_TOTALS("user_id"),
                                              BYOK_USAGE_TOTALS("app_id"))));
  s.BindText(1, scope.id).BindInt64(2, Millis(now - absl::Hours(24 * 7)));
  s.BindInt64(3, Millis(now - absl::Hours(24 * 30)));
  BYOK_ASSIGN_OR_RETURN(bool row, s.Step());
  if (row) {
    stats.total_requests = s.ColumnInt64(0);
    stats.total_errors = s.ColumnInt64(1);
    stats.requests_last_7_days = s.ColumnInt64(2);
    stats.requests_last_30_days = s.ColumnInt64(3);
    stats.input_tokens = s.ColumnInt64(4);
    stats.output_tokens = s.ColumnInt64(5);
    if (!s.ColumnIsNull(6)) stats.last_request = FromMillis(s.ColumnInt64(6));
  }
  return absl::OkStatus();
}

absl::Status SqliteKeyStore::FillProviders(const StatsScope& scope, UsageStats& stats) {
  BYOK_ASSIGN_OR_RETURN(SqliteStatement s,
                        db_->Prepare(ScopeSql(scope, BYOK_USAGE_PROVIDERS("user_id"),
                                              BYOK_USAGE_PROVIDERS("app_id"))));
  s.BindText(1, scope.id);
  while (true) {
    BYOK_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    stats.providers.push_back({s.ColumnText(0), s.ColumnInt64(1), s.ColumnInt64(2), s.ColumnInt64(3),
                               s.ColumnInt64(4), s.ColumnInt64(5)});
  }
  return absl::OkStatus();
}

absl::Status SqliteKeyStore::FillModels(const StatsScope& scope, UsageStats& stats) {
  BYOK_ASSIGN_OR_RETURN(SqliteStatement s,
                        db_->Prepare(ScopeSql(scope, BYOK_USAGE_MODELS("user_id"),
                                              BYOK_USAGE_MODELS("app_id"))));
  s.BindText(1, scope.id);
  while (true) {
    BYOK_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    stats.top_models.push_back({s.ColumnText(0), s.ColumnInt64(1), s.ColumnInt64(2), s.ColumnInt64(3)});
  }
  return absl::OkStatus();
}

absl::Status SqliteKeyStore::FillDaily(const StatsScope& scope, absl::Time now, UsageStats& stats) {
  // From the start of the UTC day kDailyDays - 1 days ago.
  const int64_t day_ms = 24 * 60 * 60 * 1000;
  const int64_t now_ms = Millis(now);
  const int64_t today_ms = now_ms - ((now_ms % day_ms) + day_ms) % day_ms;
  BYOK_ASSIGN_OR_RETURN(SqliteStatement s,
                        db_->Prepare(ScopeSql(scope, BYOK_USAGE_DAILY("user_id"),
                                              BYOK_USAGE_DAILY("app_id"))));
  s.BindText(1, scope.id).BindInt64(2, today_ms - (kDailyDays - 1) * day_ms);
  while (true) {
    BYOK_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    stats.daily.push_back({s.ColumnText(0), s.ColumnText(1), s.ColumnInt64(2), s.ColumnInt64(3),
                           s.ColumnInt64(4), s.ColumnInt64(5)});
  }
  return absl::OkStatus();
}

absl::StatusOr<UsageStats> SqliteKeyStore::GetStats(const StatsScope& scope, absl::Time now) {
  absl::MutexLock lock(&mu_);
  UsageStats stats;
  BYOK_RETURN_IF_ERROR(FillTotals(scope, now, stats));
  BYOK_RETURN_IF_ERROR(FillProviders(scope, stats));
  BYOK_RETURN_IF_ERROR(FillModels(scope, stats));
  BYOK_RETURN_IF_ERROR(FillDaily(scope, now, stats));
  if (scope.kind == StatsScope::Kind::kUser) {
    stats.users = 1;
  } else {
    BYOK_ASSIGN_OR_RETURN(SqliteStatement s,
                          db_->Prepare("SELECT COUNT(DISTINCT user_id) FROM usage WHERE app_id = ?1"));
    s.BindText(1, scope.id);
    BYOK_ASSIGN_OR_RETURN(bool row, s.Step());
    stats.users = row ? s.ColumnInt64(0) : 0;
  }
  return stats;
}

absl::Status SqliteKeyStore::Import(const ImportData& data) {
  absl::MutexLock lock(&mu_);
  SqliteTransaction tx(*db_);
  BYOK_RETURN_IF_ERROR(tx.Begin());
  BYOK_RETURN_IF_ERROR(InsertAll(*db_, data));
  return tx.Commit();
}

absl::StatusOr<ImportData> SqliteKeyStore::Export() {
  absl::MutexLock lock(&mu_);
  // One read transaction: one snapshot of the WAL for the three tables.
  SqliteTransaction tx(*db_);
  BYOK_RETURN_IF_ERROR(tx.Begin());
  ImportData data;
  {
    BYOK_ASSIGN_OR_RETURN(SqliteStatement s,
                          db_->Prepare("SELECT " BYOK_USER_COLUMNS " FROM users ORDER BY id"));
    while (true) {
      BYOK_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      data.users.push_back(ReadUser(s));
    }
  }
  {
    BYOK_ASSIGN_OR_RETURN(SqliteStatement s,
                          db_->Prepare("SELECT user_id, provider, ciphertext, key_version, base_url, "
                                       "created_at, updated_at FROM provider_keys "
                                       "ORDER BY user_id, provider"));
    while (true) {
      BYOK_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      data.keys.push_back(ReadKey(s));
    }
  }
  {
    BYOK_ASSIGN_OR_RETURN(
        SqliteStatement s,
        db_->Prepare("SELECT user_id, app_id, provider, model, status, latency_ms, input_tokens, "
                     "output_tokens, at FROM usage ORDER BY id"));
    while (true) {
      BYOK_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      UsageRecord u;
      u.user_id = s.ColumnText(0);
      u.app_id = s.ColumnText(1);
      u.provider = s.ColumnText(2);
      u.model = s.ColumnText(3);
      u.status = static_cast<int32_t>(s.ColumnInt64(4));
      u.latency_ms = s.ColumnInt64(5);
      u.input_tokens = s.ColumnInt64(6);
      u.output_tokens = s.ColumnInt64(7);
      u.at = FromMillis(s.ColumnInt64(8));
      data.usage.push_back(std::move(u));
    }
  }
  BYOK_RETURN_IF_ERROR(tx.Commit());
  return data;
}

absl::StatusOr<bool> SqliteKeyStore::Empty() {
  absl::MutexLock lock(&mu_);
  BYOK_ASSIGN_OR_RETURN(SqliteStatement s,
                        db_->Prepare("SELECT NOT (EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 "
                                     "FROM provider_keys) OR EXISTS (SELECT 1 FROM usage))"));
  BYOK_ASSIGN_OR_RETURN(bool row, s.Step());
  return row && s.ColumnInt64(0) != 0;
}

absl::StatusOr<int64_t> SqliteKeyStore::CountUsers() {
  absl::MutexLock lock(&mu_);
  BYOK_ASSIGN_OR_RETURN(SqliteStatement s, db_->Prepare("SELECT COUNT(*) FROM users"));
  BYOK_ASSIGN_OR_RETURN(bool row, s.Step());
  return row ? s.ColumnInt64(0) : 0;
}

absl::StatusOr<int64_t> SqliteKeyStore::CountKeys() {
  absl::MutexLock lock(&mu_);
  BYOK_ASSIGN_OR_RETURN(SqliteStatement s, db_->Prepare("SELECT COUNT(*) FROM provider_keys"));
  BYOK_ASSIGN_OR_RETURN(bool row, s.Step());
  return row ? s.ColumnInt64(0) : 0;
}

absl::StatusOr<int64_t> SqliteKeyStore::AppendAuditEvent(const AuditRecord& event) {
  absl::MutexLock lock(&mu_);
  BYOK_ASSIGN_OR_RETURN(
      SqliteStatement s,
      db_->Prepare("INSERT INTO audit_events (at, action, user_id, provider, caller, request_id, "
                   "outcome) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
  s.BindInt64(1, Millis(event.time)).BindInt64(2, event.action).BindText(3, event.user_id);
  s.BindText(4, event.provider).BindText(5, event.caller).BindText(6, event.request_id);
  s.BindText(7, event.outcome);
  BYOK_RETURN_IF_ERROR(s.Run());
  return db_->LastInsertRowId();
}

absl::StatusOr<std::vector<AuditRecord>> SqliteKeyStore::ListAuditEvents(const AuditQuery& query) {
  absl::MutexLock lock(&mu_);
  // ?2 = '' matches every user; otherwise the (user_id, id) index serves the filter.
  BYOK_ASSIGN_OR_RETURN(
      SqliteStatement s,
      db_->Prepare("SELECT id, at, action, user_id, provider, caller, request_id, outcome "
                   "FROM audit_events WHERE id > ?1 AND (?2 = '' OR user_id = ?2) "
                   "ORDER BY id LIMIT ?3"));
  s.BindInt64(1, query.after_id).BindText(2, query.user_id).BindInt64(3, query.limit);
  std::vector<AuditRecord> events;
  while (true) {
    BYOK_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    AuditRecord e;
    e.id = s.ColumnInt64(0);
    e.time = FromMillis(s.ColumnInt64(1));
    e.action = static_cast<int>(s.ColumnInt64(2));
    e.user_id = s.ColumnText(3);
    e.provider = s.ColumnText(4);
    e.caller = s.ColumnText(5);
    e.request_id = s.ColumnText(6);
    e.outcome = s.ColumnText(7);
    events.push_back(std::move(e));
  }
  return events;
}

absl::StatusOr<int64_t> SqliteKeyStore::PurgeAuditEvents(absl::Time before) {
  absl::MutexLock lock(&mu_);
  BYOK_ASSIGN_OR_RETURN(SqliteStatement s, db_->Prepare("DELETE FROM audit_events WHERE at < ?1"));
  s.BindInt64(1, Millis(before));
  BYOK_RETURN_IF_ERROR(s.Run());
  return db_->Changes();
}

}  // namespace byok::vault
