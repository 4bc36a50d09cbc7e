// HKDF-SHA256, HMAC-SHA256, hex and the self-wiping secret buffer.
#include "common/crypto/kdf.h"

#include <string>

#include "common/crypto/hex.h"
#include "common/crypto/random.h"
#include "common/crypto/secret_bytes.h"
#include "gtest/gtest.h"

namespace byok::crypto {
namespace {

std::string Unhex(absl::string_view hex) { return *HexDecode(hex); }

TEST(HkdfTest, Rfc5869TestCase1) {
  absl::StatusOr<SecretBytes> okm =
      HkdfSha256(Unhex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"), Unhex("000102030405060708090a0b0c"),
                 Unhex("f0f1f2f3f4f5f6f7f8f9"), 42);
  ASSERT_TRUE(okm.ok()) << okm.status();
  EXPECT_EQ(HexEncode(okm->view()),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

TEST(HkdfTest, Rfc5869TestCase3NoSaltNoInfo) {
  absl::StatusOr<SecretBytes> okm =
      HkdfSha256(Unhex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"), "", "", 42);
  ASSERT_TRUE(okm.ok()) << okm.status();
  EXPECT_EQ(HexEncode(okm->view()),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

TEST(HkdfTest, RejectsEmptyKeyAndBadSizes) {
  EXPECT_FALSE(HkdfSha256("", "salt", "info", 32).ok());
  EXPECT_FALSE(HkdfSha256("ikm", "salt", "info", 0).ok());
  EXPECT_FALSE(HkdfSha256("ikm", "salt", "info", 255 * 32 + 1).ok());
}

TEST(HmacTest, Rfc4231TestCase2) {
  absl::StatusOr<std::string> mac = HmacSha256("Jefe", "what do ya want for nothing?");
  ASSERT_TRUE(mac.ok());
  EXPECT_EQ(HexEncode(*mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_FALSE(HmacSha256("", "data").ok());
}

TEST(HexTest, RoundTripsAndRejectsBadInput) {
  EXPECT_EQ(HexEncode(std::string("\x00\xff\x10", 3)), "00ff10");
  EXPECT_EQ(*HexDecode("00FF10"), std::string("\x00\xff\x10", 3));
  EXPECT_FALSE(HexDecode("abc").ok());
  EXPECT_FALSE(HexDecode("zz").ok());
  EXPECT_TRUE(IsHex("0aF9"));
  EXPECT_FALSE(IsHex(""));
  EXPECT_FALSE(IsHex("0x"));
}

TEST(SecretBytesTest, ComparesByContentAndSize) {
  SecretBytes a("secret-one"), b("secret-one"), c("secret-two"), d("secret");
  EXPECT_TRUE(a == b);
  EXPECT_FALSE(a == c);
  EXPECT_FALSE(a == d);
  EXPECT_TRUE(SecretBytes() == SecretBytes(""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
}

TEST(SecretBytesTest, CopiesAndMovesKeepContents) {
  SecretBytes a("0123456789");
  SecretBytes copy = a;
  EXPECT_EQ(copy.view(), "0123456789");
  SecretBytes moved = std::move(a);
  EXPECT_EQ(moved.view(), "0123456789");
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): moved-from is documented as empty
  copy = SecretBytes("x");
  EXPECT_EQ(copy.view(), "x");
}

TEST(SecretBytesTest, WipeStringClearsContents) {
  std::string s = "plaintext-provider-key";
  WipeString(s);
  EXPECT_TRUE(s.empty());
}

TEST(RandomTest, ReturnsRequestedSizeAndDiffers) {
  absl::StatusOr<std::string> a = RandomBytes(32), b = RandomBytes(32);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 32u);
  EXPECT_NE(*a, *b);
  absl::StatusOr<SecretBytes> s = RandomSecret(16);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->size(), 16u);
}

}  // namespace
}  // namespace byok::crypto
