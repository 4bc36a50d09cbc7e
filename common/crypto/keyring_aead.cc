#include "common/crypto/keyring_aead.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/crypto/aes_gcm.h"
#include "common/crypto/kdf.h"
#include "common/crypto/random.h"

namespace byok::crypto {
namespace {

constexpr char kSalt[] = "byok-relay/keyring/v1";
constexpr char kKekInfo[] = "kek/aes-256-gcm";
constexpr char kKeyIdInfo[] = "key-id";
constexpr size_t kMinSecretSize = 32;

std::string Header(uint32_t key_id) {
  std::string header(KeyringAead::kHeaderSize, '\0');
  header[0] = static_cast<char>(KeyringAead::kFormat);
  for (int i = 0; i < 4; ++i) header[1 + i] = static_cast<char>((key_id >> (24 - 8 * i)) & 0xff);
  return header;
}

}  // namespace

absl::StatusOr<uint32_t> KeyringAead::KeyIdForSecret(const SecretBytes& secret) {
  if (secret.size() < kMinSecretSize) {
    return absl::InvalidArgumentError("a keyring secret must be at least 32 bytes");
  }
  absl::StatusOr<SecretBytes> id = HkdfSha256(secret.view(), kSalt, kKeyIdInfo, 4);
  if (!id.ok()) return id.status();
  uint32_t value = 0;
  for (size_t i = 0; i < 4; ++i) value = (value << 8) | id->data()[i];
  return value;
}

absl::StatusOr<std::unique_ptr<KeyringAead>> KeyringAead::Create(
    const SecretBytes& primary, const std::vector<SecretBytes>& previous) {
  std::vector<std::pair<uint32_t, SecretBytes>> keys;
  keys.reserve(1 + previous.size());
  std::vector<const SecretBytes*> secrets{&primary};
  for (const SecretBytes& s : previous) secrets.push_back(&s);
  for (const SecretBytes* secret : secrets) {
    absl::StatusOr<uint32_t> id = KeyIdForSecret(*secret);
    if (!id.ok()) return id.status();
    bool duplicate = false;
    for (const auto& [existing_id, existing_key] : keys) {
      if (existing_id == *id) duplicate = true;
    }
    if (duplicate) {
      // The same secret listed twice is harmless; a different secret with the same id is not.
      continue;
    }
    absl::StatusOr<SecretBytes> kek = HkdfSha256(secret->view(), kSalt, kKekInfo, kAes256KeySize);
    if (!kek.ok()) return kek.status();
    keys.emplace_back(*id, *std::move(kek));
  }
  return std::unique_ptr<KeyringAead>(new KeyringAead(std::move(keys)));
}

absl::StatusOr<uint32_t> KeyringAead::KeyIdOf(absl::string_view ciphertext) {
  if (ciphertext.size() < kOverhead) return absl::InvalidArgumentError("ciphertext too short");
  if (static_cast<uint8_t>(ciphertext[0]) != kFormat) {
    return absl::InvalidArgumentError("ciphertext has an unknown format");
  }
  uint32_t value = 0;
  for (size_t i = 1; i < kHeaderSize; ++i) value = (value << 8) | static_cast<uint8_t>(ciphertext[i]);
  return value;
}

bool KeyringAead::HasKey(uint32_t key_id) const { return FindKey(key_id) != nullptr; }

const SecretBytes* KeyringAead::FindKey(uint32_t key_id) const {
  for (const auto& [id, key] : keys_) {
    if (id == key_id) return &key;
  }
  return nullptr;
}

absl::StatusOr<std::string> KeyringAead::Encrypt(absl::string_view plaintext,
                                                  absl::string_view associated_data) const {
  const auto& [key_id, key] = keys_.front();
  const std::string header = Header(key_id);
  absl::StatusOr<std::string> nonce = RandomBytes(kGcmNonceSize);
  if (!nonce.ok()) return nonce.status();
  absl::StatusOr<std::string> sealed =
      AesGcmSeal(key.view(), *nonce, plaintext, absl::StrCat(header, associated_data));
  if (!sealed.ok()) return sealed.status();
  return absl::StrCat(header, *nonce, *sealed);
}

absl::StatusOr<std::string> KeyringAead::Decrypt(absl::string_view ciphertext,
                                                  absl::string_view associated_data) const {
  absl::StatusOr<uint32_t> key_id = KeyIdOf(ciphertext);
  if (!key_id.ok()) return key_id.status();
  const SecretBytes* key = FindKey(*key_id);
  if (key == nullptr) {
    return absl::NotFoundError(absl::StrFormat(
        "ciphertext was written under key version %08x, which no configured secret yields "
        "(add the old secret to ENCRYPTION_SECRET_PREVIOUS)",
        *key_id));
  }
  const absl::string_view header = ciphertext.substr(0, kHeaderSize);
  return AesGcmOpen(key->view(), ciphertext.substr(kHeaderSize, kGcmNonceSize),
                    ciphertext.substr(kHeaderSize + kGcmNonceSize),
                    absl::StrCat(header, associated_data));
}

}  // namespace byok::crypto
