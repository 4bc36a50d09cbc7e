// The original byok-relay's key format: scrypt known answers, a row sealed by an independent
// implementation (Python's hashlib.scrypt and cryptography's AESGCM), and refusal of anything else.
#include "common/crypto/original_key_cipher.h"

#include <string>

#include "common/crypto/hex.h"
#include "common/crypto/kdf.h"
#include "gtest/gtest.h"

namespace byok::crypto {
namespace {

TEST(ScryptTest, Rfc7914TestVector) {
  absl::StatusOr<SecretBytes> out = Scrypt("password", "NaCl", 1024, 8, 16, 64);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(HexEncode(out->view()),
            "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff1092"
            "79d9830dac727afb94a83ee6d8360cbdfa2cc0640");
}

TEST(ScryptTest, RejectsBadParameters) {
  EXPECT_FALSE(Scrypt("pw", "salt", 1000, 8, 1, 32).ok());  // not a power of two
  EXPECT_FALSE(Scrypt("pw", "salt", 1024, 0, 1, 32).ok());
  EXPECT_FALSE(Scrypt("pw", "salt", 1024, 8, 1, 0).ok());
}

constexpr char kSecret[] = "original-fixture-encryption-secret-0123456789";

// Sealed by Python (hashlib.scrypt n=16384 r=8 p=1, salt "byok-relay-salt"; AESGCM, nonce 00..0f).
const OriginalSealedKey kKnownRow = {"53859b94e13b67ece82bcb0b435010c11438c8a0cce4c0b678ea",
                                     "000102030405060708090a0b0c0d0e0f",
                                     "ae71417fed5a7b51bb56203b454091f8"};

TEST(OriginalKeyCipherTest, DecryptsARowSealedElsewhereWithTheDefaultSalt) {
  for (absl::string_view salt : {"", "byok-relay-salt"}) {
    auto cipher = OriginalKeyCipher::Create(kSecret, salt);
    ASSERT_TRUE(cipher.ok()) << cipher.status();
    absl::StatusOr<std::string> plain = (*cipher)->Decrypt(kKnownRow);
    ASSERT_TRUE(plain.ok()) << plain.status();
    EXPECT_EQ(*plain, "sk-known-answer-0123456789");
  }
}

TEST(OriginalKeyCipherTest, WrongSecretOrSaltOrDamagedRowFails) {
  auto other_secret = OriginalKeyCipher::Create("original-fixture-encryption-secret-012345678X", "");
  ASSERT_TRUE(other_secret.ok());
  EXPECT_FALSE((*other_secret)->Decrypt(kKnownRow).ok());
  auto other_salt = OriginalKeyCipher::Create(kSecret, "another-salt");
  ASSERT_TRUE(other_salt.ok());
  EXPECT_FALSE((*other_salt)->Decrypt(kKnownRow).ok());

  auto cipher = OriginalKeyCipher::Create(kSecret, "");
  ASSERT_TRUE(cipher.ok());
  OriginalSealedKey flipped = kKnownRow;
  flipped.encrypted_key_hex[0] = flipped.encrypted_key_hex[0] == '5' ? '4' : '5';
  EXPECT_FALSE((*cipher)->Decrypt(flipped).ok());
  OriginalSealedKey short_iv = kKnownRow;
  short_iv.iv_hex.resize(24);  // a 12-byte nonce is not the original's format
  EXPECT_FALSE((*cipher)->Decrypt(short_iv).ok());
  OriginalSealedKey not_hex = kKnownRow;
  not_hex.auth_tag_hex[0] = 'z';
  absl::StatusOr<std::string> failed = (*cipher)->Decrypt(not_hex);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().message().find(kKnownRow.encrypted_key_hex), std::string::npos);
}

TEST(OriginalKeyCipherTest, EncryptsInTheOriginalsLayout) {
  auto cipher = OriginalKeyCipher::Create(kSecret, "");
  ASSERT_TRUE(cipher.ok());
  absl::StatusOr<OriginalSealedKey> row = (*cipher)->Encrypt("gsk_some_groq_key_1234");
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(row->encrypted_key_hex.size(), 2 * std::string("gsk_some_groq_key_1234").size());
  EXPECT_EQ(row->iv_hex.size(), 32u);
  EXPECT_EQ(row->auth_tag_hex.size(), 32u);
  EXPECT_EQ(*(*cipher)->Decrypt(*row), "gsk_some_groq_key_1234");
  EXPECT_NE((*cipher)->Encrypt("gsk_some_groq_key_1234")->iv_hex, row->iv_hex);
  EXPECT_FALSE(OriginalKeyCipher::Create("", "").ok());
}

}  // namespace
}  // namespace byok::crypto
