#include "services/vault/sqlite_schema.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace byok::vault {
namespace {

constexpr char kMigration1[] = R"sql(
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
)sql";

// The original's semantics: the token HMAC version beside the hash; revocation is an expiry in the
// past; usage records outlive their user (app statistics count them) and are errors by status alone,
// with 502 for a request that got no (or a broken) response.
constexpr char kMigration2[] = R"sql(
  ALTER TABLE users ADD COLUMN token_hmac_version INTEGER NOT NULL DEFAULT 2;
  UPDATE users SET expires_at = revoked_at - 1
    WHERE revoked_at IS NOT NULL AND (expires_at IS NULL OR expires_at >= revoked_at);
  ALTER TABLE users DROP COLUMN revoked_at;
  CREATE TABLE usage_v2 (
    id            INTEGER PRIMARY KEY,
    user_id       TEXT NOT NULL,
    app_id        TEXT NOT NULL,
    provider      TEXT NOT NULL,
    model         TEXT NOT NULL DEFAULT '',
    status        INTEGER NOT NULL,
    latency_ms    INTEGER NOT NULL,
    input_tokens  INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    at            INTEGER NOT NULL
  );
  INSERT INTO usage_v2 (id, user_id, app_id, provider, model, status, latency_ms, input_tokens,
                        output_tokens, at)
    SELECT id, user_id, app_id, provider, model,
           CASE WHEN status = 0 OR (error != 0 AND status BETWEEN 200 AND 299) THEN 502 ELSE status END,
           latency_ms, input_tokens, output_tokens, at
    FROM usage;
  DROP TABLE usage;
  ALTER TABLE usage_v2 RENAME TO usage;
  CREATE INDEX usage_by_user ON usage(user_id, at);
  CREATE INDEX usage_by_app ON usage(app_id, at);
)sql";

// The key audit trail: append-only rows (no key, no token), read in id order, aged out by time.
constexpr char kMigration3[] = R"sql(
  CREATE TABLE audit_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    action     INTEGER NOT NULL,
    user_id    TEXT NOT NULL DEFAULT '',
    provider   TEXT NOT NULL DEFAULT '',
    caller     TEXT NOT NULL DEFAULT '',
    request_id TEXT NOT NULL DEFAULT '',
    outcome    TEXT NOT NULL
  );
  CREATE INDEX audit_events_by_user ON audit_events(user_id, id);
  CREATE INDEX audit_events_by_time ON audit_events(at);
)sql";

constexpr char kCreateMigrationsTable[] =
    "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
    "applied_at INTEGER NOT NULL)";

absl::Status Record(SqliteDb& db, const Migration& m, absl::Time now) {
  BYOK_ASSIGN_OR_RETURN(SqliteStatement s,
                        db.Prepare("INSERT INTO schema_migrations (version, name, applied_at) "
                                   "VALUES (?1, ?2, ?3)"));
  s.BindInt64(1, m.version).BindText(2, m.name).BindInt64(3, absl::ToUnixMillis(now));
  BYOK_RETURN_IF_ERROR(s.Run());
  // PRAGMA takes no bound parameters; the value is our own integer.
  return db.Exec(absl::StrCat("PRAGMA user_version=", m.version).c_str());
}

// Creates schema_migrations when missing, recording what PRAGMA user_version said was applied.
absl::Status Bootstrap(SqliteDb& db, const std::vector<Migration>& migrations, absl::Time now) {
  BYOK_ASSIGN_OR_RETURN(bool exists, TableExists(db, "schema_migrations"));
  if (exists) return absl::OkStatus();
  BYOK_ASSIGN_OR_RETURN(int legacy_version, db.SchemaVersion());
  if (legacy_version > static_cast<int>(migrations.size())) {
    return absl::FailedPreconditionError(
        absl::StrCat("the database schema (version ", legacy_version,
                     ") is newer than this vault understands (version ", migrations.size(), ")"));
  }
  BYOK_RETURN_IF_ERROR(db.Exec(kCreateMigrationsTable));
  for (int v = 0; v < legacy_version; ++v) BYOK_RETURN_IF_ERROR(Record(db, migrations[v], now));
  return absl::OkStatus();
}

absl::Status ApplyOne(SqliteDb& db, const Migration& m, absl::Time now) {
  BYOK_RETURN_IF_ERROR(db.Exec(m.sql));
  return Record(db, m, now);
}

}  // namespace

const std::vector<Migration>& SqliteMigrations() {
  static const std::vector<Migration> migrations = {
      {1, "users, provider keys and usage records", kMigration1},
      {2, "original byok-relay semantics: token HMAC version, expiry as revocation, usage kept by status",
       kMigration2},
      {3, "key audit trail", kMigration3},
  };
  return migrations;
}

absl::StatusOr<bool> TableExists(SqliteDb& db, absl::string_view name) {
  BYOK_ASSIGN_OR_RETURN(SqliteStatement s,
                        db.Prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1"));
  s.BindText(1, name);
  return s.Step();
}

absl::StatusOr<int> AppliedSchemaVersion(SqliteDb& db) {
  BYOK_ASSIGN_OR_RETURN(bool exists, TableExists(db, "schema_migrations"));
  if (!exists) return db.SchemaVersion();
  BYOK_ASSIGN_OR_RETURN(SqliteStatement s,
                        db.Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
  BYOK_ASSIGN_OR_RETURN(bool row, s.Step());
  return row ? static_cast<int>(s.ColumnInt64(0)) : 0;
}

absl::StatusOr<bool> HoldsOriginalSchema(SqliteDb& db) {
  BYOK_ASSIGN_OR_RETURN(bool users, TableExists(db, "users"));
  BYOK_ASSIGN_OR_RETURN(bool keys, TableExists(db, "keys"));
  BYOK_ASSIGN_OR_RETURN(bool ours, TableExists(db, "provider_keys"));
  return users && keys && !ours;
}

absl::Status ApplyMigrations(SqliteDb& db, const std::vector<Migration>& migrations, absl::Time now,
                             MigrationTransactions transactions) {
  const bool own = transactions == MigrationTransactions::kOwn;
  {
    SqliteTransaction tx(db);
    if (own) BYOK_RETURN_IF_ERROR(tx.Begin());
    BYOK_RETURN_IF_ERROR(Bootstrap(db, migrations, now));
    if (own) BYOK_RETURN_IF_ERROR(tx.Commit());
  }
  BYOK_ASSIGN_OR_RETURN(int applied, AppliedSchemaVersion(db));
  // user_version too: a vault from before schema_migrations may have moved it on.
  BYOK_ASSIGN_OR_RETURN(int user_version, db.SchemaVersion());
  const int known = static_cast<int>(migrations.size());
  if (applied > known || user_version > known) {
    applied = std::max(applied, user_version);
    return absl::FailedPreconditionError(
        absl::StrCat("the database schema (version ", applied,
                     ") is newer than this vault understands (version ", known, ")"));
  }
  for (int v = applied; v < known; ++v) {
    const Migration& m = migrations[v];
    SqliteTransaction tx(db);
    if (own) BYOK_RETURN_IF_ERROR(tx.Begin());
    absl::Status s = ApplyOne(db, m, now);
    if (!s.ok()) {
      return absl::Status(s.code(), absl::StrCat("schema migration ", m.version, " (", m.name,
                                                 ") failed: ", s.message()));
    }
    if (own) BYOK_RETURN_IF_ERROR(tx.Commit());
  }
  return absl::OkStatus();
}

}  // namespace byok::vault
