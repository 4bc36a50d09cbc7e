// The SQLite store's schema: its migrations, the runner that applies them, and recognition of an
// original byok-relay database (whose tables must never be migrated over, only adopted).
#ifndef BYOK_SERVICES_VAULT_SQLITE_SCHEMA_H_
#define BYOK_SERVICES_VAULT_SQLITE_SCHEMA_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/vault/migration.h"
#include "services/vault/sqlite_db.h"

namespace byok::vault {

// The SQLite store's schema history (see migration.h).
const std::vector<Migration>& SqliteMigrations();

// Brings `db` up to the last of `migrations`, recording each in schema_migrations at `now`. A database
// of this vault from before schema_migrations existed (its version in PRAGMA user_version) has those
// versions recorded first. Also sets PRAGMA user_version, so a vault that only knows user_version
// refuses a newer schema. FailedPrecondition when the database is newer than `migrations`.
absl::Status ApplyMigrations(SqliteDb& db, const std::vector<Migration>& migrations, absl::Time now,
                             MigrationTransactions transactions);

// Returns the highest applied migration (0 for an empty database).
absl::StatusOr<int> AppliedSchemaVersion(SqliteDb& db);

// Returns true when table `name` exists.
absl::StatusOr<bool> TableExists(SqliteDb& db, absl::string_view name);

// Returns true when `db` holds an original byok-relay's tables (users and keys, §10.1 of compat.md, or
// their legacy variants) and none of this vault's.
absl::StatusOr<bool> HoldsOriginalSchema(SqliteDb& db);

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_SQLITE_SCHEMA_H_
