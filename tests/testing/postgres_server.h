// Test support: a real PostgreSQL 15 server (Debian's /usr/lib/postgresql/15/bin) in a temporary folder,
// listening on 127.0.0.1 on a free port with its unix socket in that folder, stopped when destroyed.
// Run as root (CI), the server runs as the `postgres` system user, the folder chowned to it.
//
// One server per test process (SharedPostgres, started on first use, stopped by a gtest Environment
// at the end), and a fresh database per test (FreshPostgresDatabase), so tests stay independent and
// cheap. Under ctest (BYOK_BIN_DIR set) the cluster is a copy of one initdb run kept in
// <build>/postgres-template, never started itself.
#ifndef BYOK_TESTS_TESTING_POSTGRES_SERVER_H_
#define BYOK_TESTS_TESTING_POSTGRES_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/testing/process.h"

namespace byok::testing {

class PostgresServer {
 public:
  // initdb, start, wait until it accepts connections (bounded). A port someone took meanwhile is
  // retried on another.
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start();

  // Fast shutdown (SIGINT), bounded; SIGKILL if it does not stop. The folder goes with it.
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  int port() const { return port_; }

  // postgresql://postgres@127.0.0.1:<port>/<database> (trust authentication on loopback).
  std::string Url(const std::string& database) const;

  // Creates an empty database (from template0) with a new name; returns its URL.
  absl::StatusOr<std::string> CreateDatabase();

  // Runs `sql` (no parameters; the test's own text) on the database at `url`.
  static absl::Status Exec(const std::string& url, const std::string& sql);

  // The server's log so far, for failure messages.
  std::string Logs() const;

  // Kills the server at once (SIGKILL), for tests of a database that went away.
  void Kill();

 private:
  PostgresServer() = default;
  absl::Status Launch();

  TempDir dir_;
  pid_t pid_ = -1;
  int port_ = 0;
  int databases_ = 0;
};

// The test process's server, started on the first call; OK or why it could not start. Call it first
// from the main thread (a test's SetUp): the server is told to quit when the thread that started it
// ends, so that no server outlives a crashed test.
absl::StatusOr<PostgresServer*> SharedPostgres();

// A fresh database on the shared server; returns its URL.
absl::StatusOr<std::string> FreshPostgresDatabase();

}  // namespace byok::testing

#endif  // BYOK_TESTS_TESTING_POSTGRES_SERVER_H_
