#include "services/vault/pg_key_store.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "services/vault/pg_schema.h"

namespace byok::vault {
namespace {

// Days in the daily statistics series, today (UTC) included (as the SQLite store).
constexpr int kDailyDays = 30;

int64_t Millis(absl::Time t) { return absl::ToUnixMillis(t); }
absl::Time FromMillis(int64_t ms) { return absl::FromUnixMillis(ms); }

#define BYOK_PG_USER_COLUMNS "id, app_id, token_hash, token_hmac_version, created_at, expires_at"
#define BYOK_PG_KEY_COLUMNS "user_id, provider, ciphertext, key_version, base_url, created_at, updated_at"
#define BYOK_PG_USAGE_COLUMNS \
  "user_id, app_id, provider, model, status, latency_ms, input_tokens, output_tokens, at"

UserRecord ReadUser(const PgResult& r, int row) {
  UserRecord u;
  u.user_id = r.Text(row, 0);
  u.app_id = r.Text(row, 1);
  u.token_hash = r.Bytes(row, 2);
  u.token_hmac_version = static_cast<int>(r.Int(row, 3));
  u.created_at = FromMillis(r.Int(row, 4));
  if (!r.IsNull(row, 5)) u.expires_at = FromMillis(r.Int(row, 5));
  return u;
}

KeyRecord ReadKey(const PgResult& r, int row) {
  KeyRecord k;
  k.user_id = r.Text(row, 0);
  k.provider = r.Text(row, 1);
  k.ciphertext = r.Bytes(row, 2);
  k.key_version = static_cast<uint32_t>(r.Int(row, 3));
  k.base_url = r.Text(row, 4);
  k.created_at = FromMillis(r.Int(row, 5));
  k.updated_at = FromMillis(r.Int(row, 6));
  return k;
}

std::vector<KeyRecord> ReadKeys(const PgResult& r) {
  std::vector<KeyRecord> keys;
  keys.reserve(r.rows());
  for (int i = 0; i < r.rows(); ++i) keys.push_back(ReadKey(r, i));
  return keys;
}

absl::Status InsertUser(PgConnection& conn, const UserRecord& user) {
  PgParams p;
  p.Text(user.user_id).Text(user.app_id).Bytes(user.token_hash).Int(user.token_hmac_version);
  p.Int(Millis(user.created_at));
  if (user.expires_at.has_value()) p.Int(Millis(*user.expires_at)); else p.Null();
  return conn
      .Exec("INSERT INTO users (" BYOK_PG_USER_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6::bigint)", p)
      .status();
}

absl::Status InsertKey(PgConnection& conn, const KeyRecord& key) {
  return conn
      .Exec("INSERT INTO provider_keys (" BYOK_PG_KEY_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, $7)",
            PgParams()
                .Text(key.user_id)
                .Text(key.provider)
                .Bytes(key.ciphertext)
                .Int(key.key_version)
                .Text(key.base_url)
                .Int(Millis(key.created_at))
                .Int(Millis(key.updated_at)))
      .status();
}

absl::Status InsertImportedUsage(PgConnection& conn, const UsageRecord& usage) {
  return conn
      .Exec("INSERT INTO usage (" BYOK_PG_USAGE_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            PgParams()
                .Text(usage.user_id)
                .Text(usage.app_id)
                .Text(usage.provider)
                .Text(usage.model)
                .Int(usage.status)
                .Int(usage.latency_ms)
                .Int(usage.input_tokens)
                .Int(usage.output_tokens)
                .Int(Millis(usage.at)))
      .status();
}

// Inserts one usage record for an existing user (its app taken from the user row); false when the
// user does not exist.
absl::StatusOr<bool> InsertUsage(PgConnection& conn, const UsageRecord& usage) {
  BYOK_ASSIGN_OR_RETURN(
      PgResult r,
      conn.Exec("INSERT INTO usage (" BYOK_PG_USAGE_COLUMNS ") SELECT id, app_id, $2, $3, $4, $5, $6, "
                "$7, $8 FROM users WHERE id = $1",
                PgParams()
                    .Text(usage.user_id)
                    .Text(usage.provider)
                    .Text(usage.model)
                    .Int(usage.status)
                    .Int(usage.latency_ms)
                    .Int(usage.input_tokens)
                    .Int(usage.output_tokens)
                    .Int(Millis(usage.at))));
  return r.affected() > 0;
}

const char* ScopeSql(const StatsScope& scope, const char* by_user, const char* by_app) {
  return scope.kind == StatsScope::Kind::kUser ? by_user : by_app;
}

// The SQLite store's statistics, term for term: an error is any status outside 2xx; the average
// latency is truncated to an integer; days are UTC calendar days of the millisecond times.
#define BYOK_PG_ERROR "CASE WHEN status < 200 OR status >= 300 THEN 1 ELSE 0 END"
#define BYOK_PG_TOTALS(column)                                                                     \
  "SELECT COUNT(*), COALESCE(SUM(" BYOK_PG_ERROR "), 0), "                                         \
  "COALESCE(SUM(CASE WHEN at >= $2 THEN 1 ELSE 0 END), 0), "                                       \
  "COALESCE(SUM(CASE WHEN at >= $3 THEN 1 ELSE 0 END), 0), COALESCE(SUM(input_tokens), 0), "       \
  "COALESCE(SUM(output_tokens), 0), MAX(at) FROM usage WHERE " column " = $1"
#define BYOK_PG_PROVIDERS(column)                                                                \
  "SELECT provider, COUNT(*), SUM(" BYOK_PG_ERROR "), trunc(AVG(latency_ms))::bigint, "          \
  "SUM(input_tokens), SUM(output_tokens) FROM usage WHERE " column " = $1 GROUP BY provider "    \
  "ORDER BY COUNT(*) DESC, provider"
#define BYOK_PG_MODELS(column)                                                                   \
  "SELECT model, COUNT(*), SUM(input_tokens), SUM(output_tokens) FROM usage "                  \
  "WHERE " column " = $1 AND model <> '' GROUP BY model "                                       \
  "ORDER BY COUNT(*) DESC, model LIMIT 10"
#define BYOK_PG_DAILY(column)                                                                    \
  "SELECT to_char(DATE '1970-01-01' + (at / 86400000)::integer, 'YYYY-MM-DD') AS day, provider, " \
  "COUNT(*), SUM(" BYOK_PG_ERROR "), SUM(input_tokens), SUM(output_tokens) FROM usage "           \
  "WHERE " column " = $1 AND at >= $2 GROUP BY day, provider ORDER BY day, provider"

absl::Status FillStats(PgConnection& conn, const StatsScope& scope, absl::Time now,
                       UsageStats& stats) {
  {
    BYOK_ASSIGN_OR_RETURN(
        PgResult r, conn.Exec(ScopeSql(scope, BYOK_PG_TOTALS("user_id"), BYOK_PG_TOTALS("app_id")),
                              PgParams()
                                  .Text(scope.id)
                                  .Int(Millis(now - absl::Hours(24 * 7)))
                                  .Int(Millis(now - absl::Hours(24 * 30)))));
    if (r.rows() > 0) {
      stats.total_requests = r.Int(0, 0);
      stats.total_errors = r.Int(0, 1);
      stats.requests_last_7_days = r.Int(0, 2);
      stats.requests_last_30_days = r.Int(0, 3);
      stats.input_tokens = r.Int(0, 4);
      stats.output_tokens = r.Int(0, 5);
      if (!r.IsNull(0, 6)) stats.last_request = FromMillis(r.Int(0, 6));
    }
  }
  {
    BYOK_ASSIGN_OR_RETURN(PgResult r, conn.Exec(ScopeSql(scope, BYOK_PG_PROVIDERS("user_id"),
                                                         BYOK_PG_PROVIDERS("app_id")),
                                                PgParams().Text(scope.id)));
    for (int i = 0; i < r.rows(); ++i) {
      stats.providers.push_back(
          {r.Text(i, 0), r.Int(i, 1), r.Int(i, 2), r.Int(i, 3), r.Int(i, 4), r.Int(i, 5)});
    }
  }
  {
    BYOK_ASSIGN_OR_RETURN(
        PgResult r, conn.Exec(ScopeSql(scope, BYOK_PG_MODELS("user_id"), BYOK_PG_MODELS("app_id")),
                              PgParams().Text(scope.id)));
    for (int i = 0; i < r.rows(); ++i) {
      stats.top_models.push_back({r.Text(i, 0), r.Int(i, 1), r.Int(i, 2), r.Int(i, 3)});
    }
  }
  {
    const int64_t day_ms = 24 * 60 * 60 * 1000;
    const int64_t now_ms = Millis(now);
    const int64_t today_ms = now_ms - ((now_ms % day_ms) + day_ms) % day_ms;
    BYOK_ASSIGN_OR_RETURN(
        PgResult r,
        conn.Exec(ScopeSql(scope, BYOK_PG_DAILY("user_id"), BYOK_PG_DAILY("app_id")),
                  PgParams().Text(scope.id).Int(today_ms - (kDailyDays - 1) * day_ms)));
    for (int i = 0; i < r.rows(); ++i) {
      stats.daily.push_back(
          {r.Text(i, 0), r.Text(i, 1), r.Int(i, 2), r.Int(i, 3), r.Int(i, 4), r.Int(i, 5)});
    }
  }
  if (scope.kind == StatsScope::Kind::kUser) {
    stats.users = 1;
  } else {
    BYOK_ASSIGN_OR_RETURN(PgResult r,
                          conn.Exec("SELECT COUNT(DISTINCT user_id) FROM usage WHERE app_id = $1",
                                    PgParams().Text(scope.id)));
    stats.users = r.rows() > 0 ? r.Int(0, 0) : 0;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<PgKeyStore>> PgKeyStore::Open(const std::string& url, Options options,
                                                             absl::Time now) {
  BYOK_RETURN_IF_ERROR(CheckPostgresUrl(url));
  PgPoolOptions pool;
  pool.url = url;
  pool.size = options.pool_size;
  pool.acquire_timeout = options.acquire_timeout;
  pool.timeouts = options.timeouts;
  std::unique_ptr<PgKeyStore> store(new PgKeyStore(std::move(pool)));
  BYOK_ASSIGN_OR_RETURN(PgPool::Lease conn, store->pool_.Acquire());
  BYOK_RETURN_IF_ERROR(ApplyPgMigrations(*conn, PgMigrations(), now));
  return store;
}

absl::StatusOr<PgResult> PgKeyStore::Exec(const char* sql, const PgParams& params) {
  BYOK_ASSIGN_OR_RETURN(PgPool::Lease conn, pool_.Acquire());
  return conn->Exec(sql, params);
}

absl::StatusOr<int> PgKeyStore::SchemaVersion() {
  BYOK_ASSIGN_OR_RETURN(PgPool::Lease conn, pool_.Acquire());
  return AppliedPgSchemaVersion(*conn);
}

absl::Status PgKeyStore::CreateUser(const UserRecord& user) {
  BYOK_ASSIGN_OR_RETURN(PgPool::Lease conn, pool_.Acquire());
  return InsertUser(*conn, user);
}

absl::StatusOr<UserRecord> PgKeyStore::FindUserByTokenHash(absl::string_view token_hash) {
  BYOK_ASSIGN_OR_RETURN(PgResult r, Exec("SELECT " BYOK_PG_USER_COLUMNS " FROM users WHERE "
                                         "token_hash = $1",
                                         PgParams().Bytes(token_hash)));
  if (r.rows() == 0) return absl::NotFoundError("no such user");
  return ReadUser(r, 0);
}

absl::StatusOr<UserRecord> PgKeyStore::FindUserById(absl::string_view user_id) {
  BYOK_ASSIGN_OR_RETURN(PgResult r, Exec("SELECT " BYOK_PG_USER_COLUMNS " FROM users WHERE id = $1",
                                         PgParams().Text(user_id)));
  if (r.rows() == 0) return absl::NotFoundError("no such user");
  return ReadUser(r, 0);
}

absl::StatusOr<bool> PgKeyStore::UpdateTokenHash(absl::string_view user_id,
                                                 absl::string_view expected_hash,
                                                 absl::string_view new_hash, int token_hmac_version) {
  BYOK_ASSIGN_OR_RETURN(
      PgResult r, Exec("UPDATE users SET token_hash = $3, token_hmac_version = $4 "
                       "WHERE id = $1 AND token_hash = $2",
                       PgParams().Text(user_id).Bytes(expected_hash).Bytes(new_hash).Int(
                           token_hmac_version)));
  return r.affected() > 0;
}

absl::Status PgKeyStore::SetExpiry(absl::string_view user_id, absl::Time expires_at) {
  BYOK_ASSIGN_OR_RETURN(PgResult r, Exec("UPDATE users SET expires_at = $2 WHERE id = $1",
                                         PgParams().Text(user_id).Int(Millis(expires_at))));
  if (r.affected() == 0) return absl::NotFoundError("no such user");
  return absl::OkStatus();
}

absl::StatusOr<int64_t> PgKeyStore::DeleteUser(absl::string_view user_id) {
  // One statement: the keys counted before the delete (every part sees the same snapshot), the user
  // with its keys (ON DELETE CASCADE), then its usage records, which outlive purged users only.
  BYOK_ASSIGN_OR_RETURN(
      PgResult r,
      Exec("WITH keys AS (SELECT COUNT(*) AS n FROM provider_keys WHERE user_id = $1), "
           "gone AS (DELETE FROM users WHERE id = $1 RETURNING id), "
           "history AS (DELETE FROM usage WHERE user_id IN (SELECT id FROM gone)) "
           "SELECT (SELECT n FROM keys), (SELECT COUNT(*) FROM gone)",
           PgParams().Text(user_id)));
  if (r.rows() == 0 || r.Int(0, 1) == 0) return absl::NotFoundError("no such user");
  return r.Int(0, 0);
}

absl::StatusOr<int64_t> PgKeyStore::PurgeUsers(absl::Time now) {
  // In batches, each its own short transaction (a backlog never meets the statement timeout, and
  // locks are held briefly), each under the purge lock.
  constexpr int64_t kBatch = 1000;
  int64_t purged = 0;
  while (true) {
    BYOK_ASSIGN_OR_RETURN(PgPool::Lease conn, pool_.Acquire());
    PgTransaction tx(*conn);
    BYOK_RETURN_IF_ERROR(tx.Begin());
    // Released with the transaction, also when this replica dies mid-purge.
    BYOK_ASSIGN_OR_RETURN(PgResult locked, conn->Exec("SELECT pg_try_advisory_xact_lock($1)",
                                                      PgParams().Int(kPgPurgeLock)));
    if (locked.rows() == 0 || !locked.Bool(0, 0)) return purged;  // another replica is purging
    BYOK_ASSIGN_OR_RETURN(
        PgResult r, conn->Exec("DELETE FROM users WHERE id IN (SELECT id FROM users WHERE "
                               "expires_at IS NOT NULL AND expires_at < $1 LIMIT $2)",
                               PgParams().Int(Millis(now)).Int(kBatch)));
    BYOK_RETURN_IF_ERROR(tx.Commit());
    purged += r.affected();
    if (r.affected() < kBatch) return purged;
  }
}

absl::StatusOr<bool> PgKeyStore::PutKey(const KeyRecord& key) {
  // xmax is 0 on a freshly inserted row version and set on one the upsert updated.
  BYOK_ASSIGN_OR_RETURN(
      PgResult r,
      Exec("INSERT INTO provider_keys (" BYOK_PG_KEY_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, $6) "
           "ON CONFLICT (user_id, provider) DO UPDATE SET ciphertext = EXCLUDED.ciphertext, "
           "key_version = EXCLUDED.key_version, base_url = EXCLUDED.base_url, "
           "updated_at = EXCLUDED.updated_at RETURNING xmax::text <> '0'",
           PgParams()
               .Text(key.user_id)
               .Text(key.provider)
               .Bytes(key.ciphertext)
               .Int(key.key_version)
               .Text(key.base_url)
               .Int(Millis(key.updated_at))));
  return r.rows() > 0 && r.Bool(0, 0);
}

absl::StatusOr<KeyRecord> PgKeyStore::GetKey(absl::string_view user_id, absl::string_view provider) {
  BYOK_ASSIGN_OR_RETURN(PgResult r, Exec("SELECT " BYOK_PG_KEY_COLUMNS " FROM provider_keys "
                                         "WHERE user_id = $1 AND provider = $2",
                                         PgParams().Text(user_id).Text(provider)));
  if (r.rows() == 0) return absl::NotFoundError("no key stored for this provider");
  return ReadKey(r, 0);
}

absl::StatusOr<std::vector<KeyRecord>> PgKeyStore::ListKeys(absl::string_view user_id) {
  BYOK_ASSIGN_OR_RETURN(PgResult r,
                        Exec("SELECT user_id, provider, ''::bytea, key_version, base_url, "
                             "created_at, updated_at FROM provider_keys WHERE user_id = $1 "
                             "ORDER BY provider",
                             PgParams().Text(user_id)));
  return ReadKeys(r);
}

absl::StatusOr<bool> PgKeyStore::DeleteKey(absl::string_view user_id, absl::string_view provider) {
  BYOK_ASSIGN_OR_RETURN(PgResult r,
                        Exec("DELETE FROM provider_keys WHERE user_id = $1 AND provider = $2",
                             PgParams().Text(user_id).Text(provider)));
  return r.affected() > 0;
}

absl::StatusOr<std::vector<KeyRecord>> PgKeyStore::KeysNotUnderVersion(
    uint32_t version, absl::string_view after_user_id, absl::string_view after_provider, int limit) {
  BYOK_ASSIGN_OR_RETURN(
      PgResult r, Exec("SELECT " BYOK_PG_KEY_COLUMNS " FROM provider_keys WHERE key_version <> $1 "
                       "AND (user_id > $2 OR (user_id = $2 AND provider > $3)) "
                       "ORDER BY user_id, provider LIMIT $4",
                       PgParams().Int(version).Text(after_user_id).Text(after_provider).Int(limit)));
  return ReadKeys(r);
}

absl::StatusOr<int64_t> PgKeyStore::CountKeysNotUnderVersion(uint32_t version) {
  BYOK_ASSIGN_OR_RETURN(PgResult r,
                        Exec("SELECT COUNT(*) FROM provider_keys WHERE key_version <> $1",
                             PgParams().Int(version)));
  return r.rows() > 0 ? r.Int(0, 0) : 0;
}

absl::StatusOr<bool> PgKeyStore::ReplaceCiphertext(absl::string_view user_id,
                                                   absl::string_view provider,
                                                   absl::string_view expected_ciphertext,
                                                   absl::string_view new_ciphertext,
                                                   uint32_t new_version) {
  BYOK_ASSIGN_OR_RETURN(
      PgResult r, Exec("UPDATE provider_keys SET ciphertext = $4, key_version = $5 "
                       "WHERE user_id = $1 AND provider = $2 AND ciphertext = $3",
                       PgParams()
                           .Text(user_id)
                           .Text(provider)
                           .Bytes(expected_ciphertext)
                           .Bytes(new_ciphertext)
                           .Int(new_version)));
  return r.affected() > 0;
}

absl::Status PgKeyStore::RecordUsage(const UsageRecord& usage) {
  BYOK_ASSIGN_OR_RETURN(PgPool::Lease conn, pool_.Acquire());
  BYOK_ASSIGN_OR_RETURN(bool stored, InsertUsage(*conn, usage));
  if (!stored) return absl::NotFoundError("no such user");
  return absl::OkStatus();
}

absl::StatusOr<int64_t> PgKeyStore::RecordUsageBatch(absl::Span<const UsageRecord> records) {
  const absl::Span<const UsageRecord> one[] = {records};
  BYOK_ASSIGN_OR_RETURN(std::vector<int64_t> stored, RecordUsageBatches(one));
  return stored.front();
}

absl::StatusOr<std::vector<int64_t>> PgKeyStore::RecordUsageBatches(
    absl::Span<const absl::Span<const UsageRecord>> batches) {
  BYOK_ASSIGN_OR_RETURN(PgPool::Lease conn, pool_.Acquire());
  PgTransaction tx(*conn);
  BYOK_RETURN_IF_ERROR(tx.Begin());
  std::vector<int64_t> stored;
  stored.reserve(batches.size());
  for (absl::Span<const UsageRecord> batch : batches) {
    int64_t n = 0;
    for (const UsageRecord& usage : batch) {
      BYOK_ASSIGN_OR_RETURN(bool inserted, InsertUsage(*conn, usage));
      if (inserted) ++n;
    }
    stored.push_back(n);
  }
  BYOK_RETURN_IF_ERROR(tx.Commit());
  return stored;
}

absl::StatusOr<UsageStats> PgKeyStore::GetStats(const StatsScope& scope, absl::Time now) {
  BYOK_ASSIGN_OR_RETURN(PgPool::Lease conn, pool_.Acquire());
  // One snapshot for the five queries, so the totals and the series agree.
  PgTransaction tx(*conn);
  BYOK_RETURN_IF_ERROR(tx.Begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  UsageStats stats;
  BYOK_RETURN_IF_ERROR(FillStats(*conn, scope, now, stats));
  BYOK_RETURN_IF_ERROR(tx.Commit());
  return stats;
}

absl::Status PgKeyStore::Import(const ImportData& data) {
  BYOK_ASSIGN_OR_RETURN(PgPool::Lease conn, pool_.Acquire());
  PgTransaction tx(*conn);
  BYOK_RETURN_IF_ERROR(tx.Begin());
  for (const UserRecord& u : data.users) BYOK_RETURN_IF_ERROR(InsertUser(*conn, u));
  for (const KeyRecord& k : data.keys) BYOK_RETURN_IF_ERROR(InsertKey(*conn, k));
  for (const UsageRecord& r : data.usage) BYOK_RETURN_IF_ERROR(InsertImportedUsage(*conn, r));
  return tx.Commit();
}

absl::StatusOr<ImportData> PgKeyStore::Export() {
  BYOK_ASSIGN_OR_RETURN(PgPool::Lease conn, pool_.Acquire());
  PgTransaction tx(*conn);
  BYOK_RETURN_IF_ERROR(tx.Begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  ImportData data;
  {
    BYOK_ASSIGN_OR_RETURN(PgResult r,
                          conn->Exec("SELECT " BYOK_PG_USER_COLUMNS " FROM users ORDER BY id"));
    for (int i = 0; i < r.rows(); ++i) data.users.push_back(ReadUser(r, i));
  }
  {
    BYOK_ASSIGN_OR_RETURN(PgResult r, conn->Exec("SELECT " BYOK_PG_KEY_COLUMNS " FROM provider_keys "
                                                 "ORDER BY user_id, provider"));
    data.keys = ReadKeys(r);
  }
  {
    BYOK_ASSIGN_OR_RETURN(PgResult r,
                          conn->Exec("SELECT " BYOK_PG_USAGE_COLUMNS " FROM usage ORDER BY id"));
    for (int i = 0; i < r.rows(); ++i) {
      UsageRecord u;
      u.user_id = r.Text(i, 0);
      u.app_id = r.Text(i, 1);
      u.provider = r.Text(i, 2);
      u.model = r.Text(i, 3);
      u.status = static_cast<int32_t>(r.Int(i, 4));
      u.latency_ms = r.Int(i, 5);
      u.input_tokens = r.Int(i, 6);
      u.output_tokens = r.Int(i, 7);
      u.at = FromMillis(r.Int(i, 8));
      data.usage.push_back(std::move(u));
    }
  }
  BYOK_RETURN_IF_ERROR(tx.Commit());
  return data;
}

absl::StatusOr<bool> PgKeyStore::Empty() {
  BYOK_ASSIGN_OR_RETURN(PgResult r,
                        Exec("SELECT NOT (EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM "
                             "provider_keys) OR EXISTS (SELECT 1 FROM usage))",
                             PgParams()));
  return r.rows() > 0 && r.Bool(0, 0);
}

absl::StatusOr<int64_t> PgKeyStore::CountUsers() {
  BYOK_ASSIGN_OR_RETURN(PgResult r, Exec("SELECT COUNT(*) FROM users", PgParams()));
  return r.rows() > 0 ? r.Int(0, 0) : 0;
}

absl::StatusOr<int64_t> PgKeyStore::CountKeys() {
  BYOK_ASSIGN_OR_RETURN(PgResult r, Exec("SELECT COUNT(*) FROM provider_keys", PgParams()));
  return r.rows() > 0 ? r.Int(0, 0) : 0;
}

absl::StatusOr<int64_t> PgKeyStore::AppendAuditEvent(const AuditRecord& event) {
  BYOK_ASSIGN_OR_RETURN(
      PgResult r,
      Exec("INSERT INTO audit_events (at, action, user_id, provider, caller, request_id, outcome) "
           "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
           PgParams()
               .Int(Millis(event.time))
               .Int(event.action)
               .Text(event.user_id)
               .Text(event.provider)
               .Text(event.caller)
               .Text(event.request_id)
               .Text(event.outcome)));
  if (r.rows() == 0) return absl::InternalError("the audit insert returned no id");
  return r.Int(0, 0);
}

absl::StatusOr<std::vector<AuditRecord>> PgKeyStore::ListAuditEvents(const AuditQuery& query) {
  // Ids come from one sequence, so concurrent replicas' rows can commit out of id order: a reader
  // paging by id may see a later id before an earlier one commits. The window is one insert long.
  BYOK_ASSIGN_OR_RETURN(
      PgResult r,
      Exec("SELECT id, at, action, user_id, provider, caller, request_id, outcome FROM audit_events "
           "WHERE id > $1 AND ($2::text = '' OR user_id = $2) ORDER BY id LIMIT $3",
           PgParams().Int(query.after_id).Text(query.user_id).Int(query.limit)));
  std::vector<AuditRecord> events;
  events.reserve(r.rows());
  for (int i = 0; i < r.rows(); ++i) {
    AuditRecord e;
    e.id = r.Int(i, 0);
    e.time = FromMillis(r.Int(i, 1));
    e.action = static_cast<int>(r.Int(i, 2));
    e.user_id = r.Text(i, 3);
    e.provider = r.Text(i, 4);
    e.caller = r.Text(i, 5);
    e.request_id = r.Text(i, 6);
    e.outcome = r.Text(i, 7);
    events.push_back(std::move(e));
  }
  return events;
}

absl::StatusOr<int64_t> PgKeyStore::PurgeAuditEvents(absl::Time before) {
  BYOK_ASSIGN_OR_RETURN(PgResult r, Exec("DELETE FROM audit_events WHERE at < $1",
                                         PgParams().Int(Millis(before))));
  return r.affected();
}

}  // namespace byok::vault
