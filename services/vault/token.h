// Access tokens: generated once, handed to the user, and stored only as a keyed hash.
#ifndef BYOK_SERVICES_VAULT_TOKEN_H_
#define BYOK_SERVICES_VAULT_TOKEN_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/crypto/secret_bytes.h"

namespace byok::vault {

// Random bits in a token, and the length of its hex text.
inline constexpr size_t kTokenBytes = 32;
inline constexpr size_t kTokenHexSize = 2 * kTokenBytes;

// Returns a new token: 256 random bits as 64 lower-case hex characters. Thread-safe.
absl::StatusOr<std::string> GenerateToken();

// Returns an opaque user id: 128 random bits as 32 hex characters, unrelated to any token. Thread-safe.
absl::StatusOr<std::string> GenerateUserId();

// Hashes tokens for storage and lookup: HMAC-SHA256 of the token's bytes under a server-side key, so a
// stolen database does not yield usable tokens and cannot be brute-forced offline without the key.
// Besides the current key it holds legacy keys, under which older rows may have been hashed; the
// vault tries them, in order, only when the current hash finds no user, and then rewrites the row's
// hash under the current key (the original byok-relay's lookup, compat.md §10.3). Thread-safe.
class TokenHasher {
 public:
  // Creates a hasher whose new hashes use `current`, trying `legacy` for older rows. Every key must
  // be at least 32 bytes.
  static absl::StatusOr<std::unique_ptr<TokenHasher>> Create(
      crypto::SecretBytes current, std::vector<crypto::SecretBytes> legacy = {});

  // This suite's derivation of the token key from a 32-byte encryption secret before it followed the
  // original (HKDF-SHA256, its own info string); kept so tokens it issued still work.
  static absl::StatusOr<crypto::SecretBytes> DeriveKey(const crypto::SecretBytes& encryption_secret);

  // Returns the 32-byte hash of `token` under the current key.
  absl::StatusOr<std::string> Hash(absl::string_view token) const;

  // Returns the hashes of `token` under each legacy key, in order.
  absl::StatusOr<std::vector<std::string>> LegacyHashes(absl::string_view token) const;

  // Returns true when `token` hashes to `stored_hash` under the current key, in constant time.
  bool Matches(absl::string_view token, absl::string_view stored_hash) const;

 private:
  TokenHasher(crypto::SecretBytes current, std::vector<crypto::SecretBytes> legacy)
      : current_(std::move(current)), legacy_(std::move(legacy)) {}
  const crypto::SecretBytes current_;
  const std::vector<crypto::SecretBytes> legacy_;
};

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_TOKEN_H_
