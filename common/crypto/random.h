// Cryptographically secure random bytes from OpenSSL's DRBG.
#ifndef BYOK_COMMON_CRYPTO_RANDOM_H_
#define BYOK_COMMON_CRYPTO_RANDOM_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "common/crypto/secret_bytes.h"

namespace byok::crypto {

// Returns `size` random bytes (RAND_bytes). Fails with Internal when the generator cannot deliver.
// Thread-safe.
absl::StatusOr<std::string> RandomBytes(size_t size);

// Returns `size` random bytes held in a self-wiping buffer. Thread-safe.
absl::StatusOr<SecretBytes> RandomSecret(size_t size);

}  // namespace byok::crypto

#endif  // BYOK_COMMON_CRYPTO_RANDOM_H_
