#include "services/vault/key_store_factory.h"

#include <libpq-fe.h>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "services/vault/pg_connection.h"
#include "services/vault/sqlite_key_store.h"

namespace byok::vault {

absl::StatusOr<std::unique_ptr<KeyStore>> OpenKeyStore(const std::string& location,
                                                       const PgKeyStore::Options& pg, absl::Time now) {
  if (IsPostgresUrl(location)) {
    BYOK_ASSIGN_OR_RETURN(std::unique_ptr<PgKeyStore> store, PgKeyStore::Open(location, pg, now));
    return std::unique_ptr<KeyStore>(std::move(store));
  }
  BYOK_ASSIGN_OR_RETURN(std::unique_ptr<SqliteKeyStore> store, SqliteKeyStore::Open(location, now));
  return std::unique_ptr<KeyStore>(std::move(store));
}

std::string DescribeStoreLocation(const std::string& location) {
  if (!IsPostgresUrl(location)) return absl::StrCat("SQLite ", location);
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(location.c_str(), &error);
  if (options == nullptr) {
    if (error != nullptr) PQfreemem(error);
    return "PostgreSQL (an unparsable URI)";
  }
  std::string host, port, dbname;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    const std::string value = o->val != nullptr ? o->val : "";
    const std::string keyword = o->keyword;
    if (keyword == "host") host = value;
    if (keyword == "port") port = value;
    if (keyword == "dbname") dbname = value;
  }
  PQconninfoFree(options);
  return absl::StrCat("PostgreSQL ", host.empty() ? "localhost" : host, port.empty() ? "" : ":", port,
                      "/", dbname);
}

}  // namespace byok::vault
