// Adoption of an original byok-relay database whose rows are anything SQLite lets a file hold: each
// value text, integer, real, blob or NULL (SQLite does not enforce the declared types), ids repeated
// or empty, hashes and sealed keys malformed or valid. Adoption must refuse or adopt, never crash, and
// stay all or nothing: when it fails the original's rows are all still there; when it succeeds the
// vault's store opens on the result.
#include <fuzzer/FuzzedDataProvider.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/crypto/keyring_aead.h"
#include "common/crypto/original_key_cipher.h"
#include "common/crypto/secret_bytes.h"
#include "common/logging.h"
#include "services/vault/adoption.h"
#include "services/vault/original_db.h"
#include "services/vault/sqlite_key_store.h"
#include "services/vault/token.h"

namespace {

namespace fs = std::filesystem;
using byok::crypto::SecretBytes;

constexpr char kSecret[] = "an-original-deployments-secret-0123456789";
constexpr char kHmacKey[] = "an-original-deployments-token-hmac-key-xyz";

struct Fixed {
  std::unique_ptr<byok::crypto::OriginalKeyCipher> cipher;
  std::unique_ptr<byok::crypto::KeyringAead> keyring;
  std::unique_ptr<byok::vault::TokenHasher> hasher;
  std::string dir;
};

const Fixed& Setup() {
  static const Fixed* fixed = [] {
    auto* f = new Fixed();
    f->cipher = *byok::crypto::OriginalKeyCipher::Create(kSecret, "");
    f->keyring = *byok::crypto::KeyringAead::Create(SecretBytes(std::string(kSecret)), {});
    f->hasher = *byok::vault::TokenHasher::Create(SecretBytes(std::string(kHmacKey)),
                                                  {SecretBytes(std::string(kSecret))});
    // Memory-backed where there is /dev/shm: adoption syncs its backups, and on disk that is most of
    // an input's time.
    fs::path parent = fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    std::string base = parent / "byok-fuzz-adoption-XXXXXX";
    f->dir = mkdtemp(base.data());
    byok::log::SetLevel(byok::log::Level::kOff);
    return f;
  }();
  return *fixed;
}

// Binds one value of a kind the input picks; `typical` is what a well-formed row would hold.
void BindValue(FuzzedDataProvider& in, sqlite3_stmt* s, int index, const std::string& typical) {
  switch (in.ConsumeIntegralInRange<int>(0, 5)) {
    case 0:
      sqlite3_bind_text(s, index, typical.data(), static_cast<int>(typical.size()), SQLITE_TRANSIENT);
      break;
    case 1: {
      std::string text = in.ConsumeRandomLengthString(80);
      sqlite3_bind_text(s, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
      break;
    }
    case 2:
      sqlite3_bind_int64(s, index, in.ConsumeIntegral<int64_t>());
      break;
    case 3:
      sqlite3_bind_double(s, index, in.ConsumeFloatingPoint<double>());
      break;
    case 4: {
      std::string blob = in.ConsumeRandomLengthString(80);
      sqlite3_bind_blob(s, index, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
      break;
    }
    default:
      sqlite3_bind_null(s, index);
  }
}

// Inserts one row of `columns` values into `table`, each from BindValue with its typical value.
void Insert(sqlite3* db, FuzzedDataProvider& in, const char* sql, const std::vector<std::string>& typical) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK) abort();
  for (size_t i = 0; i < typical.size(); ++i) BindValue(in, s, static_cast<int>(i + 1), typical[i]);
  (void)sqlite3_step(s);  // a constraint the row breaks leaves it out, as it would the original
  sqlite3_finalize(s);
}

// Builds the original's database (1.5.1 schema, or the legacy plaintext-token one) at `path`.
void Build(const std::string& path, FuzzedDataProvider& in, const Fixed& fixed) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) abort();
  const bool legacy = in.ConsumeBool();
  const char* schema =
      legacy ? "CREATE TABLE users (id TEXT PRIMARY KEY, token TEXT UNIQUE NOT NULL, app_id TEXT NOT NULL,"
               " created_at INTEGER NOT NULL);"
             : "CREATE TABLE users (id TEXT PRIMARY KEY, token_hash TEXT UNIQUE NOT NULL,"
               " token_hmac_version INTEGER NOT NULL DEFAULT 2, app_id TEXT NOT NULL,"
               " created_at INTEGER NOT NULL, expires_at INTEGER);";
  if (sqlite3_exec(db, schema, nullptr, nullptr, nullptr) != SQLITE_OK ||
      sqlite3_exec(db,
                   "CREATE TABLE keys (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, provider TEXT NOT NULL,"
                   " encrypted_key TEXT NOT NULL, iv TEXT NOT NULL, auth_tag TEXT NOT NULL,"
                   " created_at INTEGER NOT NULL, UNIQUE(user_id, provider));"
                   "CREATE TABLE request_logs (id TEXT PRIMARY KEY, user_id TEXT NOT NULL,"
                   " app_id TEXT NOT NULL, provider TEXT NOT NULL, model TEXT, status INTEGER NOT NULL,"
                   " latency_ms REAL NOT NULL, created_at INTEGER NOT NULL);",
                   nullptr, nullptr, nullptr) != SQLITE_OK) {
    abort();
  }
  const int users = in.ConsumeIntegralInRange<int>(0, 4);
  for (int i = 0; i < users; ++i) {
    const std::string id = "user-" + std::to_string(i);
    if (legacy) {
      Insert(db, in, "INSERT INTO users VALUES (?, ?, ?, ?)", {id, "token-" + id, "app", "1000"});
    } else {
      Insert(db, in, "INSERT INTO users VALUES (?, ?, ?, ?, ?, ?)",
             {id, std::string(64, static_cast<char>('a' + i)), "2", "app", "1000", "2000000000000"});
    }
  }
  const int keys = in.ConsumeIntegralInRange<int>(0, 3);
  for (int i = 0; i < keys; ++i) {
    // A validly sealed key (the typical values) lets adoption go on to re-encrypt and store it.
    byok::crypto::OriginalSealedKey sealed = *fixed.cipher->Encrypt(in.ConsumeRandomLengthString(40));
    Insert(db, in, "INSERT INTO keys VALUES (?, ?, ?, ?, ?, ?, ?)",
           {"k" + std::to_string(i), "user-" + std::to_string(i % 2), i % 2 ? "openai" : "anthropic",
            sealed.encrypted_key_hex, sealed.iv_hex, sealed.auth_tag_hex, "2000"});
  }
  const int logs = in.ConsumeIntegralInRange<int>(0, 4);
  for (int i = 0; i < logs; ++i) {
    Insert(db, in, "INSERT INTO request_logs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
           {"l" + std::to_string(i), "user-0", "app", "openai", "gpt-4o", "200", "12.5", "3000"});
  }
  sqlite3_close(db);
}

byok::vault::OriginalCounts Counts(const std::string& path) {
  auto snapshot = byok::vault::DatabaseSnapshot::Open(path);
  if (!snapshot.ok()) abort();
  auto counts = byok::vault::CountOriginal((*snapshot)->db());
  if (!counts.ok()) abort();
  return *counts;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Fixed& fixed = Setup();
  FuzzedDataProvider in(data, size);
  fs::remove_all(fixed.dir);
  fs::create_directories(fixed.dir);
  const std::string path = fixed.dir + "/relay.db";
  Build(path, in, fixed);
  const byok::vault::OriginalCounts before = Counts(path);

  byok::vault::AdoptionOptions options;
  options.db_path = path;
  options.encryption_secret = SecretBytes(std::string(kSecret));
  options.cipher = fixed.cipher.get();  // derived once: scrypt per input would run 4 inputs a second
  options.now = absl::FromUnixMillis(1'796'028'600'000);
  absl::StatusOr<byok::vault::AdoptionReport> report =
      byok::vault::AdoptOriginalDatabase(options, *fixed.keyring, *fixed.hasher);
  if (!report.ok()) {
    // All or nothing: every original row is still there.
    if (!(Counts(path) == before)) abort();
    return 0;
  }
  if (report->outcome != byok::vault::AdoptionReport::Outcome::kAdopted) abort();
  if (!byok::vault::SqliteKeyStore::Open(path, options.now).ok()) abort();
  return 0;
}
