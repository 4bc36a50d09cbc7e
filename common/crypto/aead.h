// Authenticated encryption with associated data: the whole crypto surface the vault stores keys with.
#ifndef BYOK_COMMON_CRYPTO_AEAD_H_
#define BYOK_COMMON_CRYPTO_AEAD_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace byok::crypto {

// Encrypts and authenticates plaintext, binding it to associated data that is authenticated but not
// stored in the ciphertext: decryption must present the same associated data or it fails.
// Implementations are thread-safe: both methods are const and may be called concurrently.
class Aead {
 public:
  virtual ~Aead() = default;

  // Returns the ciphertext of `plaintext` bound to `associated_data`. A fresh random nonce is used for
  // every call, so encrypting the same plaintext twice gives different ciphertexts.
  virtual absl::StatusOr<std::string> Encrypt(absl::string_view plaintext,
                                              absl::string_view associated_data) const = 0;

  // Returns the plaintext of `ciphertext` when it is authentic under `associated_data`; otherwise fails
  // (InvalidArgument for a malformed or tampered ciphertext, NotFound for an unknown key). The caller
  // should wipe the returned plaintext when done with it.
  virtual absl::StatusOr<std::string> Decrypt(absl::string_view ciphertext,
                                              absl::string_view associated_data) const = 0;
};

}  // namespace byok::crypto

#endif  // BYOK_COMMON_CRYPTO_AEAD_H_
