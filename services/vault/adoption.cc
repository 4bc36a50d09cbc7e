#include "services/vault/adoption.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/crypto/hex.h"
#include "common/crypto/original_key_cipher.h"
#include "common/logging.h"
#include "common/status.h"
#include "services/vault/original_db.h"
#include "services/vault/sqlite_key_store.h"
#include "services/vault/sqlite_schema.h"
#include "services/vault/vault_core.h"

namespace byok::vault {
namespace {

namespace fs = std::filesystem;

constexpr char kLog[] = "adoption";
constexpr size_t kHashHexSize = 64;

// Copies `from` to a new file `to` (never overwriting), byte for byte, with owner-only permissions,
// and flushes it to disk.
absl::Status CopyExact(const std::string& from, const std::string& to) {
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return absl::UnavailableError(absl::StrCat("cannot read ", from, ": ", std::strerror(errno)));
  const int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out < 0) {
    const int error = errno;
    ::close(in);
    return absl::UnavailableError(absl::StrCat("cannot create ", to, ": ", std::strerror(error)));
  }
  char buffer[1 << 16];
  bool ok = true;
  while (ok) {
    const ssize_t n = ::read(in, buffer, sizeof(buffer));
    if (n == 0) break;
    if (n < 0) {
      ok = errno == EINTR;
      continue;
    }
    for (ssize_t done = 0; ok && done < n;) {
      const ssize_t w = ::write(out, buffer + done, static_cast<size_t>(n - done));
      if (w < 0) {
        ok = errno == EINTR;
      } else {
        done += w;
      }
    }
  }
  ok = ok && ::fsync(out) == 0;
  ::close(in);
  ok = ::close(out) == 0 && ok;
  if (!ok) {
    ::unlink(to.c_str());
    return absl::UnavailableError(absl::StrCat("cannot write the backup ", to));
  }
  return absl::OkStatus();
}

void SyncFolder(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  const int fd = ::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// The files that make up the database now: the file itself, and its -wal and -shm when present.
std::vector<std::string> DatabaseFiles(const std::string& db_path) {
  std::vector<std::string> files = {db_path};
  for (const char* suffix : {"-wal", "-shm"}) {
    std::error_code ec;
    if (fs::is_regular_file(db_path + suffix, ec)) files.push_back(db_path + suffix);
  }
  return files;
}

std::string BackupName(const std::string& file, absl::Time now) {
  return absl::StrCat(file, ".original-", absl::FormatTime("%Y%m%dT%H%M%SZ", now, absl::UTCTimeZone()));
}

absl::StatusOr<bool> IsOriginal(const std::string& db_path) {
  // This vault's own database, told from its main file alone: no copy of a large -wal on every start.
  std::error_code ec;
  if (fs::is_regular_file(db_path, ec) && fs::file_size(db_path, ec) > 0) {
    absl::StatusOr<std::unique_ptr<SqliteDb>> main = SqliteDb::OpenImmutable(db_path);
    if (main.ok()) {
      absl::StatusOr<bool> ours = TableExists(**main, "provider_keys");
      if (ours.ok() && *ours) return false;
    }
  }
  absl::StatusOr<std::unique_ptr<DatabaseSnapshot>> snapshot = DatabaseSnapshot::Open(db_path);
  if (absl::IsNotFound(snapshot.status())) return false;
  if (!snapshot.ok()) return snapshot.status();
  return HoldsOriginalSchema((*snapshot)->db());
}

// Turns the original's rows into this vault's, verifying every one. Writes nothing.
absl::StatusOr<ImportData> Convert(const OriginalData& original, const AdoptionOptions& options,
                                   const crypto::KeyringAead& keyring, const TokenHasher& hasher,
                                   AdoptionReport& report) {
  ImportData data;
  absl::flat_hash_set<std::string> user_ids;
  const int64_t now_ms = absl::ToUnixMillis(options.now);
  for (const OriginalUser& u : original.users) {
    UserRecord user;
    user.user_id = u.id;
    user.app_id = u.app_id;
    user.created_at = absl::FromUnixMillis(u.created_at_ms);
    if (u.expires_at_ms.has_value()) user.expires_at = absl::FromUnixMillis(*u.expires_at_ms);
    if (original.legacy_plaintext_tokens) {
      // What the original's own start-up migration does (§10.4): hash under the current key.
      BYOK_ASSIGN_OR_RETURN(user.token_hash, hasher.Hash(u.plaintext_token));
      user.token_hmac_version = UserRecord::kTokenHmacCurrent;
    } else {
      absl::StatusOr<std::string> hash = crypto::HexDecode(u.token_hash_hex);
      if (u.token_hash_hex.size() != kHashHexSize || !hash.ok()) {
        return absl::FailedPreconditionError(
            absl::StrCat("user ", u.id, " has a token_hash that is not 64 hex characters"));
      }
      user.token_hash = *std::move(hash);
      user.token_hmac_version = u.token_hmac_version == UserRecord::kTokenHmacCurrent
                                    ? UserRecord::kTokenHmacCurrent
                                    : UserRecord::kTokenHmacLegacy;
    }
    if (u.id.empty() || !user_ids.insert(u.id).second) {
      return absl::FailedPreconditionError("the original's users table has an empty or repeated id");
    }
    if (!u.expires_at_ms.has_value() || *u.expires_at_ms >= now_ms) ++report.active_users;
    data.users.push_back(std::move(user));
  }

  std::unique_ptr<crypto::OriginalKeyCipher> derived;
  const crypto::OriginalKeyCipher* cipher = options.cipher;
  if (cipher == nullptr && !original.keys.empty()) {
    BYOK_ASSIGN_OR_RETURN(derived,
                          crypto::OriginalKeyCipher::Create(options.encryption_secret.view(), options.salt));
    cipher = derived.get();
  }
  int64_t failed = 0;
  for (const OriginalKey& k : original.keys) {
    if (!user_ids.contains(k.user_id)) {
      ++report.orphan_keys;
      continue;
    }
    absl::StatusOr<std::string> plain = cipher->Decrypt(k.sealed);
    if (!plain.ok()) {
      ++failed;
      continue;
    }
    KeyRecord key;
    key.user_id = k.user_id;
    key.provider = k.provider;
    key.key_version = keyring.primary_key_id();
    key.created_at = key.updated_at = absl::FromUnixMillis(k.created_at_ms);
    absl::StatusOr<std::string> sealed =
        keyring.Encrypt(*plain, KeyAssociatedData(key.user_id, key.provider, key.base_url));
    crypto::WipeString(*plain);
    if (!sealed.ok()) return sealed.status();
    key.ciphertext = *std::move(sealed);
    data.keys.push_back(std::move(key));
  }
  if (failed > 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "ENCRYPTION_SECRET (with ENCRYPTION_SALT) does not decrypt the original byok-relay database at ",
        options.db_path, ": ", failed, " of ", original.keys.size(),
        " stored keys fail. Nothing was changed. Start with the ENCRYPTION_SECRET and "
        "ENCRYPTION_SALT the original ran with."));
  }

  for (const OriginalRequestLog& r : original.request_logs) {
    UsageRecord usage;
    usage.user_id = r.user_id;
    usage.app_id = r.app_id;
    usage.provider = r.provider;
    usage.model = r.model;
    usage.status = static_cast<int32_t>(r.status);
    usage.latency_ms = r.latency_ms;
    usage.at = absl::FromUnixMillis(r.created_at_ms);
    data.usage.push_back(std::move(usage));
  }
  report.users = static_cast<int64_t>(data.users.size());
  report.keys = static_cast<int64_t>(data.keys.size());
  report.usage_records = static_cast<int64_t>(data.usage.size());
  report.legacy_plaintext_tokens = original.legacy_plaintext_tokens;
  return data;
}

// Adoption into another, empty store: the original file is only read.
absl::StatusOr<AdoptionReport> AdoptInto(KeyStore& target, const AdoptionOptions& options,
                                         const OriginalCounts& verified, const ImportData& data,
                                         AdoptionReport report) {
  BYOK_ASSIGN_OR_RETURN(bool empty, target.Empty());
  if (!empty) {
    return absl::FailedPreconditionError(
        "the vault's database already holds users, keys or usage records (adopted before?); "
        "adoption goes only into an empty database. Nothing was changed");
  }
  if (options.dry_run) {
    report.outcome = AdoptionReport::Outcome::kWouldAdopt;
    return report;
  }
  {
    BYOK_ASSIGN_OR_RETURN(std::unique_ptr<DatabaseSnapshot> snapshot,
                          DatabaseSnapshot::Open(options.db_path));
    BYOK_ASSIGN_OR_RETURN(OriginalCounts now, CountOriginal(snapshot->db()));
    if (!(now == verified)) {
      return absl::AbortedError(
          "the original database changed while it was being adopted (is the original server still "
          "running?); nothing was changed: stop it and start again");
    }
  }
  BYOK_RETURN_IF_ERROR(target.Import(data));
  report.outcome = AdoptionReport::Outcome::kAdopted;
  return report;
}

}  // namespace

std::string AdoptionReport::Describe(const std::string& db_path) const {
  if (outcome == Outcome::kNotOriginal) {
    return absl::StrCat(db_path, " is not an original byok-relay database: nothing to adopt");
  }
  std::string text = absl::StrCat(
      outcome == Outcome::kAdopted ? "adopted" : "would adopt", " the original byok-relay database at ",
      db_path, ": ", users, " users (", active_users, " with a working token), ", keys,
      " keys (every one decrypted with ENCRYPTION_SECRET), ", usage_records, " request records");
  if (orphan_keys > 0) absl::StrAppend(&text, "; ", orphan_keys, " keys of no user left out");
  if (legacy_plaintext_tokens) absl::StrAppend(&text, "; plaintext tokens hashed");
  if (backups.empty()) {
    absl::StrAppend(&text, "; into the vault's PostgreSQL database, the original file left as it was");
  } else {
    absl::StrAppend(&text, outcome == Outcome::kAdopted ? "; backup: " : "; would back up to: ");
    for (size_t i = 0; i < backups.size(); ++i) absl::StrAppend(&text, i == 0 ? "" : ", ", backups[i]);
  }
  if (outcome == Outcome::kWouldAdopt) absl::StrAppend(&text, ". Nothing was written (dry run).");
  return text;
}

absl::StatusOr<AdoptionReport> AdoptOriginalDatabase(const AdoptionOptions& options,
                                                     const crypto::KeyringAead& keyring,
                                                     const TokenHasher& hasher) {
  AdoptionReport report;
  BYOK_ASSIGN_OR_RETURN(bool original, IsOriginal(options.db_path));
  if (!original) return report;

  OriginalCounts verified;
  ImportData data;
  {
    BYOK_ASSIGN_OR_RETURN(std::unique_ptr<DatabaseSnapshot> snapshot,
                          DatabaseSnapshot::Open(options.db_path));
    BYOK_ASSIGN_OR_RETURN(OriginalData rows, ReadOriginal(snapshot->db()));
    verified = rows.counts();
    BYOK_ASSIGN_OR_RETURN(data, Convert(rows, options, keyring, hasher, report));
  }
  if (options.target != nullptr) return AdoptInto(*options.target, options, verified, data, report);
  const std::vector<std::string> files = DatabaseFiles(options.db_path);
  for (const std::string& file : files) report.backups.push_back(BackupName(file, options.now));
  if (options.dry_run) {
    report.outcome = AdoptionReport::Outcome::kWouldAdopt;
    return report;
  }

  for (size_t i = 0; i < files.size(); ++i) BYOK_RETURN_IF_ERROR(CopyExact(files[i], report.backups[i]));
  SyncFolder(options.db_path);
  log::Info(kLog, "backed up the original database to %s", report.backups.front());

  auto clear_original = [&verified](SqliteDb& db) -> absl::Status {
    BYOK_ASSIGN_OR_RETURN(OriginalCounts now, CountOriginal(db));
    if (!(now == verified)) {
      return absl::AbortedError(
          "the original database changed while it was being adopted (is the original server still "
          "running?); nothing was changed: stop it and start again");
    }
    return DropOriginalTables(db);
  };
  BYOK_RETURN_IF_ERROR(SqliteKeyStore::ReplaceOriginal(options.db_path, options.now, clear_original, data));
  report.outcome = AdoptionReport::Outcome::kAdopted;
  return report;
}

}  // namespace byok::vault
