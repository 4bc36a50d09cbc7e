// Moving a deployment between stores (`byok-vaultd migrate --from ... --to ...`): SQLite to PostgreSQL
// when the vault scales out, and back. Rows are copied as stored: ciphertexts are never decrypted (the
// tool needs no secret), token hashes, expiry times, key versions and usage records keep their values,
// so the vault reads the target exactly as it read the source.
#ifndef BYOK_SERVICES_VAULT_STORE_COPY_H_
#define BYOK_SERVICES_VAULT_STORE_COPY_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "services/vault/key_store.h"

namespace byok::vault {

struct StoreCopyReport {
  int64_t users = 0, keys = 0, usage_records = 0;
};

// Copies every row of `from` into `to` in one transaction of `to` (all or nothing), then reads `to`
// back and compares it with what was read (DataLoss on any difference). FailedPrecondition, with
// nothing written, when `to` holds any row.
absl::StatusOr<StoreCopyReport> CopyStore(KeyStore& from, KeyStore& to);

// The command: opens the source (which must exist; an original byok-relay database is refused: adopt
// it first) and the target (created when it is a new SQLite file, migrated to the current schema), then
// CopyStore. Each location is a SQLite file path or a postgres:// / postgresql:// URI.
absl::StatusOr<StoreCopyReport> CopyStoreAt(const std::string& from, const std::string& to);

// Returns a line for the operator (counts and locations, never a password).
std::string DescribeCopy(const StoreCopyReport& report, const std::string& from,
                         const std::string& to);

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_STORE_COPY_H_
