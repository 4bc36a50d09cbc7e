// The PostgreSQL store's own behaviour, beyond what every store does (store_behaviour_test.cc): replicas
// starting at once, a newer schema, the purge lock, bounded waits (connect, statement, pool), recovery
// from dropped connections, errors that name no row's values, and its configuration.
#include "services/vault/pg_key_store.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/vault/pg_pool.h"
#include "services/vault/pg_schema.h"
#include "services/vault/vault_config.h"
#include "tests/testing/postgres_server.h"
#include "tests/testing/status_matchers.h"
#include "tests/vault/store_records.h"

namespace byok::vault {
namespace {

using ::byok::testing::FreshPostgresDatabase;
using ::byok::testing::IsOk;
using ::byok::testing::PostgresServer;
using ::byok::testing::StatusIs;
using ::byok::vault::testing::Key;
using ::byok::vault::testing::kT0;
using ::byok::vault::testing::User;

class PgKeyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> url = FreshPostgresDatabase();
    ASSERT_THAT(url, IsOk());
    url_ = *url;
  }

  std::unique_ptr<PgKeyStore> Open(PgKeyStore::Options options = {}) {
    absl::StatusOr<std::unique_ptr<PgKeyStore>> store = PgKeyStore::Open(url_, options);
    EXPECT_THAT(store, IsOk());
    return store.ok() ? *std::move(store) : nullptr;
  }

  // A connection of the test's own, standing in for another replica or an operator.
  std::unique_ptr<PgConnection> Connect() {
    absl::StatusOr<std::unique_ptr<PgConnection>> conn = PgConnection::Connect(url_, PgTimeouts());
    EXPECT_THAT(conn, IsOk());
    return conn.ok() ? *std::move(conn) : nullptr;
  }

  std::string url_;
};

TEST_F(PgKeyStoreTest, ReplicasStartingAtOnceMigrateOnce) {
  constexpr int kReplicas = 6;
  std::vector<std::unique_ptr<PgKeyStore>> stores(kReplicas);
  std::vector<std::thread> starts;
  for (int i = 0; i < kReplicas; ++i) {
    starts.emplace_back([this, &stores, i] {
      absl::StatusOr<std::unique_ptr<PgKeyStore>> s = PgKeyStore::Open(url_, {});
      EXPECT_THAT(s, IsOk());
      if (s.ok()) stores[i] = *std::move(s);
    });
  }
  for (std::thread& t : starts) t.join();
  for (const auto& s : stores) {
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(*s->SchemaVersion(), static_cast<int>(PgMigrations().size()));
  }
  std::unique_ptr<PgConnection> conn = Connect();
  absl::StatusOr<PgResult> rows = conn->Exec("SELECT COUNT(*), MIN(version) FROM schema_migrations");
  ASSERT_THAT(rows, IsOk());
  EXPECT_EQ(rows->Int(0, 0), static_cast<int64_t>(PgMigrations().size()));
  EXPECT_EQ(rows->Int(0, 1), 1);
  // Every replica works on the one schema.
  ASSERT_THAT(stores[0]->CreateUser(User("u1")), IsOk());
  EXPECT_THAT(stores[kReplicas - 1]->FindUserById("u1"), IsOk());
}

// A database of the vault before the audit trail (schema version 1): it opens, keeps its rows and
// gains the audit_events table (migration 2).
TEST_F(PgKeyStoreTest, AVersion1DatabaseGainsTheAuditTrail) {
  {
    std::unique_ptr<PgConnection> conn = Connect();
    ASSERT_NE(conn, nullptr);
    const std::vector<Migration> before_audit(PgMigrations().begin(), PgMigrations().begin() + 1);
    ASSERT_THAT(ApplyPgMigrations(*conn, before_audit, kT0), IsOk());
    absl::StatusOr<PgResult> table = conn->Exec("SELECT to_regclass('audit_events') IS NULL");
    ASSERT_THAT(table, IsOk());
    EXPECT_TRUE(table->Bool(0, 0));
    ASSERT_THAT(conn->Exec("INSERT INTO users (id, app_id, token_hash, created_at) "
                           "VALUES ('live', 'app', '\\x01', 1000)"),
                IsOk());
  }
  std::unique_ptr<PgKeyStore> store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(*store->SchemaVersion(), 2);
  EXPECT_THAT(store->FindUserById("live"), IsOk());
  AuditRecord event;
  event.time = kT0;
  event.action = 2;
  event.user_id = "live";
  event.outcome = "OK";
  ASSERT_THAT(store->AppendAuditEvent(event), IsOk());
  absl::StatusOr<std::vector<AuditRecord>> events = store->ListAuditEvents({});
  ASSERT_THAT(events, IsOk());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].user_id, "live");
}

TEST_F(PgKeyStoreTest, RefusesASchemaNewerThanItKnows) {
  ASSERT_NE(Open(), nullptr);
  ASSERT_THAT(PostgresServer::Exec(url_, "INSERT INTO schema_migrations VALUES (99, 'future', 0)"),
              IsOk());
  absl::StatusOr<std::unique_ptr<PgKeyStore>> store = PgKeyStore::Open(url_, {});
  EXPECT_THAT(store, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(store.status().message(), ::testing::HasSubstr("version 99"));
}

TEST_F(PgKeyStoreTest, PurgeRunsOnOneReplicaAtATime) {
  std::unique_ptr<PgKeyStore> a = Open();
  std::unique_ptr<PgKeyStore> b = Open();
  UserRecord expired = User("old");
  expired.expires_at = kT0;
  ASSERT_THAT(a->CreateUser(expired), IsOk());
  // Another replica is purging (it holds the purge lock): this one leaves the rows to it.
  std::unique_ptr<PgConnection> other = Connect();
  ASSERT_THAT(other->Exec("SELECT pg_advisory_lock($1)", PgParams().Int(kPgPurgeLock)), IsOk());
  EXPECT_EQ(*a->PurgeUsers(kT0 + absl::Hours(1)), 0);
  EXPECT_EQ(*b->PurgeUsers(kT0 + absl::Hours(1)), 0);
  EXPECT_THAT(b->FindUserById("old"), IsOk());
  ASSERT_THAT(other->Exec("SELECT pg_advisory_unlock($1)", PgParams().Int(kPgPurgeLock)), IsOk());
  EXPECT_EQ(*b->PurgeUsers(kT0 + absl::Hours(1)), 1);
  EXPECT_THAT(a->FindUserById("old"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(PgKeyStoreTest, UnreachableServerIsUnavailable) {
  // Nothing listens on the port: refused at once.
  const std::string closed =
      absl::StrCat("postgresql://postgres@127.0.0.1:", byok::testing::PickUnusedPort(), "/x");
  EXPECT_THAT(PgKeyStore::Open(closed, {}), StatusIs(absl::StatusCode::kUnavailable));

  // A server that accepts the connection and never answers: connect_timeout bounds the wait.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  PgKeyStore::Options options;
  options.timeouts.connect = absl::Seconds(2);
  const absl::Time start = absl::Now();
  absl::StatusOr<std::unique_ptr<PgKeyStore>> silent = PgKeyStore::Open(
      absl::StrCat("postgresql://postgres@127.0.0.1:", ntohs(addr.sin_port), "/x"), options);
  EXPECT_THAT(silent, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_LT(absl::Now() - start, absl::Seconds(6));
  ::close(fd);
}

TEST_F(PgKeyStoreTest, AStatementThatWaitsTooLongIsUnavailable) {
  PgKeyStore::Options options;
  options.timeouts.statement = absl::Milliseconds(300);
  std::unique_ptr<PgKeyStore> store = Open(options);
  ASSERT_THAT(store->CreateUser(User("u1")), IsOk());
  // Someone holds the row: the update waits for the lock until the statement timeout ends it.
  std::unique_ptr<PgConnection> other = Connect();
  ASSERT_THAT(other->Exec("BEGIN"), IsOk());
  ASSERT_THAT(other->Exec("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", PgParams().Text("u1")),
              IsOk());
  const absl::Time start = absl::Now();
  EXPECT_THAT(store->SetExpiry("u1", kT0), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  ASSERT_THAT(other->Exec("ROLLBACK"), IsOk());
  // The connection went back to the pool fit for use.
  EXPECT_THAT(store->SetExpiry("u1", kT0), IsOk());
}

TEST_F(PgKeyStoreTest, PoolIsBoundedAndReusesConnections) {
  ASSERT_NE(Open(), nullptr);  // the schema
  PgPoolOptions options;
  options.url = url_;
  options.size = 2;
  options.acquire_timeout = absl::Milliseconds(200);
  PgPool pool(options);
  {
    absl::StatusOr<PgPool::Lease> a = pool.Acquire();
    absl::StatusOr<PgPool::Lease> b = pool.Acquire();
    ASSERT_THAT(a, IsOk());
    ASSERT_THAT(b, IsOk());
    const absl::Time start = absl::Now();
    EXPECT_THAT(pool.Acquire(), StatusIs(absl::StatusCode::kUnavailable));
    EXPECT_GE(absl::Now() - start, absl::Milliseconds(200));
    EXPECT_EQ(pool.open(), 2);
    // One left inside a transaction is closed, not handed out again.
    ASSERT_THAT((*a)->Exec("BEGIN"), IsOk());
  }
  EXPECT_EQ(pool.open(), 1);
  std::vector<std::thread> users;
  for (int i = 0; i < 8; ++i) {
    users.emplace_back([&pool] {
      for (int j = 0; j < 10; ++j) {
        absl::StatusOr<PgPool::Lease> lease = pool.Acquire();
        ASSERT_THAT(lease, IsOk());
        EXPECT_THAT((*lease)->Exec("SELECT 1"), IsOk());
      }
    });
  }
  for (std::thread& t : users) t.join();
  EXPECT_LE(pool.open(), 2);
}

TEST_F(PgKeyStoreTest, RecoversFromDroppedConnections) {
  std::unique_ptr<PgKeyStore> store = Open();
  ASSERT_THAT(store->CreateUser(User("u1")), IsOk());
  // An operator (or a failover) ends every connection of the vault.
  ASSERT_THAT(PostgresServer::Exec(url_, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                         "WHERE application_name = 'byok-vaultd'"),
              IsOk());
  // The next call may find its connection dead (Unavailable: retry); the pool opens a new one.
  absl::StatusOr<UserRecord> first = store->FindUserById("u1");
  if (!first.ok()) {
    EXPECT_THAT(first, StatusIs(absl::StatusCode::kUnavailable));
  }
  EXPECT_THAT(store->FindUserById("u1"), IsOk());
}

TEST_F(PgKeyStoreTest, ErrorsNameNoRowValues) {
  std::unique_ptr<PgKeyStore> store = Open();
  const UserRecord u = User("u1");
  ASSERT_THAT(store->CreateUser(u), IsOk());
  absl::Status duplicate = store->CreateUser(u);
  EXPECT_THAT(duplicate, StatusIs(absl::StatusCode::kAlreadyExists));
  UserRecord same_hash = User("u2");
  same_hash.token_hash = u.token_hash;
  absl::Status clash = store->CreateUser(same_hash);
  EXPECT_THAT(clash, StatusIs(absl::StatusCode::kAlreadyExists));
  const std::string hex = absl::BytesToHexString(u.token_hash);
  EXPECT_THAT(std::string(clash.message()), ::testing::Not(::testing::HasSubstr(hex.substr(0, 16))));
  EXPECT_THAT(std::string(duplicate.message()), ::testing::Not(::testing::HasSubstr("u1")));
  // A key of a user that does not exist: NotFound, as SQLite's foreign key.
  EXPECT_THAT(store->PutKey(Key("ghost", "openai", "ct")), StatusIs(absl::StatusCode::kNotFound));
}

TEST(PgConfigTest, DatabaseUrlAndPoolSize) {
  auto load = [](absl::flat_hash_map<std::string, std::string> vars) {
    vars["ENCRYPTION_SECRET"] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    return LoadVaultConfig(Env(std::move(vars)));
  };
  absl::StatusOr<VaultConfig> none = load({});
  ASSERT_THAT(none, IsOk());
  EXPECT_TRUE(none->database_url.empty());
  EXPECT_EQ(none->database_pool_size, 8);
  absl::StatusOr<VaultConfig> pg =
      load({{"BYOK_VAULT_DATABASE_URL",
             "postgresql://vault:pw@db.internal:5432/byok?sslmode=verify-full&sslrootcert=/ca.pem"},
            {"BYOK_VAULT_DATABASE_POOL_SIZE", "20"}});
  ASSERT_THAT(pg, IsOk());
  EXPECT_EQ(pg->database_pool_size, 20);
  EXPECT_THAT(pg->database_url, ::testing::HasSubstr("sslmode=verify-full"));
  absl::StatusOr<VaultConfig> bad = load({{"BYOK_VAULT_DATABASE_URL", "mysql://user:hunter2@x/db"}});
  EXPECT_THAT(bad, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(bad.status().message()), ::testing::Not(::testing::HasSubstr("hunter2")));
  absl::StatusOr<VaultConfig> broken =
      load({{"BYOK_VAULT_DATABASE_URL", "postgresql://user:hunter2@x/db?nosuchoption=1"}});
  EXPECT_THAT(broken, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(broken.status().message()), ::testing::Not(::testing::HasSubstr("hunter2")));
  EXPECT_THAT(load({{"BYOK_VAULT_DATABASE_POOL_SIZE", "0"}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace byok::vault
