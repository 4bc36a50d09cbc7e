// AES-256-GCM over OpenSSL 3 EVP.
#ifndef BYOK_COMMON_CRYPTO_AES_GCM_H_
#define BYOK_COMMON_CRYPTO_AES_GCM_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/crypto/aead.h"
#include "common/crypto/secret_bytes.h"

namespace byok::crypto {

inline constexpr size_t kAes256KeySize = 32;
inline constexpr size_t kGcmNonceSize = 12;  // 96 bits, the size GCM is designed for
inline constexpr size_t kGcmTagSize = 16;    // 128 bits
// The original byok-relay's nonce size (GHASH-derived counter); accepted by AesGcmSeal/AesGcmOpen only so
// its stored keys can be read on adoption and its format reproduced in tests.
inline constexpr size_t kGcmLongNonceSize = 16;

// AES-256-GCM with a random 96-bit nonce per message and a 128-bit tag.
//
// Ciphertext layout (all lengths in bytes):
//   nonce (12) || encrypted plaintext (same length as the plaintext) || tag (16)
//
// A key must not encrypt more than 2^32 messages with random nonces (NIST SP 800-38D, 8.3); the vault
// writes far fewer per key version. Thread-safe.
class AesGcmAead : public Aead {
 public:
  // Creates the AEAD for a 32-byte key. Fails with InvalidArgument for another size.
  static absl::StatusOr<std::unique_ptr<AesGcmAead>> Create(SecretBytes key);

  absl::StatusOr<std::string> Encrypt(absl::string_view plaintext,
                                      absl::string_view associated_data) const override;
  absl::StatusOr<std::string> Decrypt(absl::string_view ciphertext,
                                      absl::string_view associated_data) const override;

 private:
  explicit AesGcmAead(SecretBytes key) : key_(std::move(key)) {}

  const SecretBytes key_;
};

// Low-level GCM with a caller-chosen nonce (12 bytes, or 16 for the original's format), for
// known-answer tests and for layouts that frame the nonce themselves. Never reuse a nonce with the same
// key. Returns encrypted plaintext || tag (16).
absl::StatusOr<std::string> AesGcmSeal(absl::string_view key, absl::string_view nonce,
                                       absl::string_view plaintext, absl::string_view associated_data);

// Opens encrypted plaintext || tag (16) produced by AesGcmSeal. Fails with InvalidArgument when the
// tag does not verify or the input is shorter than a tag.
absl::StatusOr<std::string> AesGcmOpen(absl::string_view key, absl::string_view nonce,
                                       absl::string_view sealed, absl::string_view associated_data);

}  // namespace byok::crypto

#endif  // BYOK_COMMON_CRYPTO_AES_GCM_H_
