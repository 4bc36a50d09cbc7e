#include "common/crypto/original_key_cipher.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/crypto/aes_gcm.h"
#include "common/crypto/hex.h"
#include "common/crypto/kdf.h"
#include "common/crypto/random.h"

namespace byok::crypto {
namespace {

constexpr uint64_t kScryptN = 16384;
constexpr uint32_t kScryptR = 8;
constexpr uint32_t kScryptP = 1;

}  // namespace

absl::StatusOr<std::unique_ptr<OriginalKeyCipher>> OriginalKeyCipher::Create(absl::string_view secret,
                                                                               absl::string_view salt) {
  if (secret.empty()) return absl::InvalidArgumentError("the original's ENCRYPTION_SECRET is empty");
  absl::StatusOr<SecretBytes> key = Scrypt(secret, salt.empty() ? kDefaultSalt : salt, kScryptN,
                                           kScryptR, kScryptP, kAes256KeySize);
  if (!key.ok()) return key.status();
  return std::unique_ptr<OriginalKeyCipher>(new OriginalKeyCipher(*std::move(key)));
}

absl::StatusOr<std::string> OriginalKeyCipher::Decrypt(const OriginalSealedKey& sealed) const {
  absl::StatusOr<std::string> ciphertext = HexDecode(sealed.encrypted_key_hex);
  absl::StatusOr<std::string> iv = HexDecode(sealed.iv_hex);
  absl::StatusOr<std::string> tag = HexDecode(sealed.auth_tag_hex);
  if (!ciphertext.ok() || !iv.ok() || !tag.ok() || iv->size() != kGcmLongNonceSize ||
      tag->size() != kGcmTagSize) {
    return absl::InvalidArgumentError("a stored key's columns are not hex of the original's sizes");
  }
  return AesGcmOpen(key_.view(), *iv, absl::StrCat(*ciphertext, *tag), "");
}

absl::StatusOr<OriginalSealedKey> OriginalKeyCipher::Encrypt(absl::string_view plaintext) const {
  absl::StatusOr<std::string> iv = RandomBytes(kGcmLongNonceSize);
  if (!iv.ok()) return iv.status();
  absl::StatusOr<std::string> sealed = AesGcmSeal(key_.view(), *iv, plaintext, "");
  if (!sealed.ok()) return sealed.status();
  const absl::string_view bytes = *sealed;
  OriginalSealedKey out;
  out.encrypted_key_hex = HexEncode(bytes.substr(0, plaintext.size()));
  out.iv_hex = HexEncode(*iv);
  out.auth_tag_hex = HexEncode(bytes.substr(plaintext.size()));
  return out;
}

}  // namespace byok::crypto
