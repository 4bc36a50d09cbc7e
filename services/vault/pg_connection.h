// A thin layer over libpq: one connection with bounded waits, parameterised statements only, results
// read by row and column, and SQLSTATE mapped onto the KeyStore's status codes (key_store.h). Not
// thread-safe by itself: a connection is used by one thread at a time (PgPool leases it).
#ifndef BYOK_SERVICES_VAULT_PG_CONNECTION_H_
#define BYOK_SERVICES_VAULT_PG_CONNECTION_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

struct pg_conn;
struct pg_result;

namespace byok::vault {

// Returns true when `location` is a PostgreSQL connection URI (postgres:// or postgresql://).
bool IsPostgresUrl(absl::string_view location);

// Checks that `url` parses as a libpq connection URI. The error never repeats the URL (it may hold a
// password).
absl::Status CheckPostgresUrl(absl::string_view url);

// How long database work may take. The URL's own connect_timeout (and any libpq setting) wins over
// connect_timeout here; statement_timeout is set on every new connection.
struct PgTimeouts {
  absl::Duration connect = absl::Seconds(5);
  absl::Duration statement = absl::Seconds(5);
};

// The parameters of one statement, each sent separately from the SQL text (never spliced into it).
class PgParams {
 public:
  PgParams& Text(absl::string_view value);
  PgParams& Bytes(absl::string_view value);  // bytea, sent in binary
  PgParams& Int(int64_t value);
  PgParams& Null();

 private:
  friend class PgConnection;
  PgParams& Add(unsigned int type, std::string value, bool binary);
  std::vector<std::string> values_;
  std::vector<unsigned int> types_;
  std::vector<int> formats_;
  std::vector<bool> nulls_;
};

// One statement's result. Move-only; frees the libpq result on destruction.
class PgResult {
 public:
  explicit PgResult(pg_result* result) : result_(result) {}
  PgResult(PgResult&& other) noexcept : result_(other.result_) { other.result_ = nullptr; }
  PgResult& operator=(PgResult&& other) noexcept;
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;
  ~PgResult();

  int rows() const;
  // Rows changed by INSERT, UPDATE or DELETE.
  int64_t affected() const;
  bool IsNull(int row, int column) const;
  std::string Text(int row, int column) const;
  std::string Bytes(int row, int column) const;  // a bytea column, decoded
  int64_t Int(int row, int column) const;        // 0 for NULL
  bool Bool(int row, int column) const;

 private:
  pg_result* result_;
};

// One connection to the database.
class PgConnection {
 public:
  // Connects to `url` (libpq URI; sslmode and every other libpq setting pass through) and sets the
  // statement timeout. Unavailable when the server cannot be reached in time.
  static absl::StatusOr<std::unique_ptr<PgConnection>> Connect(const std::string& url,
                                                               const PgTimeouts& timeouts);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs one statement with parameters ($1, $2, ...), prepared on this connection the first time its
  // text is seen (the text is the caller's constant; a value's type is fixed by its first use). Errors: AlreadyExists (unique violation),
  // NotFound (foreign key violation), Unavailable (connection lost, timeout, serialization failure,
  // server shutting down or out of resources), Internal otherwise.
  absl::StatusOr<PgResult> Exec(const char* sql, const PgParams& params = PgParams());
  // Runs fixed SQL of one or more statements with no parameters (schema migrations).
  absl::Status ExecScript(const char* sql);

  // True while the connection is usable and outside any transaction (fit to go back to a pool).
  bool Reusable() const;

 private:
  explicit PgConnection(pg_conn* conn) : conn_(conn) {}
  absl::StatusOr<PgResult> Check(pg_result* result);
  pg_conn* conn_;
  // Statements prepared on this connection: SQL text -> statement name.
  absl::flat_hash_map<std::string, std::string> prepared_;
};

// A transaction on one connection: BEGIN on Begin, ROLLBACK on destruction unless committed.
class PgTransaction {
 public:
  explicit PgTransaction(PgConnection& conn) : conn_(conn) {}
  PgTransaction(const PgTransaction&) = delete;
  PgTransaction& operator=(const PgTransaction&) = delete;
  ~PgTransaction();

  // `begin` may set an isolation level ("BEGIN ISOLATION LEVEL REPEATABLE READ").
  absl::Status Begin(const char* begin = "BEGIN");
  absl::Status Commit();

 private:
  PgConnection& conn_;
  bool open_ = false;
};

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_PG_CONNECTION_H_
