#include "services/vault/pg_schema.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace byok::vault {
namespace {

// The SQLite schema at its version 2, in PostgreSQL's types. COLLATE "C" keeps text ordering bytewise,
// as SQLite's, whatever the database's locale: listings and the rewrap cursor order alike on both.
constexpr char kMigration1[] = R"sql(
  CREATE TABLE users (
    id                 TEXT COLLATE "C" PRIMARY KEY,
    app_id             TEXT COLLATE "C" NOT NULL,
    token_hash         BYTEA NOT NULL UNIQUE,
    token_hmac_version INTEGER NOT NULL DEFAULT 2,
    created_at         BIGINT NOT NULL,
    expires_at         BIGINT
  );
  CREATE INDEX users_by_app ON users(app_id);
  CREATE INDEX users_by_expiry ON users(expires_at) WHERE expires_at IS NOT NULL;
  CREATE TABLE provider_keys (
    user_id     TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    provider    TEXT COLLATE "C" NOT NULL,
    ciphertext  BYTEA NOT NULL,
    key_version BIGINT NOT NULL,
    base_url    TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (user_id, provider)
  );
  CREATE INDEX provider_keys_by_version ON provider_keys(key_version);
  CREATE TABLE usage (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       TEXT COLLATE "C" NOT NULL,
    app_id        TEXT COLLATE "C" NOT NULL,
    provider      TEXT COLLATE "C" NOT NULL,
    model         TEXT COLLATE "C" NOT NULL DEFAULT '',
    status        INTEGER NOT NULL,
    latency_ms    BIGINT NOT NULL,
    input_tokens  BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL,
    at            BIGINT NOT NULL
  );
  CREATE INDEX usage_by_user ON usage(user_id, at);
  CREATE INDEX usage_by_app ON usage(app_id, at);
)sql";

// The key audit trail, as the SQLite store's migration 3.
constexpr char kMigration2[] = R"sql(
  CREATE TABLE audit_events (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         BIGINT NOT NULL,
    action     INTEGER NOT NULL,
    user_id    TEXT COLLATE "C" NOT NULL DEFAULT '',
    provider   TEXT COLLATE "C" NOT NULL DEFAULT '',
    caller     TEXT COLLATE "C" NOT NULL DEFAULT '',
    request_id TEXT COLLATE "C" NOT NULL DEFAULT '',
    outcome    TEXT COLLATE "C" NOT NULL
  );
  CREATE INDEX audit_events_by_user ON audit_events(user_id, id);
  CREATE INDEX audit_events_by_time ON audit_events(at);
)sql";

// One transaction: the lock, then the version as it stands under the lock.
absl::StatusOr<int> LockAndReadVersion(PgConnection& conn) {
  BYOK_RETURN_IF_ERROR(
      conn.Exec("SELECT pg_advisory_xact_lock($1)", PgParams().Int(kPgMigrationLock)).status());
  BYOK_RETURN_IF_ERROR(conn.ExecScript(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
      "applied_at BIGINT NOT NULL)"));
  return AppliedPgSchemaVersion(conn);
}

}  // namespace

const std::vector<Migration>& PgMigrations() {
  static const std::vector<Migration> migrations = {
      {1, "users, provider keys and usage records (the SQLite store's schema version 2)", kMigration1},
      {2, "key audit trail (the SQLite store's schema version 3)", kMigration2},
  };
  return migrations;
}

absl::StatusOr<int> AppliedPgSchemaVersion(PgConnection& conn) {
  BYOK_ASSIGN_OR_RETURN(
      PgResult r, conn.Exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
  return r.rows() > 0 ? static_cast<int>(r.Int(0, 0)) : 0;
}

absl::Status ApplyPgMigrations(PgConnection& conn, const std::vector<Migration>& migrations,
                               absl::Time now) {
  const int known = static_cast<int>(migrations.size());
  while (true) {
    PgTransaction tx(conn);
    BYOK_RETURN_IF_ERROR(tx.Begin());
    BYOK_ASSIGN_OR_RETURN(int applied, LockAndReadVersion(conn));
    if (applied > known) {
      return absl::FailedPreconditionError(
          absl::StrCat("the database schema (version ", applied,
                       ") is newer than this vault understands (version ", known, ")"));
    }
    if (applied == known) return tx.Commit();
    const Migration& m = migrations[applied];
    absl::Status s = conn.ExecScript(m.sql);
    if (s.ok()) {
      s = conn.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                    PgParams().Int(m.version).Text(m.name).Int(absl::ToUnixMillis(now)))
              .status();
    }
    if (s.ok()) s = tx.Commit();
    if (!s.ok()) {
      return absl::Status(s.code(), absl::StrCat("schema migration ", m.version, " (", m.name,
                                                 ") failed: ", s.message()));
    }
  }
}

}  // namespace byok::vault
