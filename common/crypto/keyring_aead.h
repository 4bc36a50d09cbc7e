// A versioned AEAD over AES-256-GCM whose keys are derived from operator secrets, for secret rotation.
#ifndef BYOK_COMMON_CRYPTO_KEYRING_AEAD_H_
#define BYOK_COMMON_CRYPTO_KEYRING_AEAD_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/crypto/aead.h"
#include "common/crypto/secret_bytes.h"

namespace byok::crypto {

// Encrypts under the key derived from the primary secret and decrypts under the primary or any
// previous secret, so rows written before a rotation stay readable until they are re-encrypted.
//
// Each secret yields two values through HKDF-SHA256 (salt "byok-relay/keyring/v1"):
//   key-encryption key  info "kek/aes-256-gcm" (32 bytes): never the secret itself;
//   key id              info "key-id" (4 bytes, big-endian): a fingerprint of the secret, so a stored
//                       ciphertext names the secret it needs without revealing it.
//
// Ciphertext layout (bytes):
//   format (1) = 0x01 || key id (4) || nonce (12, random) || encrypted plaintext || tag (16)
// The format byte and key id are authenticated with the caller's associated data (GCM's AAD is
// header || associated_data), so neither can be altered without failing the tag.
//
// Thread-safe: immutable after Create.
class KeyringAead : public Aead {
 public:
  // The first byte of every ciphertext written by this version of the layout.
  static constexpr uint8_t kFormat = 0x01;
  // Bytes before the GCM nonce: format and key id.
  static constexpr size_t kHeaderSize = 5;
  // Bytes a ciphertext adds to its plaintext.
  static constexpr size_t kOverhead = kHeaderSize + 12 + 16;

  // Creates the keyring. `primary` encrypts; `previous` (any number, possibly empty) only decrypt.
  // Each secret must be at least 32 bytes. Fails with InvalidArgument when two secrets share a key id.
  static absl::StatusOr<std::unique_ptr<KeyringAead>> Create(const SecretBytes& primary,
                                                             const std::vector<SecretBytes>& previous);

  // Returns the key id a secret yields (its fingerprint). Thread-safe.
  static absl::StatusOr<uint32_t> KeyIdForSecret(const SecretBytes& secret);

  // Returns the key id stored in `ciphertext`, or InvalidArgument when it is not of this layout.
  static absl::StatusOr<uint32_t> KeyIdOf(absl::string_view ciphertext);

  // Returns the key id new ciphertexts are written under.
  uint32_t primary_key_id() const { return keys_.front().first; }

  // Returns true when a ciphertext under `key_id` can be decrypted with the configured secrets.
  bool HasKey(uint32_t key_id) const;

  absl::StatusOr<std::string> Encrypt(absl::string_view plaintext,
                                      absl::string_view associated_data) const override;

  // Fails with NotFound when the ciphertext's key id matches no configured secret (a retired secret),
  // InvalidArgument when it is malformed or does not authenticate.
  absl::StatusOr<std::string> Decrypt(absl::string_view ciphertext,
                                      absl::string_view associated_data) const override;

 private:
  explicit KeyringAead(std::vector<std::pair<uint32_t, SecretBytes>> keys) : keys_(std::move(keys)) {}

  const SecretBytes* FindKey(uint32_t key_id) const;

  // (key id, key-encryption key); the primary first.
  const std::vector<std::pair<uint32_t, SecretBytes>> keys_;
};

}  // namespace byok::crypto

#endif  // BYOK_COMMON_CRYPTO_KEYRING_AEAD_H_
