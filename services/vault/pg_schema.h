// The PostgreSQL store's schema: its migrations and the runner that applies them on start. Several
// vault replicas may start at once on one database: each migration runs in its own transaction under
// a transaction-level advisory lock, and re-reads the applied version under it, so exactly one replica
// applies each step and the others see it done.
#ifndef BYOK_SERVICES_VAULT_PG_SCHEMA_H_
#define BYOK_SERVICES_VAULT_PG_SCHEMA_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/vault/migration.h"
#include "services/vault/pg_connection.h"

namespace byok::vault {

// Advisory lock keys of the vault (one namespace per database; arbitrary but fixed constants).
inline constexpr int64_t kPgMigrationLock = 0x62796f6b0001;  // "byok" 1: schema migrations
inline constexpr int64_t kPgPurgeLock = 0x62796f6b0002;      // "byok" 2: the purge of expired users

// The PostgreSQL store's schema history (see migration.h). Its tables hold what the SQLite store's do,
// in the same units (times in Unix milliseconds, hashes and ciphertexts as bytes, text compared
// bytewise), so rows copy between the two unchanged.
const std::vector<Migration>& PgMigrations();

// Brings the database up to the last of `migrations`, recording each in schema_migrations at `now`.
// FailedPrecondition when the database is newer than `migrations`.
absl::Status ApplyPgMigrations(PgConnection& conn, const std::vector<Migration>& migrations,
                               absl::Time now);

// Returns the highest applied migration (0 for an empty database).
absl::StatusOr<int> AppliedPgSchemaVersion(PgConnection& conn);

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_PG_SCHEMA_H_
