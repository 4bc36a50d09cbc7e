// Keyed hashing and key derivation over OpenSSL 3 (EVP_MAC HMAC-SHA256, EVP_KDF HKDF-SHA256 and scrypt).
#ifndef BYOK_COMMON_CRYPTO_KDF_H_
#define BYOK_COMMON_CRYPTO_KDF_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/crypto/secret_bytes.h"

namespace byok::crypto {

// Size of an HMAC-SHA256 tag and of a SHA-256 digest.
inline constexpr size_t kSha256Size = 32;

// Returns HKDF-SHA256 (RFC 5869) of input key material `ikm` with `salt` and `info`, `size` bytes long
// (at most 255 * 32). `ikm` must not be empty; an empty salt means the RFC's default. Thread-safe.
absl::StatusOr<SecretBytes> HkdfSha256(absl::string_view ikm, absl::string_view salt,
                                       absl::string_view info, size_t size);

// Returns scrypt (RFC 7914) of `password` with `salt`, cost `n` (a power of two), block size `r` and
// parallelism `p`, `size` bytes long. Memory use is about 128 * n * r bytes. Thread-safe.
absl::StatusOr<SecretBytes> Scrypt(absl::string_view password, absl::string_view salt, uint64_t n,
                                   uint32_t r, uint32_t p, size_t size);

// Returns HMAC-SHA256 (RFC 2104) of `data` under `key` (32 bytes). `key` must not be empty.
// Thread-safe.
absl::StatusOr<std::string> HmacSha256(absl::string_view key, absl::string_view data);

}  // namespace byok::crypto

#endif  // BYOK_COMMON_CRYPTO_KDF_H_
