#include "common/crypto/kdf.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <memory>

#include "absl/status/status.h"

namespace byok::crypto {
namespace {

struct KdfDeleter {
  void operator()(EVP_KDF* p) const { EVP_KDF_free(p); }
  void operator()(EVP_KDF_CTX* p) const { EVP_KDF_CTX_free(p); }
  void operator()(EVP_MAC* p) const { EVP_MAC_free(p); }
  void operator()(EVP_MAC_CTX* p) const { EVP_MAC_CTX_free(p); }
};

// Fetching an algorithm is costly; fetched objects are immutable and safe to share between threads.
EVP_KDF* HkdfAlgorithm() {
  static EVP_KDF* const kdf = EVP_KDF_fetch(nullptr, OSSL_KDF_NAME_HKDF, nullptr);
  return kdf;
}

EVP_KDF* ScryptAlgorithm() {
  static EVP_KDF* const kdf = EVP_KDF_fetch(nullptr, OSSL_KDF_NAME_SCRYPT, nullptr);
  return kdf;
}

EVP_MAC* HmacAlgorithm() {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr);
  return mac;
}

void* Octets(absl::string_view s) { return const_cast<char*>(s.data()); }

char kSha256Name[] = "SHA256";

}  // namespace

absl::StatusOr<SecretBytes> HkdfSha256(absl::string_view ikm, absl::string_view salt,
                                       absl::string_view info, size_t size) {
  if (ikm.empty()) return absl::InvalidArgumentError("HKDF needs non-empty input key material");
  if (size == 0 || size > 255 * kSha256Size) {
    return absl::InvalidArgumentError("HKDF output size out of range");
  }
  if (HkdfAlgorithm() == nullptr) return absl::InternalError("HKDF is not available");
  std::unique_ptr<EVP_KDF_CTX, KdfDeleter> ctx(EVP_KDF_CTX_new(HkdfAlgorithm()));
  if (ctx == nullptr) return absl::InternalError("HKDF context allocation failed");

  OSSL_PARAM params[5];
  OSSL_PARAM* p = params;
  *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, kSha256Name, 0);
  *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, Octets(ikm), ikm.size());
  if (!salt.empty()) {
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, Octets(salt), salt.size());
  }
  *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, Octets(info), info.size());
  *p = OSSL_PARAM_construct_end();

  SecretBytes out = SecretBytes::Zeroed(size);
  if (EVP_KDF_derive(ctx.get(), out.mutable_data(), size, params) != 1) {
    return absl::InternalError("HKDF derivation failed");
  }
  return out;
}

absl::StatusOr<SecretBytes> Scrypt(absl::string_view password, absl::string_view salt, uint64_t n,
                                   uint32_t r, uint32_t p, size_t size) {
  if (size == 0) return absl::InvalidArgumentError("scrypt output size out of range");
  if (n < 2 || (n & (n - 1)) != 0 || r == 0 || p == 0) {
    return absl::InvalidArgumentError("scrypt parameters out of range");
  }
  if (ScryptAlgorithm() == nullptr) return absl::InternalError("scrypt is not available");
  std::unique_ptr<EVP_KDF_CTX, KdfDeleter> ctx(EVP_KDF_CTX_new(ScryptAlgorithm()));
  if (ctx == nullptr) return absl::InternalError("scrypt context allocation failed");
  // Room for the parameters asked for (OpenSSL's default limit is 32 MiB), with a margin.
  uint64_t maxmem = 256 * n * r * p + (uint64_t{1} << 20);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, Octets(password), password.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, Octets(salt), salt.size()),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
      OSSL_PARAM_construct_end(),
  };
  SecretBytes out = SecretBytes::Zeroed(size);
  if (EVP_KDF_derive(ctx.get(), out.mutable_data(), size, params) != 1) {
    return absl::InternalError("scrypt derivation failed");
  }
  return out;
}

absl::StatusOr<std::string> HmacSha256(absl::string_view key, absl::string_view data) {
  if (key.empty()) return absl::InvalidArgumentError("HMAC needs a non-empty key");
  if (HmacAlgorithm() == nullptr) return absl::InternalError("HMAC is not available");
  std::unique_ptr<EVP_MAC_CTX, KdfDeleter> ctx(EVP_MAC_CTX_new(HmacAlgorithm()));
  if (ctx == nullptr) return absl::InternalError("HMAC context allocation failed");
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, kSha256Name, 0),
      OSSL_PARAM_construct_end(),
  };
  if (EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                   params) != 1 ||
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(data.data()),
                     data.size()) != 1) {
    return absl::InternalError("HMAC computation failed");
  }
  std::string out(kSha256Size, '\0');
  size_t written = 0;
  if (EVP_MAC_final(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &written,
                    out.size()) != 1 ||
      written != kSha256Size) {
    return absl::InternalError("HMAC computation failed");
  }
  return out;
}

}  // namespace byok::crypto
