// A thin layer over one SQLite connection: opening with private file permissions, pragmas, a cache of
// prepared statements, and status mapping (migrations: sqlite_schema.h). Not thread-safe by itself: the owner
// serialises access (SqliteKeyStore holds a mutex around every use).
#ifndef BYOK_SERVICES_VAULT_SQLITE_DB_H_
#define BYOK_SERVICES_VAULT_SQLITE_DB_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct sqlite3;
struct sqlite3_stmt;

namespace byok::vault {

// One step of a prepared statement's life: bind, step, read columns. Resets the statement and clears
// its bindings on destruction, so the cached statement is ready for the next use and holds no copy of
// bound values. Move-only; valid while its SqliteDb lives.
class SqliteStatement {
 public:
  SqliteStatement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  SqliteStatement(SqliteStatement&& other) noexcept : db_(other.db_), stmt_(other.stmt_) {
    other.stmt_ = nullptr;
  }
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;
  SqliteStatement& operator=(SqliteStatement&&) = delete;
  ~SqliteStatement();

  // Binds parameter `index` (1-based). Text and blobs are copied by SQLite.
  SqliteStatement& BindText(int index, absl::string_view text);
  SqliteStatement& BindBlob(int index, absl::string_view bytes);
  SqliteStatement& BindInt64(int index, int64_t value);
  SqliteStatement& BindNull(int index);

  // Advances one row: true when a row is available, false when done.
  absl::StatusOr<bool> Step();
  // Steps to completion (statements that return no rows).
  absl::Status Run();

  // Read column `index` (0-based) of the current row.
  std::string ColumnText(int index) const;
  std::string ColumnBlob(int index) const;
  int64_t ColumnInt64(int index) const;
  bool ColumnIsNull(int index) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

// One SQLite connection. Thread-compatible: callers serialise all use.
class SqliteDb {
 public:
  // Opens (creating when missing) the database at `path`. For a file path, creates the parent folder
  // (0700) when missing and the database, -wal and -shm files readable by the owner only (0600).
  // Sets WAL mode, a busy timeout, foreign keys and secure delete.
  static absl::StatusOr<std::unique_ptr<SqliteDb>> Open(const std::string& path, int busy_timeout_ms);

  // Opens the file at `path` read-only as immutable: nothing is written (no -wal or -shm is created,
  // no journal is replayed), so its bytes stay as they are. Reads the main file only: a database
  // with a non-empty -wal must be copied first. NotFound when the file does not exist.
  static absl::StatusOr<std::unique_ptr<SqliteDb>> OpenImmutable(const std::string& path);

  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;
  ~SqliteDb();

  // Runs one or more statements that return no rows.
  absl::Status Exec(const char* sql);

  // Returns the prepared statement for `sql`, preparing it on first use and reusing it afterwards.
  absl::StatusOr<SqliteStatement> Prepare(const char* sql);

  // Rows changed by the last INSERT, UPDATE or DELETE.
  int64_t Changes() const;
  // The rowid of the last successful INSERT.
  int64_t LastInsertRowId() const;

  // Returns the schema version (PRAGMA user_version).
  absl::StatusOr<int> SchemaVersion();

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}

  sqlite3* db_;
  absl::flat_hash_map<std::string, sqlite3_stmt*> statements_;  // by SQL text
};

// Maps a SQLite result code to a status: busy, locked, I/O and capacity errors are Unavailable (retry),
// constraint violations AlreadyExists (NotFound for a foreign key), the rest Internal.
absl::Status SqliteError(sqlite3* db, int code, absl::string_view what);

// Runs BEGIN IMMEDIATE on construction and ROLLBACK on destruction unless Commit() succeeded.
class SqliteTransaction {
 public:
  explicit SqliteTransaction(SqliteDb& db) : db_(db) {}
  SqliteTransaction(const SqliteTransaction&) = delete;
  SqliteTransaction& operator=(const SqliteTransaction&) = delete;
  ~SqliteTransaction();
  // Starts the transaction.
  absl::Status Begin();
  // Commits it.
  absl::Status Commit();

 private:
  SqliteDb& db_;
  bool open_ = false;
};

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_SQLITE_DB_H_
