#include "services/vault/original_db.h"

#include <stdlib.h>

#include <set>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "services/vault/sqlite_schema.h"

namespace byok::vault {
namespace {

namespace fs = std::filesystem;

// A std::set: a table has a handful of columns, and GCC 12 at -O3 reports a false
// -Wfree-nonheap-object in Abseil's flat_hash_set moved out of a StatusOr here.
absl::StatusOr<std::set<std::string>> Columns(SqliteDb& db, const char* table) {
  // PRAGMA takes no bound parameters; `table` is one of our own literals.
  BYOK_ASSIGN_OR_RETURN(SqliteStatement s, db.Prepare(absl::StrCat("PRAGMA table_info(", table, ")")
                                                          .c_str()));
  std::set<std::string> columns;
  while (true) {
    BYOK_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    columns.insert(s.ColumnText(1));
  }
  return columns;
}

absl::StatusOr<int64_t> Count(SqliteDb& db, const char* table) {
  BYOK_ASSIGN_OR_RETURN(bool exists, TableExists(db, table));
  if (!exists) return 0;
  BYOK_ASSIGN_OR_RETURN(SqliteStatement s,
                        db.Prepare(absl::StrCat("SELECT COUNT(*) FROM ", table).c_str()));
  BYOK_ASSIGN_OR_RETURN(bool row, s.Step());
  return row ? s.ColumnInt64(0) : 0;
}

absl::Status ReadUsers(SqliteDb& db, OriginalData& data) {
  BYOK_ASSIGN_OR_RETURN(std::set<std::string> columns, Columns(db, "users"));
  const bool hashed = columns.contains("token_hash");
  if (!hashed && !columns.contains("token")) {
    return absl::FailedPreconditionError("the original's users table has neither token_hash nor token");
  }
  data.legacy_plaintext_tokens = !hashed;
  // Column names below are our own literals, chosen by what the table has (§10.4).
  const std::string sql = absl::StrCat(
      "SELECT id, ", hashed ? "token_hash" : "token", ", ",
      columns.contains("token_hmac_version") ? "token_hmac_version" : "1", ", app_id, created_at, ",
      columns.contains("expires_at") ? "expires_at" : "NULL", " FROM users ORDER BY created_at, id");
  BYOK_ASSIGN_OR_RETURN(SqliteStatement s, db.Prepare(sql.c_str()));
  while (true) {
    BYOK_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    OriginalUser u;
    u.id = s.ColumnText(0);
    (hashed ? u.token_hash_hex : u.plaintext_token) = s.ColumnText(1);
    u.token_hmac_version = static_cast<int>(s.ColumnInt64(2));
    u.app_id = s.ColumnText(3);
    u.created_at_ms = s.ColumnInt64(4);
    if (!s.ColumnIsNull(5)) u.expires_at_ms = s.ColumnInt64(5);
    data.users.push_back(std::move(u));
  }
  return absl::OkStatus();
}

absl::Status ReadKeys(SqliteDb& db, OriginalData& data) {
  BYOK_ASSIGN_OR_RETURN(std::set<std::string> columns, Columns(db, "keys"));
  const std::string sql = absl::StrCat(
      "SELECT user_id, provider, encrypted_key, iv, auth_tag, ",
      columns.contains("created_at") ? "created_at" : "0", " FROM keys ORDER BY user_id, provider");
  BYOK_ASSIGN_OR_RETURN(SqliteStatement s, db.Prepare(sql.c_str()));
  while (true) {
    BYOK_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    OriginalKey k;
    k.user_id = s.ColumnText(0);
    k.provider = s.ColumnText(1);
    k.sealed = {s.ColumnText(2), s.ColumnText(3), s.ColumnText(4)};
    k.created_at_ms = s.ColumnInt64(5);
    data.keys.push_back(std::move(k));
  }
  return absl::OkStatus();
}

absl::Status ReadRequestLogs(SqliteDb& db, OriginalData& data) {
  BYOK_ASSIGN_OR_RETURN(bool exists, TableExists(db, "request_logs"));
  if (!exists) return absl::OkStatus();
  BYOK_ASSIGN_OR_RETURN(
      SqliteStatement s,
      db.Prepare("SELECT user_id, app_id, provider, model, status, "
                 "CAST(ROUND(latency_ms) AS INTEGER), created_at FROM request_logs "
                 "ORDER BY created_at, id"));
  while (true) {
    BYOK_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    OriginalRequestLog r;
    r.user_id = s.ColumnText(0);
    r.app_id = s.ColumnText(1);
    r.provider = s.ColumnText(2);
    r.model = s.ColumnText(3);
    r.status = s.ColumnInt64(4);
    r.latency_ms = s.ColumnInt64(5);
    r.created_at_ms = s.ColumnInt64(6);
    data.request_logs.push_back(std::move(r));
  }
  return absl::OkStatus();
}

bool HasFrames(const fs::path& wal) {
  std::error_code ec;
  const uintmax_t size = fs::file_size(wal, ec);
  return !ec && size > 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<DatabaseSnapshot>> DatabaseSnapshot::Open(const std::string& db_path) {
  std::error_code ec;
  const fs::path file(db_path);
  const fs::path wal(db_path + "-wal");
  // A database never checkpointed has an empty main file and everything in its -wal.
  if (!fs::is_regular_file(file, ec) || (fs::file_size(file, ec) == 0 && !HasFrames(wal))) {
    return absl::NotFoundError("no database file");
  }
  std::unique_ptr<DatabaseSnapshot> snapshot(new DatabaseSnapshot());
  if (!HasFrames(wal)) {
    BYOK_ASSIGN_OR_RETURN(snapshot->db_, SqliteDb::OpenImmutable(db_path));
    return snapshot;
  }
  // Frames in the -wal belong to the database: read them from a private copy, so the original file
  // is never checkpointed or otherwise touched.
  std::string scratch = (fs::temp_directory_path(ec) / "byok-adopt-XXXXXX").string();
  if (ec || ::mkdtemp(scratch.data()) == nullptr) {
    return absl::UnavailableError("cannot create a private temporary folder to read the database");
  }
  snapshot->scratch_ = fs::path(scratch);
  const fs::path copy = *snapshot->scratch_ / "relay.db";
  fs::copy_file(file, copy, ec);
  if (!ec) fs::copy_file(wal, copy.string() + "-wal", ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot copy the database to read it: ", ec.message()));
  BYOK_ASSIGN_OR_RETURN(snapshot->db_, SqliteDb::Open(copy.string(), 5000));
  return snapshot;
}

DatabaseSnapshot::~DatabaseSnapshot() {
  db_.reset();
  if (scratch_.has_value()) {
    std::error_code ec;
    fs::remove_all(*scratch_, ec);
  }
}

absl::StatusOr<OriginalData> ReadOriginal(SqliteDb& db) {
  OriginalData data;
  BYOK_RETURN_IF_ERROR(ReadUsers(db, data));
  BYOK_RETURN_IF_ERROR(ReadKeys(db, data));
  BYOK_RETURN_IF_ERROR(ReadRequestLogs(db, data));
  return data;
}

absl::StatusOr<OriginalCounts> CountOriginal(SqliteDb& db) {
  OriginalCounts counts;
  BYOK_ASSIGN_OR_RETURN(counts.users, Count(db, "users"));
  BYOK_ASSIGN_OR_RETURN(counts.keys, Count(db, "keys"));
  BYOK_ASSIGN_OR_RETURN(counts.request_logs, Count(db, "request_logs"));
  return counts;
}

absl::Status DropOriginalTables(SqliteDb& db) {
  // Indexes go with their tables.
  return db.Exec("DROP TABLE IF EXISTS keys; DROP TABLE IF EXISTS request_logs; "
                 "DROP TABLE IF EXISTS users;");
}

}  // namespace byok::vault
