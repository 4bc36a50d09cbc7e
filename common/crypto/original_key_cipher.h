// The original Node.js byok-relay's at-rest format for provider keys, read only when adopting one of
// its databases (and written by tests that build such databases).
#ifndef BYOK_COMMON_CRYPTO_ORIGINAL_KEY_CIPHER_H_
#define BYOK_COMMON_CRYPTO_ORIGINAL_KEY_CIPHER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/crypto/secret_bytes.h"

namespace byok::crypto {

// One stored key in the original's three lower-case hex columns.
struct OriginalSealedKey {
  std::string encrypted_key_hex;  // ciphertext, as long as the plaintext
  std::string iv_hex;             // 16-byte nonce
  std::string auth_tag_hex;       // 16-byte GCM tag
};

// The original's scheme: key = scrypt(password = ENCRYPTION_SECRET bytes, salt = ENCRYPTION_SALT bytes,
// N = 16384, r = 8, p = 1, 32 bytes); AES-256-GCM with a random 16-byte nonce and no associated data.
// Deriving the key costs about 16 MiB and tens of milliseconds: create one per adoption, not per row.
// Thread-safe: immutable after Create.
class OriginalKeyCipher {
 public:
  // The salt the original uses when ENCRYPTION_SALT is unset or empty.
  static constexpr char kDefaultSalt[] = "byok-relay-salt";

  // Derives the key. `secret` must not be empty; an empty `salt` means kDefaultSalt.
  static absl::StatusOr<std::unique_ptr<OriginalKeyCipher>> Create(absl::string_view secret,
                                                                   absl::string_view salt);

  // Decrypts one row. InvalidArgument when a column is not hex of the right size or the tag does not
  // verify (a wrong secret or salt, or a damaged row); the message never quotes the row.
  absl::StatusOr<std::string> Decrypt(const OriginalSealedKey& sealed) const;

  // Encrypts as the original does, with a fresh nonce.
  absl::StatusOr<OriginalSealedKey> Encrypt(absl::string_view plaintext) const;

 private:
  explicit OriginalKeyCipher(SecretBytes key) : key_(std::move(key)) {}
  const SecretBytes key_;
};

}  // namespace byok::crypto

#endif  // BYOK_COMMON_CRYPTO_ORIGINAL_KEY_CIPHER_H_
