// Which store the vault runs on: SQLite at a file path (the default, DB_PATH) or PostgreSQL at a
// connection URI (BYOK_VAULT_DATABASE_URL). The one place that tells the two apart by their location.
#ifndef BYOK_SERVICES_VAULT_KEY_STORE_FACTORY_H_
#define BYOK_SERVICES_VAULT_KEY_STORE_FACTORY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/vault/key_store.h"
#include "services/vault/pg_key_store.h"

namespace byok::vault {

// Opens the store at `location`: a postgres:// or postgresql:// URI opens PgKeyStore with `pg`, anything
// else is a SQLite file path (SqliteKeyStore). Either brings its schema up to date.
absl::StatusOr<std::unique_ptr<KeyStore>> OpenKeyStore(const std::string& location,
                                                       const PgKeyStore::Options& pg = {},
                                                       absl::Time now = absl::Now());

// Describes `location` for messages: the SQLite path as it is; a PostgreSQL URI as host, port and
// database only (never its user or password).
std::string DescribeStoreLocation(const std::string& location);

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_KEY_STORE_FACTORY_H_
