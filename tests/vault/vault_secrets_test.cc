// What the configured secrets yield: any string of 32+ characters as the key material, rows and tokens
// this suite wrote under its earlier reading of a 64-hex secret, and the original's token-key rules.
#include "services/vault/vault_secrets.h"

#include <string>

#include "common/crypto/hex.h"
#include "common/crypto/kdf.h"
#include "common/crypto/random.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace byok::vault {
namespace {

using ::byok::testing::IsOk;

VaultConfig Config(const std::string& secret, const std::string& token_hmac = "") {
  VaultConfig config;
  config.encryption_secret = crypto::SecretBytes(secret);
  if (!token_hmac.empty()) config.token_hmac_secret = crypto::SecretBytes(token_hmac);
  return config;
}

std::string HexSecret() { return crypto::HexEncode(*crypto::RandomBytes(32)); }

TEST(VaultSecretsTest, AnyStringIsTheKeyMaterial) {
  const std::string secret = "original-fixture-encryption-secret-0123456789";
  auto keyring = BuildKeyring(Config(secret));
  ASSERT_THAT(keyring, IsOk());
  // The same as a keyring over the string's bytes.
  auto direct = crypto::KeyringAead::Create(crypto::SecretBytes(secret), {});
  EXPECT_EQ((*keyring)->primary_key_id(), (*direct)->primary_key_id());
  absl::StatusOr<std::string> sealed = (*keyring)->Encrypt("sk-0123456789", "aad");
  ASSERT_THAT(sealed, IsOk());
  EXPECT_EQ(*(*direct)->Decrypt(*sealed, "aad"), "sk-0123456789");
}

// Before it took any string, this suite required 64 hex characters and used the 32 bytes they decode
// to: rows written so (keyring over the decoded bytes) still decrypt, new rows use the string's bytes.
TEST(VaultSecretsTest, AHexSecretStillDecryptsWhatThisSuiteWroteWithIt) {
  const std::string hex = HexSecret();
  const crypto::SecretBytes decoded(*crypto::HexDecode(hex));
  auto old_keyring = crypto::KeyringAead::Create(decoded, {});
  ASSERT_THAT(old_keyring, IsOk());
  const std::string old_row = *(*old_keyring)->Encrypt("sk-written-before", "aad");

  auto keyring = BuildKeyring(Config(hex));
  ASSERT_THAT(keyring, IsOk());
  EXPECT_EQ(*(*keyring)->Decrypt(old_row, "aad"), "sk-written-before");
  EXPECT_NE((*keyring)->primary_key_id(), (*old_keyring)->primary_key_id());
  const std::string new_row = *(*keyring)->Encrypt("sk-written-now", "aad");
  EXPECT_EQ(*crypto::KeyringAead::KeyIdOf(new_row), *crypto::KeyringAead::KeyIdForSecret(
                                                          crypto::SecretBytes(hex)));
  // A previous hex secret is read both ways too.
  VaultConfig rotated = Config("a-completely-different-secret-of-40-chars");
  rotated.previous_secrets.emplace_back(hex);
  auto rotated_keyring = BuildKeyring(rotated);
  ASSERT_THAT(rotated_keyring, IsOk());
  EXPECT_EQ(*(*rotated_keyring)->Decrypt(old_row, "aad"), "sk-written-before");
  EXPECT_EQ(*(*rotated_keyring)->Decrypt(new_row, "aad"), "sk-written-now");
}

TEST(VaultSecretsTest, TokensFollowTheOriginalsKeysAndThisSuitesEarlierOne) {
  const std::string token(64, 'a');
  const std::string encryption = "original-fixture-encryption-secret-0123456789";
  const std::string hmac = "original-fixture-token-hmac-secret-abcdefghij";

  // Without TOKEN_HMAC_SECRET: HMAC under ENCRYPTION_SECRET's bytes, no legacy keys.
  auto plain = BuildTokenHasher(Config(encryption));
  ASSERT_THAT(plain, IsOk());
  EXPECT_EQ(*(*plain)->Hash(token), *crypto::HmacSha256(encryption, token));
  EXPECT_TRUE((*plain)->LegacyHashes(token)->empty());

  // With it: HMAC under TOKEN_HMAC_SECRET; ENCRYPTION_SECRET is the fallback.
  auto both = BuildTokenHasher(Config(encryption, hmac));
  ASSERT_THAT(both, IsOk());
  EXPECT_EQ(*(*both)->Hash(token), *crypto::HmacSha256(hmac, token));
  EXPECT_EQ(*(*both)->LegacyHashes(token),
            std::vector<std::string>{*crypto::HmacSha256(encryption, token)});

  // The same string twice: no fallback.
  auto same = BuildTokenHasher(Config(encryption, encryption));
  EXPECT_TRUE((*same)->LegacyHashes(token)->empty());

  // A 64-hex ENCRYPTION_SECRET: this suite's earlier token key (HKDF of the decoded bytes) is tried.
  const std::string hex = HexSecret();
  const crypto::SecretBytes earlier_key =
      *TokenHasher::DeriveKey(crypto::SecretBytes(*crypto::HexDecode(hex)));
  auto from_hex = BuildTokenHasher(Config(hex));
  ASSERT_THAT(from_hex, IsOk());
  EXPECT_EQ(*(*from_hex)->Hash(token), *crypto::HmacSha256(hex, token));
  EXPECT_THAT(*(*from_hex)->LegacyHashes(token),
              ::testing::Contains(*crypto::HmacSha256(earlier_key.view(), token)));
}

}  // namespace
}  // namespace byok::vault
