// What the vault derives from its configured secrets: the keyring that encrypts provider keys and the
// token hasher, including the older readings of those secrets that existing rows may need.
#ifndef BYOK_SERVICES_VAULT_VAULT_SECRETS_H_
#define BYOK_SERVICES_VAULT_VAULT_SECRETS_H_

#include <memory>

#include "absl/status/statusor.h"
#include "common/crypto/keyring_aead.h"
#include "services/vault/token.h"
#include "services/vault/vault_config.h"

namespace byok::vault {

// Returns the keyring. New rows are encrypted under a key derived (HKDF, keyring_aead.h) from
// ENCRYPTION_SECRET's bytes. Rows decrypt under that, under each ENCRYPTION_SECRET_PREVIOUS entry's
// bytes and, for any of these secrets that is 64 hex characters, under the 32 bytes it decodes to:
// this suite took only such secrets once and used their decoded bytes, so what it wrote then stays
// readable (Rewrap moves those rows to the current key).
absl::StatusOr<std::unique_ptr<crypto::KeyringAead>> BuildKeyring(const VaultConfig& config);

// Returns the token hasher, following the original byok-relay (compat.md §10.3): tokens are hashed
// under TOKEN_HMAC_SECRET when set, else under ENCRYPTION_SECRET (their bytes). Legacy keys tried
// when the current hash finds nobody, in order: ENCRYPTION_SECRET when TOKEN_HMAC_SECRET is set and
// differs (the original's fallback); for a 64-hex ENCRYPTION_SECRET, this suite's earlier key derived
// from its decoded bytes; then each ENCRYPTION_SECRET_PREVIOUS entry read the same two ways.
absl::StatusOr<std::unique_ptr<TokenHasher>> BuildTokenHasher(const VaultConfig& config);

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_VAULT_SECRETS_H_
