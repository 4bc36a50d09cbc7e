#include "services/vault/sqlite_key_store.h"

#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "common/status.h"

namespace byok::vault {
namespace {

// Schema history. Never edit a shipped migration: append a new one.
const std::vector<const char*>& Migrations() {
  static const std::vector<const char*> migrations = {
      // 1: users, their encrypted provider keys, and usage records.
      R"sql(
      CREATE TABLE users (
        id          TEXT PRIMARY KEY,
        app_id      TEXT NOT NULL,
        token_hash  BLOB NOT NULL UNIQUE,
        created_at  INTEGER NOT NULL,
        expires_at  INTEGER,
        revoked_at  INTEGER
      );
      CREATE INDEX users_by_app ON users(app_id);
      CREATE TABLE provider_keys (
        user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        provider    TEXT NOT NULL,
        ciphertext  BLOB NOT NULL,
        key_version INTEGER NOT NULL,
        base_url    TEXT NOT NULL DEFAULT '',
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL,
        PRIMARY KEY (user_id, provider)
      );
      CREATE INDEX provider_keys_by_version ON provider_keys(key_version);
      CREATE TABLE usage (
        id            INTEGER PRIMARY KEY,
        user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        app_id        TEXT NOT NULL,
        provider      TEXT NOT NULL,
        model         TEXT NOT NULL DEFAULT '',
        status        INTEGER NOT NULL,
        latency_ms    INTEGER NOT NULL,
        input_tokens  INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        error         INTEGER NOT NULL,
        at            INTEGER NOT NULL
      );
      CREATE INDEX usage_by_user ON usage(user_id, at);
      CREATE INDEX usage_by_app ON usage(app_id, at);
      )sql",
  };
  return migrations;
}

int64_t Millis(absl::Time t) { return absl::ToUnixMillis(t); }
absl::Time FromMillis(int64_t ms) { return absl::FromUnixMillis(ms); }

UserRecord ReadUser(const SqliteStatement& s) {
  UserRecord u;
  u.user_id = s.ColumnText(0);
  u.app_id = s.ColumnText(1);
  u.token_hash = s.ColumnBlob(2);
  u.created_at = FromMillis(s.ColumnInt64(3));
  if (!s.ColumnIsNull(4)) u.expires_at = FromMillis(s.ColumnInt64(4));
  if (!s.ColumnIsNull(5)) u.revoked_at = FromMillis(s.ColumnInt64(5));
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

// The two scopes differ only in the column they filter usage on; each gets its own cached statement.
const char* ScopeSql(const StatsScope& scope, const char* by_user, const char* by_app) {
  return scope.kind == StatsScope::Kind::kUser ? by_user : by_app;
}

#define BYOK_USAGE_TOTALS(column)                                                           \
  "SELECT COUNT(*), COALESCE(SUM(error), 0), COALESCE(SUM(at >= ?2), 0), "                \
  "COALESCE(SUM(at >= ?3), 0), COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0) " \
  "FROM usage WHERE " column " = ?1"
#define BYOK_USAGE_PROVIDERS(column)                                                         \
  "SELECT provider, COUNT(*), SUM(error), CAST(AVG(latency_ms) AS INTEGER), SUM(input_tokens), " \
  "SUM(output_tokens) FROM usage WHERE " column " = ?1 GROUP BY provider "                  \
  "ORDER BY COUNT(*) DESC, provider"
#define BYOK_USAGE_MODELS(column)                                                             \
  "SELECT model, COUNT(*) FROM usage WHERE " column " = ?1 AND model != '' GROUP BY model " \
  "ORDER BY COUNT(*) DESC, model LIMIT 10"

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteKeyStore>> SqliteKeyStore::Open(const std::string& path) {
  BYOK_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db,
                        SqliteDb::Open(path, kBusyTimeoutMs, Migrations()));
  return std::unique_ptr<SqliteKeyStore>(new SqliteKeyStore(std::move(db)));
}

absl::StatusOr<int> SqliteKeyStore::SchemaVersion() {
  absl::MutexLock lock(&mu_);
  return db_->SchemaVersion();
}

absl::Status SqliteKeyStore::CreateUser(const UserRecord& user) {
  absl::MutexLock lock(&mu_);
  BYOK_ASSIGN_OR_RETURN(SqliteStatement s,
                        db_->Prepare("INSERT INTO users (id, app_id, token_hash, created_at, "
                                     "expires_at, revoked_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
  s.BindText(1, user.user_id).BindText(2, user.app_id).BindBlob(3, user.token_hash);
  s.BindInt64(4, Millis(user.created_at));
  if (user.expires_at.has_value()) s.BindInt64(5, Millis(*user.expires_at)); else s.BindNull(5);
  if (user.revoked_at.has_value()) s.BindInt64(6, Millis(*user.revoked_at)); else s.BindNull(6);
  return s.Run();
}

absl::StatusOr<UserRecord> SqliteKeyStore::FindUser(const char* sql, absl::string_view value) {
  BYOK_ASSIGN_OR_RETURN(SqliteStatement s, db_->Prepare(sql));
  s.BindBlob(1, value);
  BYOK_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return absl::NotFoundError("no such user");
  return ReadUser(s);
}

absl::StatusOr<UserRecord> SqliteKeyStore::FindUserByTokenHash(absl::string_view token_hash) {
  absl::MutexLock lock(&mu_);
  static constexpr char kSql[] =
      "SELECT id, app_id, token_hash, created_at, expires_at, revoked_at FROM users "
      "WHERE token_hash = ?1";
  return FindUser(kSql, token_hash);
}

absl::StatusOr<UserRecord> SqliteKeyStore::FindUserById(absl::string_view user_id) {
  absl::MutexLock lock(&mu_);
  // ids are bound as text so the comparison uses the column's affinity.
  BYOK_ASSIGN_OR_RETURN(SqliteStatement s,
                        db_->Prepare("SELECT id, app_id, token_hash, created_at, expires_at, "
                                     "revoked_at FROM users WHERE id = ?1"));
  s.BindText(1, user_id);
  BYOK_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return absl::NotFoundError("no such user");
  return ReadUser(s);
}

absl::Status SqliteKeyStore::RevokeUser(absl::string_view user_id, absl::Time at) {
  absl::MutexLock lock(&mu_);
  BYOK_ASSIGN_OR_RETURN(SqliteStatement s,
                        db_->Prepare("UPDATE users SET revoked_at = COALESCE(revoked_at, ?2) "
                                     "WHERE id = ?1"));
  s.BindText(1, user_id).BindInt64(2, Millis(at));
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
    // Keys and usage go with the user (ON DELETE CASCADE).
    BYOK_ASSIGN_OR_RETURN(SqliteStatement del, db_->Prepare("DELETE FROM users WHERE id = ?1"));
    del.BindText(1, user_id);
    BYOK_RETURN_IF_ERROR(del.Run());
    if (db_->Changes() == 0) return absl::NotFoundError("no such user");
  }
  BYOK_RETURN_IF_ERROR(tx.Commit());
  return keys;
}

absl::StatusOr<int64_t> SqliteKeyStore::PurgeUsers(absl::Time now) {
  absl::MutexLock lock(&mu_);
  BYOK_ASSIGN_OR_RETURN(SqliteStatement s,
                        db_->Prepare("DELETE FROM users WHERE revoked_at IS NOT NULL OR "
                                     "(expires_at IS NOT NULL AND expires_at <= ?1)"));
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
                   "input_tokens, output_tokens, error, at) SELECT id, app_id, ?2, ?3, ?4, ?5, ?6, "
                   "?7, ?8, ?9 FROM users WHERE id = ?1"));
  s.BindText(1, usage.user_id).BindText(2, usage.provider).BindText(3, usage.model);
  s.BindInt64(4, usage.status).BindInt64(5, usage.latency_ms).BindInt64(6, usage.input_tokens);
  s.BindInt64(7, usage.output_tokens).BindInt64(8, usage.error ? 1 : 0).BindInt64(9, Millis(usage.at));
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
  absl::MutexLock lock(&mu_);
  // One transaction: one WAL append for the whole batch instead of one per record.
  SqliteTransaction tx(*db_);
  BYOK_RETURN_IF_ERROR(tx.Begin());
  int64_t stored = 0;
  for (const UsageRecord& usage : records) {
    BYOK_ASSIGN_OR_RETURN(bool inserted, InsertUsage(usage));
    if (inserted) ++stored;
  }
  BYOK_RETURN_IF_ERROR(tx.Commit());
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
    stats.top_models.push_back({s.ColumnText(0), s.ColumnInt64(1)});
  }
  return absl::OkStatus();
}

absl::StatusOr<UsageStats> SqliteKeyStore::GetStats(const StatsScope& scope, absl::Time now) {
  absl::MutexLock lock(&mu_);
  UsageStats stats;
  BYOK_RETURN_IF_ERROR(FillTotals(scope, now, stats));
  BYOK_RETURN_IF_ERROR(FillProviders(scope, stats));
  BYOK_RETURN_IF_ERROR(FillModels(scope, stats));
  if (scope.kind == StatsScope::Kind::kUser) {
    stats.users = 1;
  } else {
    BYOK_ASSIGN_OR_RETURN(SqliteStatement s,
                          db_->Prepare("SELECT COUNT(*) FROM users WHERE app_id = ?1"));
    s.BindText(1, scope.id);
    BYOK_ASSIGN_OR_RETURN(bool row, s.Step());
    stats.users = row ? s.ColumnInt64(0) : 0;
  }
  return stats;
}

}  // namespace byok::vault
