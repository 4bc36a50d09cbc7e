#include "tests/testing/postgres_server.h"

#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace byok::testing {
namespace {

constexpr char kBinDir[] = "/usr/lib/postgresql/15/bin";
constexpr absl::Duration kInitdbTimeout = absl::Seconds(60);
constexpr absl::Duration kReadyTimeout = absl::Seconds(30);
constexpr absl::Duration kStopTimeout = absl::Seconds(10);
constexpr absl::Duration kPoll = absl::Milliseconds(10);
constexpr int kPortAttempts = 3;

// Who the server runs as: PostgreSQL refuses root, so as root it is the `postgres` system user.
struct Identity {
  bool drop = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

absl::StatusOr<Identity> ServerIdentity() {
  Identity who;
  if (::geteuid() != 0) return who;
  struct passwd* pw = ::getpwnam("postgres");
  if (pw == nullptr) {
    return absl::FailedPreconditionError(
        "running as root, but there is no `postgres` system user to run PostgreSQL as");
  }
  who.drop = true;
  who.uid = pw->pw_uid;
  who.gid = pw->pw_gid;
  return who;
}

// Starts `argv` as `who` with stdout and stderr on `out_fd`. The child gets SIGQUIT (PostgreSQL's
// immediate shutdown) when the test process dies, so no server outlives a crashed test. (runuser is
// not used: it does not pass SIGINT on, and the fixture needs the server's own pid for a fast stop.)
absl::StatusOr<pid_t> Spawn(const Identity& who, std::vector<std::string> args, int out_fd) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string path_env = "PATH=/usr/bin:/bin";
  std::string lc_env = "LC_ALL=C";
  char* envp[] = {path_env.data(), lc_env.data(), nullptr};
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    sigset_t all;
    sigfillset(&all);
    ::sigprocmask(SIG_UNBLOCK, &all, nullptr);
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(out_fd, STDERR_FILENO);
    ::close_range(3, ~0U, 0);
    if (who.drop) {
      if (::setgroups(1, &who.gid) != 0 || ::setgid(who.gid) != 0 || ::setuid(who.uid) != 0) {
        ::_exit(126);
      }
    }
    // After the identity change, which clears it.
    ::prctl(PR_SET_PDEATHSIG, SIGQUIT);
    if (::getppid() != parent) ::_exit(1);
    ::execve(argv[0], argv.data(), envp);
    ::_exit(127);
  }
  return pid;
}

// Waits up to `timeout` for `pid` to exit; returns its wait status, or nullopt while it still runs.
std::optional<int> WaitExit(pid_t pid, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return status;
    if (absl::Now() >= deadline) return std::nullopt;
    absl::SleepFor(kPoll);
  }
}

int OpenLog(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

// Runs `args` as `who` to completion (bounded), its output in `log_path`.
absl::Status RunToEnd(const Identity& who, std::vector<std::string> args, const std::string& log_path) {
  const int log = OpenLog(log_path);
  if (log < 0) return absl::InternalError(absl::StrCat("cannot create ", log_path));
  const std::string name = args.front();
  absl::StatusOr<pid_t> pid = Spawn(who, std::move(args), log);
  ::close(log);
  if (!pid.ok()) return pid.status();
  std::optional<int> status = WaitExit(*pid, kInitdbTimeout);
  if (!status.has_value()) {
    ::kill(*pid, SIGKILL);
    ::waitpid(*pid, nullptr, 0);
    return absl::DeadlineExceededError(absl::StrCat(name, " did not finish in time"));
  }
  if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    return absl::InternalError(absl::StrCat(name, " failed: ", ReadFile(log_path)));
  }
  return absl::OkStatus();
}

// A fresh cluster at `data`. Trust on loopback only (the folder's socket and 127.0.0.1); no fsync: the
// data is thrown away.
absl::Status InitDb(const Identity& who, const std::string& data, const std::string& log_path) {
  return RunToEnd(who,
                  {absl::StrCat(kBinDir, "/initdb"), "-D", data, "-A", "trust", "-U", "postgres", "-E",
                   "UTF8", "--locale=C", "--no-sync", "--no-instructions"},
                  log_path);
}

absl::Status HandOver(const Identity& who, const std::string& path) {
  if (who.drop && ::chown(path.c_str(), who.uid, who.gid) != 0) {
    return absl::InternalError(absl::StrCat("cannot hand ", path, " to the postgres user"));
  }
  return absl::OkStatus();
}

// initdb costs seconds of CPU and every test process starts a server: the first process of a build
// runs it once into <build>/postgres-template (never started, under a file lock), and every server
// starts from a copy. Without BYOK_BIN_DIR (a test run by hand) each server runs initdb itself.
absl::Status MakeCluster(const Identity& who, const std::string& data, const std::string& folder) {
  const char* bin_dir = std::getenv("BYOK_BIN_DIR");
  if (bin_dir == nullptr) return InitDb(who, data, folder + "/initdb.log");
  const std::string root = absl::StrCat(bin_dir, "/../postgres-template");
  const std::string cached = root + "/data";
  {
    std::error_code ignored;
    std::filesystem::create_directories(root, ignored);
    if (absl::Status s = HandOver(who, root); !s.ok()) return s;
    const int lock = ::open((root + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock < 0) return absl::InternalError("cannot open the template lock");
    ::flock(lock, LOCK_EX);
    absl::Status made;
    if (!std::filesystem::exists(cached + "/PG_VERSION", ignored)) {
      const std::string partial = root + "/data.partial";
      std::filesystem::remove_all(partial, ignored);
      made = InitDb(who, partial, folder + "/initdb.log");
      std::error_code renamed;
      if (made.ok()) std::filesystem::rename(partial, cached, renamed);
      if (made.ok() && renamed) made = absl::InternalError("cannot put the template in place");
    }
    ::close(lock);  // releases the lock
    if (!made.ok()) return made;
  }
  return RunToEnd(who, {"/bin/cp", "-a", cached, data}, folder + "/copy.log");
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Start() {
  std::unique_ptr<PostgresServer> server(new PostgresServer());
  absl::StatusOr<Identity> who = ServerIdentity();
  if (!who.ok()) return who.status();
  if (absl::Status s = HandOver(*who, server->dir_.path()); !s.ok()) return s;
  if (absl::Status s = MakeCluster(*who, server->dir_.path() + "/data", server->dir_.path()); !s.ok()) {
    return s;
  }
  absl::Status launched;
  for (int attempt = 0; attempt < kPortAttempts; ++attempt) {
    launched = server->Launch();
    if (launched.ok()) return server;
  }
  return launched;
}

absl::Status PostgresServer::Launch() {
  absl::StatusOr<Identity> who = ServerIdentity();
  if (!who.ok()) return who.status();
  port_ = PickUnusedPort();
  const int log = OpenLog(dir_.path() + "/postgres.log");
  if (log < 0) return absl::InternalError("cannot create the server log");
  absl::StatusOr<pid_t> pid = Spawn(
      *who,
      {absl::StrCat(kBinDir, "/postgres"), "-D", dir_.path() + "/data", "-p", absl::StrCat(port_), "-k",
       dir_.path(), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c",
       "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200", "-c",
       "shared_buffers=32MB"},
      log);
  ::close(log);
  if (!pid.ok()) return pid.status();
  pid_ = *pid;
  const std::string ping =
      absl::StrCat("host=127.0.0.1 port=", port_, " user=postgres dbname=postgres connect_timeout=2");
  const absl::Time deadline = absl::Now() + kReadyTimeout;
  while (absl::Now() < deadline) {
    if (PQping(ping.c_str()) == PQPING_OK) return absl::OkStatus();
    if (std::optional<int> exited = WaitExit(pid_, absl::ZeroDuration()); exited.has_value()) {
      pid_ = -1;
      return absl::UnavailableError(absl::StrCat("postgres exited at start: ", Logs()));
    }
    absl::SleepFor(kPoll);
  }
  Kill();
  return absl::DeadlineExceededError(absl::StrCat("postgres did not accept connections: ", Logs()));
}

PostgresServer::~PostgresServer() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGINT);  // fast shutdown: clients are disconnected, nothing is waited for
  if (!WaitExit(pid_, kStopTimeout).has_value()) Kill();
  pid_ = -1;
}

void PostgresServer::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

std::string PostgresServer::Url(const std::string& database) const {
  return absl::StrCat("postgresql://postgres@127.0.0.1:", port_, "/", database);
}

std::string PostgresServer::Logs() const { return ReadFile(dir_.path() + "/postgres.log"); }

absl::StatusOr<std::string> PostgresServer::CreateDatabase() {
  const std::string name = absl::StrCat("test_", ++databases_);
  if (absl::Status s = Exec(Url("postgres"), absl::StrCat("CREATE DATABASE ", name, " TEMPLATE template0"));
      !s.ok()) {
    return s;
  }
  return Url(name);
}

absl::Status PostgresServer::Exec(const std::string& url, const std::string& sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  absl::Status status;
  if (PQstatus(conn) != CONNECTION_OK) {
    status = absl::UnavailableError(absl::StrCat("cannot connect: ", PQerrorMessage(conn)));
  } else {
    PGresult* result = PQexec(conn, sql.c_str());
    const ExecStatusType st = PQresultStatus(result);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      status = absl::InternalError(absl::StrCat(sql, ": ", PQresultErrorMessage(result)));
    }
    PQclear(result);
  }
  PQfinish(conn);
  return status;
}

namespace {

absl::Mutex shared_mu(absl::kConstInit);
PostgresServer* shared_server ABSL_GUARDED_BY(shared_mu) = nullptr;

// Stops the shared server after the last test of the process.
class PostgresEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    absl::MutexLock lock(&shared_mu);
    delete shared_server;
    shared_server = nullptr;
  }
};

::testing::Environment* const postgres_environment =
    ::testing::AddGlobalTestEnvironment(new PostgresEnvironment);

}  // namespace

absl::StatusOr<PostgresServer*> SharedPostgres() {
  absl::MutexLock lock(&shared_mu);
  if (shared_server == nullptr) {
    absl::StatusOr<std::unique_ptr<PostgresServer>> started = PostgresServer::Start();
    if (!started.ok()) return started.status();
    shared_server = started->release();
  }
  return shared_server;
}

absl::StatusOr<std::string> FreshPostgresDatabase() {
  absl::StatusOr<PostgresServer*> server = SharedPostgres();
  if (!server.ok()) return server.status();
  absl::MutexLock lock(&shared_mu);
  return (*server)->CreateDatabase();
}

}  // namespace byok::testing
