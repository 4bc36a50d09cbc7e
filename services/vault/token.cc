#include "services/vault/token.h"

#include <utility>

#include "common/crypto/hex.h"
#include "common/crypto/kdf.h"
#include "common/crypto/random.h"
#include "common/status.h"

namespace byok::vault {
namespace {

constexpr size_t kMinKeySize = 32;

}  // namespace

absl::StatusOr<std::string> GenerateToken() {
  BYOK_ASSIGN_OR_RETURN(crypto::SecretBytes bytes, crypto::RandomSecret(kTokenBytes));
  return crypto::HexEncode(bytes.view());
}

absl::StatusOr<std::string> GenerateUserId() {
  BYOK_ASSIGN_OR_RETURN(std::string bytes, crypto::RandomBytes(16));
  return crypto::HexEncode(bytes);
}

absl::StatusOr<std::unique_ptr<TokenHasher>> TokenHasher::Create(
    crypto::SecretBytes current, std::vector<crypto::SecretBytes> legacy) {
  if (current.size() < kMinKeySize) {
    return absl::InvalidArgumentError("the token hashing key must be 32 bytes or more");
  }
  for (const crypto::SecretBytes& key : legacy) {
    if (key.size() < kMinKeySize) {
      return absl::InvalidArgumentError("a legacy token hashing key must be 32 bytes or more");
    }
  }
  return std::unique_ptr<TokenHasher>(new TokenHasher(std::move(current), std::move(legacy)));
}

absl::StatusOr<crypto::SecretBytes> TokenHasher::DeriveKey(
    const crypto::SecretBytes& encryption_secret) {
  return crypto::HkdfSha256(encryption_secret.view(), "byok-relay/tokens/v1", "token-hmac", 32);
}

absl::StatusOr<std::string> TokenHasher::Hash(absl::string_view token) const {
  return crypto::HmacSha256(current_.view(), token);
}

absl::StatusOr<std::vector<std::string>> TokenHasher::LegacyHashes(absl::string_view token) const {
  std::vector<std::string> hashes;
  hashes.reserve(legacy_.size());
  for (const crypto::SecretBytes& key : legacy_) {
    BYOK_ASSIGN_OR_RETURN(std::string hash, crypto::HmacSha256(key.view(), token));
    hashes.push_back(std::move(hash));
  }
  return hashes;
}

bool TokenHasher::Matches(absl::string_view token, absl::string_view stored_hash) const {
  absl::StatusOr<std::string> hash = Hash(token);
  return hash.ok() && crypto::ConstantTimeEquals(*hash, stored_hash);
}

}  // namespace byok::vault
