#include "common/crypto/aes_gcm.h"

#include <openssl/evp.h>

#include <climits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/crypto/random.h"

namespace byok::crypto {
namespace {

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

const unsigned char* U(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

absl::Status CheckSizes(absl::string_view key, absl::string_view nonce, size_t data_size,
                        size_t aad_size) {
  if (key.size() != kAes256KeySize) return absl::InvalidArgumentError("AES-256 needs a 32-byte key");
  if (nonce.size() != kGcmNonceSize && nonce.size() != kGcmLongNonceSize) {
    return absl::InvalidArgumentError("GCM needs a 12-byte (or, read-only formats, 16-byte) nonce");
  }
  if (data_size > static_cast<size_t>(INT_MAX) - kGcmTagSize || aad_size > static_cast<size_t>(INT_MAX)) {
    return absl::InvalidArgumentError("message too large");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> AesGcmSeal(absl::string_view key, absl::string_view nonce,
                                       absl::string_view plaintext,
                                       absl::string_view associated_data) {
  if (absl::Status s = CheckSizes(key, nonce, plaintext.size(), associated_data.size()); !s.ok()) {
    return s;
  }
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr) return absl::InternalError("cipher context allocation failed");
  std::string out(plaintext.size() + kGcmTagSize, '\0');
  auto* out_bytes = reinterpret_cast<unsigned char*>(out.data());
  int len = 0;
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()),
                          nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, U(key), U(nonce)) != 1) {
    return absl::InternalError("AES-GCM initialisation failed");
  }
  if (!associated_data.empty() &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, U(associated_data),
                        static_cast<int>(associated_data.size())) != 1) {
    return absl::InternalError("AES-GCM failed on associated data");
  }
  int written = 0;
  if (!plaintext.empty()) {
    if (EVP_EncryptUpdate(ctx.get(), out_bytes, &len, U(plaintext),
                          static_cast<int>(plaintext.size())) != 1) {
      return absl::InternalError("AES-GCM encryption failed");
    }
    written = len;
  }
  if (EVP_EncryptFinal_ex(ctx.get(), out_bytes + written, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kGcmTagSize),
                          out_bytes + plaintext.size()) != 1) {
    return absl::InternalError("AES-GCM encryption failed");
  }
  return out;
}

absl::StatusOr<std::string> AesGcmOpen(absl::string_view key, absl::string_view nonce,
                                       absl::string_view sealed,
                                       absl::string_view associated_data) {
  if (sealed.size() < kGcmTagSize) return absl::InvalidArgumentError("ciphertext too short");
  const size_t data_size = sealed.size() - kGcmTagSize;
  if (absl::Status s = CheckSizes(key, nonce, data_size, associated_data.size()); !s.ok()) return s;
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr) return absl::InternalError("cipher context allocation failed");
  std::string out(data_size, '\0');
  auto* out_bytes = reinterpret_cast<unsigned char*>(out.data());
  int len = 0;
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()),
                          nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, U(key), U(nonce)) != 1) {
    return absl::InternalError("AES-GCM initialisation failed");
  }
  if (!associated_data.empty() &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, U(associated_data),
                        static_cast<int>(associated_data.size())) != 1) {
    return absl::InternalError("AES-GCM failed on associated data");
  }
  int written = 0;
  if (data_size > 0) {
    if (EVP_DecryptUpdate(ctx.get(), out_bytes, &len, U(sealed), static_cast<int>(data_size)) != 1) {
      WipeString(out);
      return absl::InternalError("AES-GCM decryption failed");
    }
    written = len;
  }
  // The tag must be set before the final step, which verifies it. EVP wants a non-const pointer.
  std::string tag(sealed.substr(data_size));
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kGcmTagSize),
                          tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), out_bytes + written, &len) != 1) {
    WipeString(out);
    return absl::InvalidArgumentError("ciphertext failed authentication");
  }
  return out;
}

absl::StatusOr<std::unique_ptr<AesGcmAead>> AesGcmAead::Create(SecretBytes key) {
  if (key.size() != kAes256KeySize) return absl::InvalidArgumentError("AES-256 needs a 32-byte key");
  return std::unique_ptr<AesGcmAead>(new AesGcmAead(std::move(key)));
}

absl::StatusOr<std::string> AesGcmAead::Encrypt(absl::string_view plaintext,
                                                 absl::string_view associated_data) const {
  absl::StatusOr<std::string> nonce = RandomBytes(kGcmNonceSize);
  if (!nonce.ok()) return nonce.status();
  absl::StatusOr<std::string> sealed = AesGcmSeal(key_.view(), *nonce, plaintext, associated_data);
  if (!sealed.ok()) return sealed.status();
  return absl::StrCat(*nonce, *sealed);
}

absl::StatusOr<std::string> AesGcmAead::Decrypt(absl::string_view ciphertext,
                                                 absl::string_view associated_data) const {
  if (ciphertext.size() < kGcmNonceSize + kGcmTagSize) {
    return absl::InvalidArgumentError("ciphertext too short");
  }
  return AesGcmOpen(key_.view(), ciphertext.substr(0, kGcmNonceSize),
                    ciphertext.substr(kGcmNonceSize), associated_data);
}

}  // namespace byok::crypto
