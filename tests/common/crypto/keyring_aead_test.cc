// The versioned keyring: layout, tamper resistance, binding to associated data, and rotation.
#include "common/crypto/keyring_aead.h"

#include <string>
#include <vector>

#include "common/crypto/hex.h"
#include "gtest/gtest.h"

namespace byok::crypto {
namespace {

SecretBytes Secret(char fill) { return SecretBytes(std::string(32, fill)); }

std::unique_ptr<KeyringAead> Make(const SecretBytes& primary, std::vector<SecretBytes> previous = {}) {
  absl::StatusOr<std::unique_ptr<KeyringAead>> k = KeyringAead::Create(primary, previous);
  EXPECT_TRUE(k.ok()) << k.status();
  return k.ok() ? *std::move(k) : nullptr;
}

TEST(KeyringAeadTest, LayoutCarriesFormatAndKeyIdOfTheSecret) {
  const SecretBytes a = Secret('a');
  auto keyring = Make(a);
  absl::StatusOr<std::string> ct = keyring->Encrypt("sk-123", "ad");
  ASSERT_TRUE(ct.ok());
  EXPECT_EQ(ct->size(), KeyringAead::kOverhead + 6);
  EXPECT_EQ(static_cast<uint8_t>((*ct)[0]), KeyringAead::kFormat);
  EXPECT_EQ(*KeyringAead::KeyIdOf(*ct), keyring->primary_key_id());
  EXPECT_EQ(*KeyringAead::KeyIdForSecret(a), keyring->primary_key_id());
  EXPECT_NE(*KeyringAead::KeyIdForSecret(Secret('b')), keyring->primary_key_id());
  EXPECT_EQ(*keyring->Decrypt(*ct, "ad"), "sk-123");
}

TEST(KeyringAeadTest, RejectsShortSecrets) {
  EXPECT_FALSE(KeyringAead::Create(SecretBytes("short"), {}).ok());
  EXPECT_FALSE(KeyringAead::Create(Secret('a'), {SecretBytes("short")}).ok());
}

TEST(KeyringAeadTest, EveryFlippedBitFails) {
  auto keyring = Make(Secret('a'), {Secret('b')});
  const std::string aad = "user-7|openai";
  absl::StatusOr<std::string> ct = keyring->Encrypt("sk-proj-abcdef", aad);
  ASSERT_TRUE(ct.ok());
  for (size_t bit = 0; bit < ct->size() * 8; ++bit) {
    std::string bad = *ct;
    bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
    EXPECT_FALSE(keyring->Decrypt(bad, aad).ok()) << "bit " << bit;
  }
  for (size_t bit = 0; bit < aad.size() * 8; ++bit) {
    std::string bad = aad;
    bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
    EXPECT_FALSE(keyring->Decrypt(*ct, bad).ok()) << "aad bit " << bit;
  }
}

TEST(KeyringAeadTest, TruncationAtEveryLengthFails) {
  auto keyring = Make(Secret('a'));
  absl::StatusOr<std::string> ct = keyring->Encrypt("sk-ant-api03-xyz", "ad");
  ASSERT_TRUE(ct.ok());
  for (size_t len = 0; len < ct->size(); ++len) {
    EXPECT_FALSE(keyring->Decrypt(ct->substr(0, len), "ad").ok()) << "length " << len;
  }
}

TEST(KeyringAeadTest, CiphertextMovedToAnotherUserOrProviderFails) {
  auto keyring = Make(Secret('a'));
  absl::StatusOr<std::string> ct = keyring->Encrypt("sk-key", "alice|openai");
  ASSERT_TRUE(ct.ok());
  EXPECT_TRUE(keyring->Decrypt(*ct, "alice|openai").ok());
  EXPECT_FALSE(keyring->Decrypt(*ct, "bob|openai").ok());
  EXPECT_FALSE(keyring->Decrypt(*ct, "alice|groq").ok());
  EXPECT_FALSE(keyring->Decrypt(*ct, "").ok());
}

TEST(KeyringAeadTest, RotationOldRowsDecryptUntilTheSecretIsRetired) {
  const SecretBytes old_secret = Secret('o'), new_secret = Secret('n');
  auto old_ring = Make(old_secret);
  absl::StatusOr<std::string> old_ct = old_ring->Encrypt("sk-old", "ad");
  ASSERT_TRUE(old_ct.ok());

  auto rotated = Make(new_secret, {old_secret});
  EXPECT_TRUE(rotated->HasKey(old_ring->primary_key_id()));
  EXPECT_NE(rotated->primary_key_id(), old_ring->primary_key_id());
  absl::StatusOr<std::string> plain = rotated->Decrypt(*old_ct, "ad");
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(*plain, "sk-old");

  // Re-encrypting moves the row to the new key version.
  absl::StatusOr<std::string> new_ct = rotated->Encrypt(*plain, "ad");
  ASSERT_TRUE(new_ct.ok());
  EXPECT_EQ(*KeyringAead::KeyIdOf(*new_ct), rotated->primary_key_id());

  auto retired = Make(new_secret);
  EXPECT_EQ(*retired->Decrypt(*new_ct, "ad"), "sk-old");
  absl::StatusOr<std::string> orphan = retired->Decrypt(*old_ct, "ad");
  EXPECT_EQ(orphan.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(orphan.status().message().find(HexEncode(old_secret.view())), std::string::npos);
}

TEST(KeyringAeadTest, SameSecretListedTwiceIsHarmless) {
  auto keyring = Make(Secret('a'), {Secret('a'), Secret('b')});
  absl::StatusOr<std::string> ct = keyring->Encrypt("k", "");
  ASSERT_TRUE(ct.ok());
  EXPECT_EQ(*keyring->Decrypt(*ct, ""), "k");
}

}  // namespace
}  // namespace byok::crypto
