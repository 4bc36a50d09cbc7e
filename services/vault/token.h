// Access tokens: generated once, handed to the user, and stored only as a keyed hash.
#ifndef BYOK_SERVICES_VAULT_TOKEN_H_
#define BYOK_SERVICES_VAULT_TOKEN_H_

#include <memory>
#include <string>

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

// Hashes tokens for storage and lookup: HMAC-SHA256 under a server-side key, so a stolen database does
// not yield usable tokens and cannot be brute-forced offline without the key. Thread-safe.
class TokenHasher {
 public:
  // Creates a hasher for `key` (at least 32 bytes).
  static absl::StatusOr<std::unique_ptr<TokenHasher>> Create(crypto::SecretBytes key);

  // Derives the hashing key from the encryption secret when TOKEN_HMAC_SECRET is not set
  // (HKDF-SHA256, its own info string, so it is independent of the key-encryption keys).
  static absl::StatusOr<crypto::SecretBytes> DeriveKey(const crypto::SecretBytes& encryption_secret);

  // Returns the 32-byte hash of `token`. Hex digits are compared case-insensitively (the token is
  // lower-cased first).
  absl::StatusOr<std::string> Hash(absl::string_view token) const;

  // Returns true when `token` hashes to `stored_hash`, comparing in constant time.
  bool Matches(absl::string_view token, absl::string_view stored_hash) const;

 private:
  explicit TokenHasher(crypto::SecretBytes key) : key_(std::move(key)) {}
  const crypto::SecretBytes key_;
};

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_TOKEN_H_
