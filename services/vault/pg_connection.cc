#include "services/vault/pg_connection.h"

#include <libpq-fe.h>

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status.h"

namespace byok::vault {
namespace {

// Type OIDs of the parameters we send (pg_type.dat).
constexpr unsigned int kByteaOid = 17;
constexpr unsigned int kInt8Oid = 20;
constexpr unsigned int kTextOid = 25;

std::string Trimmed(const char* message) {
  return std::string(absl::StripTrailingAsciiWhitespace(message != nullptr ? message : ""));
}

// Maps a SQLSTATE (PostgreSQL's errcodes) onto the KeyStore's codes. The message is the primary one
// only: the DETAIL of a constraint violation repeats the row's values (a token hash, for instance).
absl::Status StatusFromSqlState(absl::string_view state, absl::string_view primary) {
  const std::string message = absl::StrCat("database: ", primary, " (SQLSTATE ", state, ")");
  if (state == "23505") return absl::AlreadyExistsError(message);
  if (state == "23503") return absl::NotFoundError(message);
  // Connection exceptions, statement timeout or cancel, server shutdown, serialization failures and
  // deadlocks, lock timeouts, insufficient resources: all may succeed when retried.
  if (absl::StartsWith(state, "08") || absl::StartsWith(state, "57") ||
      absl::StartsWith(state, "40") || absl::StartsWith(state, "53") || state == "55P03") {
    return absl::UnavailableError(message);
  }
  return absl::InternalError(message);
}

}  // namespace

bool IsPostgresUrl(absl::string_view location) {
  return absl::StartsWith(location, "postgres://") || absl::StartsWith(location, "postgresql://");
}

absl::Status CheckPostgresUrl(absl::string_view url) {
  if (!IsPostgresUrl(url)) {
    return absl::InvalidArgumentError("must start with postgres:// or postgresql://");
  }
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(std::string(url).c_str(), &error);
  if (options == nullptr) {
    if (error != nullptr) PQfreemem(error);
    return absl::InvalidArgumentError("is not a valid PostgreSQL connection URI");
  }
  PQconninfoFree(options);
  return absl::OkStatus();
}

PgParams& PgParams::Add(unsigned int type, std::string value, bool binary) {
  values_.push_back(std::move(value));
  types_.push_back(type);
  formats_.push_back(binary ? 1 : 0);
  nulls_.push_back(false);
  return *this;
}

PgParams& PgParams::Text(absl::string_view value) { return Add(kTextOid, std::string(value), false); }
PgParams& PgParams::Bytes(absl::string_view value) {
  return Add(kByteaOid, std::string(value), true);
}
PgParams& PgParams::Int(int64_t value) { return Add(kInt8Oid, absl::StrCat(value), false); }
PgParams& PgParams::Null() {
  Add(/*type inferred by the server*/ 0, "", false);
  nulls_.back() = true;
  return *this;
}

PgResult& PgResult::operator=(PgResult&& other) noexcept {
  if (this != &other) {
    if (result_ != nullptr) PQclear(result_);
    result_ = other.result_;
    other.result_ = nullptr;
  }
  return *this;
}

PgResult::~PgResult() {
  if (result_ != nullptr) PQclear(result_);
}

int PgResult::rows() const { return PQntuples(result_); }

int64_t PgResult::affected() const {
  int64_t n = 0;
  return absl::SimpleAtoi(PQcmdTuples(result_), &n) ? n : 0;
}

bool PgResult::IsNull(int row, int column) const { return PQgetisnull(result_, row, column) != 0; }

std::string PgResult::Text(int row, int column) const {
  return std::string(PQgetvalue(result_, row, column),
                     static_cast<size_t>(PQgetlength(result_, row, column)));
}

std::string PgResult::Bytes(int row, int column) const {
  size_t length = 0;
  unsigned char* bytes = PQunescapeBytea(
      reinterpret_cast<const unsigned char*>(PQgetvalue(result_, row, column)), &length);
  if (bytes == nullptr) return std::string();
  std::string out(reinterpret_cast<const char*>(bytes), length);
  PQfreemem(bytes);
  return out;
}

int64_t PgResult::Int(int row, int column) const {
  int64_t n = 0;
  if (IsNull(row, column)) return 0;
  // SUM() of bigint is numeric: whole numbers without a fraction part, which SimpleAtoi reads.
  return absl::SimpleAtoi(PQgetvalue(result_, row, column), &n) ? n : 0;
}

bool PgResult::Bool(int row, int column) const {
  return absl::string_view(PQgetvalue(result_, row, column)) == "t";
}

absl::StatusOr<std::unique_ptr<PgConnection>> PgConnection::Connect(const std::string& url,
                                                                     const PgTimeouts& timeouts) {
  // Ours come first: with expand_dbname the URL's own settings, expanded at "dbname", override them.
  const std::string connect_s = absl::StrCat(std::max<int64_t>(2, absl::ToInt64Seconds(timeouts.connect)));
  // A peer that stops answering mid-statement: the kernel gives up after this (libpq 12+).
  const std::string tcp_user_ms = absl::StrCat(absl::ToInt64Milliseconds(timeouts.statement) * 2);
  const char* keywords[] = {"connect_timeout", "tcp_user_timeout", "keepalives", "application_name",
                            "dbname", nullptr};
  const char* values[] = {connect_s.c_str(), tcp_user_ms.c_str(), "1", "byok-vaultd", url.c_str(),
                          nullptr};
  pg_conn* conn = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (conn == nullptr) return absl::ResourceExhaustedError("out of memory for a database connection");
  std::unique_ptr<PgConnection> c(new PgConnection(conn));
  // Notices (such as "already exists, skipping") are not errors; libpq would print them to stderr.
  PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
  if (PQstatus(conn) != CONNECTION_OK) {
    return absl::UnavailableError(
        absl::StrCat("cannot connect to the database: ", Trimmed(PQerrorMessage(conn))));
  }
  const std::string statement_ms = absl::StrCat(absl::ToInt64Milliseconds(timeouts.statement));
  // A transaction left open by a client that hangs must not hold its locks for long either.
  const std::string idle_ms = absl::StrCat(absl::ToInt64Milliseconds(timeouts.statement) * 6);
  BYOK_RETURN_IF_ERROR(c->Exec("SELECT set_config('statement_timeout', $1, false), "
                               "set_config('idle_in_transaction_session_timeout', $2, false)",
                               PgParams().Text(statement_ms).Text(idle_ms))
                           .status());
  return c;
}

PgConnection::~PgConnection() { PQfinish(conn_); }

absl::StatusOr<PgResult> PgConnection::Check(pg_result* raw) {
  PgResult result(raw);
  const ExecStatusType status = raw != nullptr ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
  const char* state = raw != nullptr ? PQresultErrorField(raw, PG_DIAG_SQLSTATE) : nullptr;
  if (state == nullptr || PQstatus(conn_) != CONNECTION_OK) {
    return absl::UnavailableError(
        absl::StrCat("database connection lost: ", Trimmed(PQerrorMessage(conn_))));
  }
  return StatusFromSqlState(state, Trimmed(PQresultErrorField(raw, PG_DIAG_MESSAGE_PRIMARY)));
}

absl::StatusOr<PgResult> PgConnection::Exec(const char* sql, const PgParams& params) {
  const size_t n = params.values_.size();
  std::vector<const char*> values(n);
  std::vector<int> lengths(n);
  for (size_t i = 0; i < n; ++i) {
    values[i] = params.nulls_[i] ? nullptr : params.values_[i].data();
    lengths[i] = static_cast<int>(params.values_[i].size());
  }
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    std::string name = absl::StrCat("s", prepared_.size());
    BYOK_RETURN_IF_ERROR(
        Check(PQprepare(conn_, name.c_str(), sql, static_cast<int>(n), params.types_.data())).status());
    it = prepared_.emplace(sql, std::move(name)).first;
  }
  return Check(PQexecPrepared(conn_, it->second.c_str(), static_cast<int>(n), values.data(),
                              lengths.data(), params.formats_.data(), /*resultFormat=*/0));
}

absl::Status PgConnection::ExecScript(const char* sql) { return Check(PQexec(conn_, sql)).status(); }

bool PgConnection::Reusable() const {
  return PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) == PQTRANS_IDLE;
}

PgTransaction::~PgTransaction() {
  if (open_) (void)conn_.Exec("ROLLBACK");
}

absl::Status PgTransaction::Begin(const char* begin) {
  BYOK_RETURN_IF_ERROR(conn_.Exec(begin).status());
  open_ = true;
  return absl::OkStatus();
}

absl::Status PgTransaction::Commit() {
  open_ = false;
  return conn_.Exec("COMMIT").status();
}

}  // namespace byok::vault
