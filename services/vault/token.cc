#include "services/vault/token.h"

#include "absl/strings/ascii.h"
#include "common/crypto/hex.h"
#include "common/crypto/kdf.h"
#include "common/crypto/random.h"
#include "common/status.h"

namespace byok::vault {

absl::StatusOr<std::string> GenerateToken() {
  BYOK_ASSIGN_OR_RETURN(crypto::SecretBytes bytes, crypto::RandomSecret(kTokenBytes));
  return crypto::HexEncode(bytes.view());
}

absl::StatusOr<std::string> GenerateUserId() {
  BYOK_ASSIGN_OR_RETURN(std::string bytes, crypto::RandomBytes(16));
  return crypto::HexEncode(bytes);
}

absl::StatusOr<std::unique_ptr<TokenHasher>> TokenHasher::Create(crypto::SecretBytes key) {
  if (key.size() < 32) return absl::InvalidArgumentError("the token hashing key must be 32 bytes or more");
  return std::unique_ptr<TokenHasher>(new TokenHasher(std::move(key)));
}

absl::StatusOr<crypto::SecretBytes> TokenHasher::DeriveKey(
    const crypto::SecretBytes& encryption_secret) {
  return crypto::HkdfSha256(encryption_secret.view(), "byok-relay/tokens/v1", "token-hmac", 32);
}

absl::StatusOr<std::string> TokenHasher::Hash(absl::string_view token) const {
  std::string lower = absl::AsciiStrToLower(token);
  absl::StatusOr<std::string> hash = crypto::HmacSha256(key_.view(), lower);
  crypto::WipeString(lower);
  return hash;
}

bool TokenHasher::Matches(absl::string_view token, absl::string_view stored_hash) const {
  absl::StatusOr<std::string> hash = Hash(token);
  return hash.ok() && crypto::ConstantTimeEquals(*hash, stored_hash);
}

}  // namespace byok::vault
