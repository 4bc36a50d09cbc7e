#include "services/vault/vault_secrets.h"

#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "common/crypto/hex.h"
#include "common/status.h"

namespace byok::vault {
namespace {

constexpr size_t kHexSecretSize = 64;

// The 32 bytes a 64-hex secret decodes to (surrounding whitespace ignored, as this suite once did);
// nullopt for any other secret.
std::optional<crypto::SecretBytes> DecodedHex(const crypto::SecretBytes& secret) {
  const absl::string_view text = absl::StripAsciiWhitespace(secret.view());
  if (text.size() != kHexSecretSize || !crypto::IsHex(text)) return std::nullopt;
  absl::StatusOr<std::string> bytes = crypto::HexDecode(text);
  if (!bytes.ok()) return std::nullopt;
  crypto::SecretBytes decoded(*bytes);
  crypto::WipeString(*bytes);
  return decoded;
}

// Appends `secret` and, when it is 64 hex characters, its decoded reading.
void AddReadings(const crypto::SecretBytes& secret, std::vector<crypto::SecretBytes>& out) {
  out.push_back(secret);
  if (std::optional<crypto::SecretBytes> decoded = DecodedHex(secret)) out.push_back(*std::move(decoded));
}

}  // namespace

absl::StatusOr<std::unique_ptr<crypto::KeyringAead>> BuildKeyring(const VaultConfig& config) {
  std::vector<crypto::SecretBytes> decrypt_only;
  if (std::optional<crypto::SecretBytes> decoded = DecodedHex(config.encryption_secret)) {
    decrypt_only.push_back(*std::move(decoded));
  }
  for (const crypto::SecretBytes& previous : config.previous_secrets) {
    AddReadings(previous, decrypt_only);
  }
  return crypto::KeyringAead::Create(config.encryption_secret, decrypt_only);
}

absl::StatusOr<std::unique_ptr<TokenHasher>> BuildTokenHasher(const VaultConfig& config) {
  const bool own_key = !config.token_hmac_secret.empty();
  crypto::SecretBytes current = own_key ? config.token_hmac_secret : config.encryption_secret;
  std::vector<crypto::SecretBytes> legacy;
  auto add_encryption_secret = [&legacy, &current](const crypto::SecretBytes& secret) {
    if (!(secret == current)) legacy.push_back(secret);
    if (std::optional<crypto::SecretBytes> decoded = DecodedHex(secret)) {
      absl::StatusOr<crypto::SecretBytes> derived = TokenHasher::DeriveKey(*decoded);
      if (derived.ok()) legacy.push_back(*std::move(derived));
    }
  };
  add_encryption_secret(config.encryption_secret);
  for (const crypto::SecretBytes& previous : config.previous_secrets) add_encryption_secret(previous);
  return TokenHasher::Create(std::move(current), std::move(legacy));
}

}  // namespace byok::vault
