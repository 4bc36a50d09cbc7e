// Adoption of an original byok-relay database built here row by row (the fixture written by the
// original itself is adopted end to end in tests/e2e/adoption_test.cc): verification before any
// write, the byte-exact backup, one transaction, idempotence, the legacy variants of §10.4, and a
// database whose rows are still in its -wal.
#include "services/vault/adoption.h"

#include <sqlite3.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/crypto/hex.h"
#include "common/crypto/kdf.h"
#include "common/crypto/original_key_cipher.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/vault/pg_key_store.h"
#include "services/vault/sqlite_key_store.h"
#include "services/vault/vault_core.h"
#include "tests/testing/postgres_server.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace byok::vault {
namespace {

namespace fs = std::filesystem;
using ::byok::testing::IsOk;
using ::byok::testing::ReadFile;
using ::byok::testing::StatusIs;
using ::byok::testing::TempDir;

constexpr char kSecret[] = "an-original-deployments-secret-0123456789";
constexpr char kHmacKey[] = "an-original-deployments-token-hmac-key-xyz";
const absl::Time kNow = absl::FromUnixMillis(1'796'028'600'000);

// A connection to a database file being built in the original's schema.
class OriginalBuilder {
 public:
  explicit OriginalBuilder(const std::string& path, const std::string& salt = "") {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
    cipher_ = *crypto::OriginalKeyCipher::Create(kSecret, salt);
  }
  ~OriginalBuilder() { sqlite3_close(db_); }

  void Exec(const std::string& sql) {
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << (error ? error : "");
    sqlite3_free(error);
  }

  // The 1.5.1 schema (compat.md §10.1).
  void CreateSchema() {
    Exec("PRAGMA journal_mode=WAL;"
         "CREATE TABLE users (id TEXT PRIMARY KEY, token_hash TEXT UNIQUE NOT NULL,"
         " token_hmac_version INTEGER NOT NULL DEFAULT 2, app_id TEXT NOT NULL,"
         " created_at INTEGER NOT NULL, expires_at INTEGER);"
         "CREATE TABLE keys (id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id) ON DELETE"
         " CASCADE, provider TEXT NOT NULL, encrypted_key TEXT NOT NULL, iv TEXT NOT NULL,"
         " auth_tag TEXT NOT NULL, created_at INTEGER NOT NULL, UNIQUE(user_id, provider));"
         "CREATE TABLE request_logs (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, app_id TEXT NOT NULL,"
         " provider TEXT NOT NULL, model TEXT, status INTEGER NOT NULL, latency_ms REAL NOT NULL,"
         " created_at INTEGER NOT NULL);");
  }

  void AddUser(const std::string& id, const std::string& token, const std::string& expires = "NULL",
               int version = 2) {
    const std::string hash = crypto::HexEncode(*crypto::HmacSha256(kHmacKey, token));
    Exec(absl::StrCat("INSERT INTO users VALUES ('", id, "', '", hash, "', ", version,
                      ", 'app', 1000, ", expires, ")"));
  }

  void AddKey(const std::string& user, const std::string& provider, const std::string& plaintext) {
    crypto::OriginalSealedKey k = *cipher_->Encrypt(plaintext);
    Exec(absl::StrCat("INSERT INTO keys VALUES ('k-", user, "-", provider, "', '", user, "', '", provider,
                      "', '", k.encrypted_key_hex, "', '", k.iv_hex, "', '", k.auth_tag_hex, "', 2000)"));
  }

  void AddLog(const std::string& user, int status, const std::string& model = "NULL") {
    Exec(absl::StrCat("INSERT INTO request_logs VALUES (lower(hex(randomblob(16))), '", user,
                      "', 'app', 'openai', ", model, ", ", status, ", 12.4, 3000)"));
  }

  sqlite3* db_ = nullptr;
  std::unique_ptr<crypto::OriginalKeyCipher> cipher_;
};

class AdoptOriginalDatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.path() + "/relay.db";
    keyring_ = *crypto::KeyringAead::Create(crypto::SecretBytes(std::string(kSecret)), {});
    hasher_ = *TokenHasher::Create(crypto::SecretBytes(std::string(kHmacKey)),
                                   {crypto::SecretBytes(std::string(kSecret))});
  }

  void BuildFixture() {
    OriginalBuilder b(path_);
    b.CreateSchema();
    b.AddUser("user-a", std::string(64, 'a'));
    b.AddUser("user-b", std::string(64, 'b'), "999", 1);  // revoked long ago
    b.AddKey("user-a", "openai", "sk-original-openai-0001");
    b.AddKey("user-a", "anthropic", "sk-ant-original-0002");
    b.AddKey("user-b", "google", "AIzaOriginalGoogle0003");
    b.AddLog("user-a", 200, "'gpt-4o'");
    b.AddLog("user-a", 502);
    b.AddLog("deleted-user", 200, "'gpt-4o'");  // the original keeps logs of deleted users
  }

  absl::StatusOr<AdoptionReport> Adopt(const std::string& secret = kSecret, bool dry_run = false,
                                       const std::string& salt = "") {
    AdoptionOptions options;
    options.db_path = path_;
    options.encryption_secret = crypto::SecretBytes(secret);
    options.salt = salt;
    options.dry_run = dry_run;
    options.now = kNow;
    return AdoptOriginalDatabase(options, *keyring_, *hasher_);
  }

  std::vector<std::string> Files() {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_.path())) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  std::string Resolve(SqliteKeyStore& store, const std::string& user, const std::string& provider) {
    absl::StatusOr<KeyRecord> k = store.GetKey(user, provider);
    if (!k.ok()) return "(none)";
    absl::StatusOr<std::string> plain =
        keyring_->Decrypt(k->ciphertext, KeyAssociatedData(user, provider, ""));
    return plain.ok() ? *plain : "(does not decrypt)";
  }

  TempDir dir_;
  std::string path_;
  std::unique_ptr<crypto::KeyringAead> keyring_;
  std::unique_ptr<TokenHasher> hasher_;
};

TEST_F(AdoptOriginalDatabaseTest, NothingToAdoptWithoutAnOriginalDatabase) {
  absl::StatusOr<AdoptionReport> none = Adopt();
  ASSERT_THAT(none, IsOk());
  EXPECT_EQ(none->outcome, AdoptionReport::Outcome::kNotOriginal);
  EXPECT_TRUE(Files().empty());
  { ASSERT_THAT(SqliteKeyStore::Open(path_), IsOk()); }
  absl::StatusOr<AdoptionReport> ours = Adopt();
  ASSERT_THAT(ours, IsOk());
  EXPECT_EQ(ours->outcome, AdoptionReport::Outcome::kNotOriginal);
}

TEST_F(AdoptOriginalDatabaseTest, AWrongSecretStopsBeforeAnythingIsWritten) {
  BuildFixture();
  const std::string before = ReadFile(path_);
  const std::vector<std::string> files = Files();
  absl::StatusOr<AdoptionReport> wrong = Adopt("not-the-original-secret-at-all-0123456789");
  EXPECT_THAT(wrong, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(wrong.status().message(),
              ::testing::HasSubstr("ENCRYPTION_SECRET (with ENCRYPTION_SALT) does not decrypt"));
  EXPECT_THAT(wrong.status().message(), ::testing::HasSubstr("3 of 3 stored keys fail"));
  EXPECT_THAT(wrong.status().message(), ::testing::HasSubstr("Nothing was changed"));
  EXPECT_EQ(ReadFile(path_), before);
  EXPECT_EQ(Files(), files);
}

TEST_F(AdoptOriginalDatabaseTest, DryRunReportsAndWritesNothing) {
  BuildFixture();
  const std::string before = ReadFile(path_);
  const std::vector<std::string> files = Files();
  absl::StatusOr<AdoptionReport> report = Adopt(kSecret, /*dry_run=*/true);
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->outcome, AdoptionReport::Outcome::kWouldAdopt);
  EXPECT_EQ(report->users, 2);
  EXPECT_EQ(report->active_users, 1);
  EXPECT_EQ(report->keys, 3);
  EXPECT_EQ(report->usage_records, 3);
  ASSERT_FALSE(report->backups.empty());
  EXPECT_EQ(report->backups.front(), path_ + ".original-20261130T085000Z");
  EXPECT_THAT(report->Describe(path_), ::testing::HasSubstr("Nothing was written (dry run)"));
  EXPECT_EQ(ReadFile(path_), before);
  EXPECT_EQ(Files(), files);
}

TEST_F(AdoptOriginalDatabaseTest, AdoptsEveryRowBacksUpTheBytesAndIsIdempotent) {
  BuildFixture();
  const std::string before = ReadFile(path_);
  absl::StatusOr<AdoptionReport> report = Adopt();
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->outcome, AdoptionReport::Outcome::kAdopted);
  ASSERT_EQ(report->backups.size(), 1u);  // the fixture was checkpointed: no -wal or -shm
  EXPECT_EQ(ReadFile(report->backups[0]), before);

  auto store = SqliteKeyStore::Open(path_, kNow);
  ASSERT_THAT(store, IsOk());
  absl::StatusOr<UserRecord> a = (*store)->FindUserById("user-a");
  ASSERT_THAT(a, IsOk());
  EXPECT_EQ(a->token_hash, *crypto::HmacSha256(kHmacKey, std::string(64, 'a')));
  EXPECT_EQ(a->app_id, "app");
  EXPECT_EQ(a->created_at, absl::FromUnixMillis(1000));
  EXPECT_FALSE(a->expires_at.has_value());
  absl::StatusOr<UserRecord> b = (*store)->FindUserById("user-b");
  EXPECT_EQ(b->expires_at, absl::FromUnixMillis(999));
  EXPECT_EQ(b->token_hmac_version, UserRecord::kTokenHmacLegacy);
  EXPECT_EQ(Resolve(**store, "user-a", "openai"), "sk-original-openai-0001");
  EXPECT_EQ(Resolve(**store, "user-a", "anthropic"), "sk-ant-original-0002");
  EXPECT_EQ(Resolve(**store, "user-b", "google"), "AIzaOriginalGoogle0003");
  EXPECT_EQ((*store)->GetKey("user-a", "openai")->created_at, absl::FromUnixMillis(2000));
  absl::StatusOr<UsageStats> app = (*store)->GetStats({StatsScope::Kind::kApp, "app"}, kNow);
  EXPECT_EQ(app->total_requests, 3);
  EXPECT_EQ(app->total_errors, 1);
  EXPECT_EQ(app->users, 2);
  EXPECT_EQ((*store)->GetStats({StatsScope::Kind::kUser, "user-a"}, kNow)->total_requests, 2);
  store->reset();

  // A second run finds this vault's schema: nothing more is written.
  const std::vector<std::string> files = Files();
  absl::StatusOr<AdoptionReport> again = Adopt();
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->outcome, AdoptionReport::Outcome::kNotOriginal);
  EXPECT_EQ(Files(), files);
}

// With the vault on PostgreSQL: the rows go into that database; the original file is only read.
TEST_F(AdoptOriginalDatabaseTest, AdoptsIntoAnEmptyPostgresDatabaseLeavingTheFileAsItWas) {
  BuildFixture();
  const std::string before = ReadFile(path_);
  const std::vector<std::string> files = Files();
  absl::StatusOr<std::string> url = byok::testing::FreshPostgresDatabase();
  ASSERT_THAT(url, IsOk());
  absl::StatusOr<std::unique_ptr<PgKeyStore>> pg = PgKeyStore::Open(*url, {}, kNow);
  ASSERT_THAT(pg, IsOk());
  AdoptionOptions options;
  options.db_path = path_;
  options.encryption_secret = crypto::SecretBytes(std::string(kSecret));
  options.now = kNow;
  options.target = pg->get();

  options.dry_run = true;
  absl::StatusOr<AdoptionReport> dry = AdoptOriginalDatabase(options, *keyring_, *hasher_);
  ASSERT_THAT(dry, IsOk());
  EXPECT_EQ(dry->outcome, AdoptionReport::Outcome::kWouldAdopt);
  EXPECT_EQ(*(*pg)->Empty(), true);

  options.dry_run = false;
  absl::StatusOr<AdoptionReport> report = AdoptOriginalDatabase(options, *keyring_, *hasher_);
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->outcome, AdoptionReport::Outcome::kAdopted);
  EXPECT_TRUE(report->backups.empty());
  EXPECT_THAT(report->Describe(path_), ::testing::HasSubstr("PostgreSQL"));
  EXPECT_EQ(ReadFile(path_), before);
  EXPECT_EQ(Files(), files);

  absl::StatusOr<UserRecord> a = (*pg)->FindUserById("user-a");
  ASSERT_THAT(a, IsOk());
  EXPECT_EQ(a->token_hash, *crypto::HmacSha256(kHmacKey, std::string(64, 'a')));
  EXPECT_EQ((*pg)->FindUserById("user-b")->token_hmac_version, UserRecord::kTokenHmacLegacy);
  absl::StatusOr<KeyRecord> k = (*pg)->GetKey("user-a", "openai");
  ASSERT_THAT(k, IsOk());
  EXPECT_EQ(*keyring_->Decrypt(k->ciphertext, KeyAssociatedData("user-a", "openai", "")),
            "sk-original-openai-0001");
  EXPECT_EQ((*pg)->GetStats({StatsScope::Kind::kApp, "app"}, kNow)->total_requests, 3);

  // Run again: the database holds data now, and nothing changes.
  EXPECT_THAT(AdoptOriginalDatabase(options, *keyring_, *hasher_),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ((*pg)->Export()->users.size(), 2u);
}

// §10.4: a users table with plaintext tokens and without token_hmac_version or expires_at.
TEST_F(AdoptOriginalDatabaseTest, LegacyPlaintextTokensAreHashedUnderTheCurrentKey) {
  {
    OriginalBuilder b(path_);
    b.Exec("CREATE TABLE users (id TEXT PRIMARY KEY, token TEXT UNIQUE NOT NULL, app_id TEXT NOT NULL,"
           " created_at INTEGER NOT NULL);"
           "CREATE TABLE keys (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, provider TEXT NOT NULL,"
           " encrypted_key TEXT NOT NULL, iv TEXT NOT NULL, auth_tag TEXT NOT NULL,"
           " created_at INTEGER NOT NULL);"
           "INSERT INTO users VALUES ('old-user', 'legacy-plaintext-token', 'app', 1000);");
    b.AddKey("old-user", "groq", "gsk_legacy_groq_key_01");
  }
  absl::StatusOr<AdoptionReport> report = Adopt();
  ASSERT_THAT(report, IsOk());
  EXPECT_TRUE(report->legacy_plaintext_tokens);
  auto store = SqliteKeyStore::Open(path_, kNow);
  ASSERT_THAT(store, IsOk());
  absl::StatusOr<UserRecord> user =
      (*store)->FindUserByTokenHash(*hasher_->Hash("legacy-plaintext-token"));
  ASSERT_THAT(user, IsOk());
  EXPECT_EQ(user->user_id, "old-user");
  EXPECT_FALSE(user->expires_at.has_value());
  EXPECT_EQ(Resolve(**store, "old-user", "groq"), "gsk_legacy_groq_key_01");
  EXPECT_EQ((*store)->GetStats({StatsScope::Kind::kApp, "app"}, kNow)->total_requests, 0);
}

// §10.4: hashed tokens, but neither token_hmac_version nor expires_at yet (1 and NULL); and an
// ENCRYPTION_SALT other than the default, which adoption must be given.
TEST_F(AdoptOriginalDatabaseTest, MissingColumnsTakeTheOriginalsDefaultsAndTheSaltMatters) {
  {
    OriginalBuilder b(path_, "a-custom-salt");
    b.Exec("CREATE TABLE users (id TEXT PRIMARY KEY, token_hash TEXT UNIQUE NOT NULL,"
           " app_id TEXT NOT NULL, created_at INTEGER NOT NULL);"
           "CREATE TABLE keys (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, provider TEXT NOT NULL,"
           " encrypted_key TEXT NOT NULL, iv TEXT NOT NULL, auth_tag TEXT NOT NULL,"
           " created_at INTEGER NOT NULL);");
    const std::string hash = crypto::HexEncode(*crypto::HmacSha256(kSecret, std::string(64, 'c')));
    b.Exec(absl::StrCat("INSERT INTO users VALUES ('user-c', '", hash, "', 'app', 1000)"));
    b.AddKey("user-c", "deepgram", "deepgram-key-0123456789");
  }
  EXPECT_THAT(Adopt(), StatusIs(absl::StatusCode::kFailedPrecondition));  // the default salt
  absl::StatusOr<AdoptionReport> report = Adopt(kSecret, false, "a-custom-salt");
  ASSERT_THAT(report, IsOk());
  auto store = SqliteKeyStore::Open(path_, kNow);
  ASSERT_THAT(store, IsOk());
  absl::StatusOr<UserRecord> user = (*store)->FindUserById("user-c");
  ASSERT_THAT(user, IsOk());
  EXPECT_EQ(user->token_hmac_version, UserRecord::kTokenHmacLegacy);
  EXPECT_FALSE(user->expires_at.has_value());
  EXPECT_EQ(Resolve(**store, "user-c", "deepgram"), "deepgram-key-0123456789");
}

// Rows still in the -wal (the original running, or stopped uncleanly) are read and backed up with it.
TEST_F(AdoptOriginalDatabaseTest, RowsStillInTheWalAreAdoptedAndTheWalIsBackedUp) {
  OriginalBuilder b(path_);
  b.Exec("PRAGMA wal_autocheckpoint=0;");
  b.CreateSchema();
  b.AddUser("user-a", std::string(64, 'a'));
  b.AddKey("user-a", "mistral", "mistral-key-in-the-wal-0001");
  ASSERT_GT(fs::file_size(path_ + "-wal"), 0u);
  const std::string main_before = ReadFile(path_), wal_before = ReadFile(path_ + "-wal");
  absl::StatusOr<AdoptionReport> report = Adopt();
  ASSERT_THAT(report, IsOk());
  ASSERT_EQ(report->backups.size(), 3u);
  EXPECT_EQ(ReadFile(report->backups[0]), main_before);
  EXPECT_EQ(ReadFile(report->backups[1]), wal_before);
  EXPECT_THAT(report->backups[2], ::testing::EndsWith("relay.db-shm.original-20261130T085000Z"));
  auto store = SqliteKeyStore::Open(path_, kNow);
  ASSERT_THAT(store, IsOk());
  EXPECT_EQ(Resolve(**store, "user-a", "mistral"), "mistral-key-in-the-wal-0001");
}

}  // namespace
}  // namespace byok::vault
