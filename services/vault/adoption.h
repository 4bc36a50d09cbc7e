// Adoption of an original byok-relay deployment's database (compat.md §10, "Adoption"): started with
// the original's environment, the vault takes over its users, tokens, keys and request counts.
//
// In order, all before the vault opens its store:
//   1. Recognise the original's tables at DB_PATH (a file of this vault, or none, is left alone).
//   2. Read every row from a snapshot that leaves the file's bytes alone, and verify ENCRYPTION_SECRET
//      and ENCRYPTION_SALT by decrypting every stored key (scrypt, AES-256-GCM with 16-byte nonces).
//      A key that does not decrypt stops adoption: nothing has been written, not even a backup.
//   3. Copy the database and any -wal/-shm beside it, byte for byte, to the same names with
//      ".original-<UTC timestamp>" appended.
//   4. In one transaction: check the rows are still those verified, drop the original's tables, create
//      this vault's schema, and insert every user (id, token hash and HMAC version, app, created and
//      expiry times), every key re-encrypted under the keyring, and every request log as usage.
// A second start finds this vault's schema and does nothing: adoption is idempotent.
// Into another store (AdoptionOptions::target, PostgreSQL), step 3 is skipped and step 4 is one
// transaction of that store, with the original's rows checked unchanged just before; the file keeps its
// bytes. Run again, it finds the target holding data and refuses.
#ifndef BYOK_SERVICES_VAULT_ADOPTION_H_
#define BYOK_SERVICES_VAULT_ADOPTION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/crypto/keyring_aead.h"
#include "common/crypto/original_key_cipher.h"
#include "common/crypto/secret_bytes.h"
#include "services/vault/key_store.h"
#include "services/vault/token.h"

namespace byok::vault {

struct AdoptionOptions {
  std::string db_path;
  // The original's ENCRYPTION_SECRET and ENCRYPTION_SALT (empty salt: the original's default).
  crypto::SecretBytes encryption_secret;
  std::string salt;
  // The original's key cipher, when the caller has derived it already (scrypt costs tens of
  // milliseconds and 16 MiB); derived from encryption_secret and salt when null.
  const crypto::OriginalKeyCipher* cipher = nullptr;
  // Report what would happen; write nothing.
  bool dry_run = false;
  // Where the rows go. Unset: into db_path itself, in place (the original's tables replaced, after a
  // backup). Set (the vault on PostgreSQL): into this store, which must be empty; the original file is
  // only read and stays as it is, so no backup is made.
  KeyStore* target = nullptr;
  absl::Time now = absl::Now();
};

// What adoption did, or would do.
struct AdoptionReport {
  enum class Outcome {
    kNotOriginal,  // no original database at db_path: nothing to do
    kWouldAdopt,   // dry run: verified, nothing written
    kAdopted,
  };
  Outcome outcome = Outcome::kNotOriginal;
  int64_t users = 0, active_users = 0, keys = 0, usage_records = 0;
  int64_t orphan_keys = 0;          // keys of no user (unreachable in the original too): left out
  bool legacy_plaintext_tokens = false;  // the users table still had plaintext tokens (§10.4)
  std::vector<std::string> backups;      // backup files written (or, dry run, to be written)

  // Returns a few lines for the operator (counts and file names; never a secret).
  std::string Describe(const std::string& db_path) const;
};

// Adopts the original database at options.db_path, if there is one (see the file comment). Keys are
// re-encrypted under `keyring`; a legacy plaintext token is hashed under `hasher`'s current key.
// FailedPrecondition, with a message for the operator, when the secret does not decrypt every key or
// a row is malformed; Aborted when the database changed during adoption. Not thread-safe: run once,
// before the store opens.
absl::StatusOr<AdoptionReport> AdoptOriginalDatabase(const AdoptionOptions& options,
                                                     const crypto::KeyringAead& keyring,
                                                     const TokenHasher& hasher);

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_ADOPTION_H_
