// Schema migrations, the same rule for every store: numbered from 1 without gaps, applied in order on
// start, each inside its own transaction together with its row in the schema_migrations table
// (version, name, applied_at in ms), so a crash leaves the schema at a whole version. A shipped
// migration is never edited: a change is a new migration. A store whose schema_migrations names a
// version it does not know refuses to open (a newer vault wrote it).
#ifndef BYOK_SERVICES_VAULT_MIGRATION_H_
#define BYOK_SERVICES_VAULT_MIGRATION_H_

#include <vector>

namespace byok::vault {

// One step of a store's schema history, in that store's SQL dialect.
struct Migration {
  int version;       // 1, 2, 3, ... in order
  const char* name;  // what it does, for schema_migrations and diagnostics
  const char* sql;   // one or more statements
};

// How migrations are applied: each in its own transaction (a normal start), or all inside a transaction
// the caller holds (adoption replaces an original database's tables and creates ours at once).
enum class MigrationTransactions { kOwn, kCallers };

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_MIGRATION_H_
