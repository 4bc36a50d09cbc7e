// Reading an original byok-relay database (compat.md §10): its users, keys and request_logs tables as
// 1.5.1 creates them, or the legacy variants its start-up migrations (§10.4) would still upgrade.
// Read only: nothing here writes, except DropOriginalTables inside adoption's transaction.
#ifndef BYOK_SERVICES_VAULT_ORIGINAL_DB_H_
#define BYOK_SERVICES_VAULT_ORIGINAL_DB_H_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/crypto/original_key_cipher.h"
#include "services/vault/sqlite_db.h"

namespace byok::vault {

struct OriginalUser {
  std::string id;
  // Lower-case hex HMAC-SHA256 of the token; or, in the legacy variant, the plaintext token.
  std::string token_hash_hex;
  std::string plaintext_token;
  int token_hmac_version = 1;
  std::string app_id;
  int64_t created_at_ms = 0;
  std::optional<int64_t> expires_at_ms;
};

struct OriginalKey {
  std::string user_id;
  std::string provider;
  crypto::OriginalSealedKey sealed;
  int64_t created_at_ms = 0;
};

struct OriginalRequestLog {
  std::string user_id;
  std::string app_id;
  std::string provider;
  std::string model;  // empty when NULL
  int64_t status = 0;
  int64_t latency_ms = 0;
  int64_t created_at_ms = 0;
};

// Row counts, to tell whether the database changed between verification and adoption.
struct OriginalCounts {
  int64_t users = 0, keys = 0, request_logs = 0;
  friend bool operator==(const OriginalCounts& a, const OriginalCounts& b) {
    return a.users == b.users && a.keys == b.keys && a.request_logs == b.request_logs;
  }
};

struct OriginalData {
  std::vector<OriginalUser> users;
  std::vector<OriginalKey> keys;
  std::vector<OriginalRequestLog> request_logs;
  bool legacy_plaintext_tokens = false;  // users had the pre-hash `token` column
  OriginalCounts counts() const {
    return {static_cast<int64_t>(users.size()), static_cast<int64_t>(keys.size()),
            static_cast<int64_t>(request_logs.size())};
  }
};

// A read-only view of the database file as it is now, WAL included, that leaves the file's bytes
// alone: the main file opened immutable when no -wal beside it holds frames; otherwise a copy of the
// file and its -wal in a private temporary folder (removed with the snapshot).
class DatabaseSnapshot {
 public:
  // NotFound when there is no database file (or it is empty).
  static absl::StatusOr<std::unique_ptr<DatabaseSnapshot>> Open(const std::string& db_path);
  ~DatabaseSnapshot();
  DatabaseSnapshot(const DatabaseSnapshot&) = delete;
  DatabaseSnapshot& operator=(const DatabaseSnapshot&) = delete;

  SqliteDb& db() { return *db_; }

 private:
  DatabaseSnapshot() = default;
  std::unique_ptr<SqliteDb> db_;
  std::optional<std::filesystem::path> scratch_;
};

// Reads every row of the original's tables.
absl::StatusOr<OriginalData> ReadOriginal(SqliteDb& db);

// Counts the rows of the original's tables.
absl::StatusOr<OriginalCounts> CountOriginal(SqliteDb& db);

// Drops the original's tables and their indexes (inside the caller's transaction).
absl::Status DropOriginalTables(SqliteDb& db);

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_ORIGINAL_DB_H_
