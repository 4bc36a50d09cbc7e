// AES-256-GCM: published known answers, and tamper resistance of the framed AEAD.
#include "common/crypto/aes_gcm.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/crypto/hex.h"
#include "common/crypto/random.h"
#include "gtest/gtest.h"

namespace byok::crypto {
namespace {

std::string Unhex(absl::string_view hex) {
  absl::StatusOr<std::string> bytes = HexDecode(hex);
  EXPECT_TRUE(bytes.ok()) << hex;
  return bytes.ok() ? *bytes : std::string();
}

struct GcmVector {
  const char* name;
  const char* key;
  const char* iv;
  const char* aad;
  const char* pt;
  const char* ct;
  const char* tag;
};

// 256-bit keys, 96-bit IVs, 128-bit tags. "GCM spec" cases are from McGrew and Viega, "The Galois/Counter
// Mode of Operation" (the test cases NIST publishes with SP 800-38D); "CAVP" cases are from NIST's
// gcmEncryptExtIV256.rsp.
const GcmVector kVectors[] = {
    {"GCM spec test case 13 (empty)",
     "0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000", "",
     "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
    {"GCM spec test case 14 (one zero block)",
     "0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000", "",
     "00000000000000000000000000000000", "cea7403d4d606b6e074ec5d3baf39d18",
     "d0d1c8a799996bf0265b98b5d48ab919"},
    {"GCM spec test case 15 (four blocks)",
     "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888", "",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525"
     "b16aedf5aa0de657ba637b391aafd255",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838"
     "c5f61e6393ba7a0abcc9f662898015ad",
     "b094dac5d93471bdec1a502270e3cc6c"},
    {"GCM spec test case 16 (partial block, AAD)",
     "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525"
     "b16aedf5aa0de657ba637b39",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838"
     "c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
    {"CAVP PTlen=128 AADlen=128 Count=0",
     "92e11dcdaa866f5ce790fd24501f92509aacf4cb8b1339d50c9c1240935dd08b", "ac93a1a6145299bde902f21a",
     "1e0889016f67601c8ebea4943bc23ad6", "2d71bcfa914e4ac045b2aa60955fad24",
     "8995ae2e6df3dbf96fac7b7137bae67f", "eca5aa77d51d4a0a14d9c51e1da474ab"},
    {"CAVP PTlen=104 AADlen=160",
     "97431e565e8370a4879de962746a2fd67eca868b1c8e51eece2c1f94f74af407", "17fb63066e2726d282ecc610",
     "78e7374da7c77be5938de8dd76cf0308618306a9", "e21629cc973fbe40176e621d9d",
     "80dbd469de480389ba6c2fca52", "4e284abb8b4f9f13c7497ae56df05fa5"},
    {"CAVP PTlen=128 AADlen=160",
     "83688deb4af8007f9b713b47cfa6c73e35ea7a3aa4ecdb414dded03bf7a0fd3a", "0b459724904e010a46901cf3",
     "794a14ccd178c8ebfd1379dc704c5e208f9d8424", "33d893a2114ce06fc15d55e454cf90c3",
     "cc66bee423e3fcd4c0865715e9586696", "0fb291bd3dba94a1dfd8b286cfb97ac5"},
};

TEST(AesGcmTest, KnownAnswersSealAndOpen) {
  for (const GcmVector& v : kVectors) {
    SCOPED_TRACE(v.name);
    const std::string key = Unhex(v.key), iv = Unhex(v.iv), aad = Unhex(v.aad), pt = Unhex(v.pt);
    const std::string expected = absl::StrCat(Unhex(v.ct), Unhex(v.tag));
    absl::StatusOr<std::string> sealed = AesGcmSeal(key, iv, pt, aad);
    ASSERT_TRUE(sealed.ok()) << sealed.status();
    EXPECT_EQ(HexEncode(*sealed), HexEncode(expected));
    absl::StatusOr<std::string> opened = AesGcmOpen(key, iv, expected, aad);
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(*opened, pt);
  }
}

TEST(AesGcmTest, KnownAnswersRejectEveryFlippedTagBit) {
  for (const GcmVector& v : kVectors) {
    SCOPED_TRACE(v.name);
    const std::string key = Unhex(v.key), iv = Unhex(v.iv), aad = Unhex(v.aad);
    const std::string sealed = absl::StrCat(Unhex(v.ct), Unhex(v.tag));
    for (size_t bit = 0; bit < sealed.size() * 8; ++bit) {
      std::string bad = sealed;
      bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
      EXPECT_FALSE(AesGcmOpen(key, iv, bad, aad).ok()) << "bit " << bit;
    }
  }
}

TEST(AesGcmTest, RejectsWrongKeyAndNonceSizes) {
  EXPECT_FALSE(AesGcmSeal(std::string(16, 'k'), std::string(12, 'n'), "x", "").ok());
  EXPECT_FALSE(AesGcmSeal(std::string(32, 'k'), std::string(8, 'n'), "x", "").ok());
  EXPECT_FALSE(AesGcmSeal(std::string(32, 'k'), std::string(13, 'n'), "x", "").ok());
  EXPECT_FALSE(AesGcmOpen(std::string(32, 'k'), std::string(24, 'n'), std::string(20, 'c'), "").ok());
  EXPECT_FALSE(AesGcmAead::Create(SecretBytes(std::string(24, 'k'))).ok());
}

class AesGcmAeadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<SecretBytes> key = RandomSecret(kAes256KeySize);
    ASSERT_TRUE(key.ok());
    absl::StatusOr<std::unique_ptr<AesGcmAead>> aead = AesGcmAead::Create(*std::move(key));
    ASSERT_TRUE(aead.ok());
    aead_ = *std::move(aead);
  }
  std::unique_ptr<AesGcmAead> aead_;
};

TEST_F(AesGcmAeadTest, RoundTripsWithFreshNonces) {
  absl::StatusOr<std::string> a = aead_->Encrypt("sk-secret", "user|openai");
  absl::StatusOr<std::string> b = aead_->Encrypt("sk-secret", "user|openai");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), kGcmNonceSize + 9 + kGcmTagSize);
  EXPECT_NE(*a, *b);
  EXPECT_NE(a->substr(0, kGcmNonceSize), b->substr(0, kGcmNonceSize));
  absl::StatusOr<std::string> opened = aead_->Decrypt(*a, "user|openai");
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, "sk-secret");
}

TEST_F(AesGcmAeadTest, EveryFlippedBitOfNonceCiphertextTagOrAadFails) {
  const std::string aad = "user-1|anthropic";
  absl::StatusOr<std::string> ct = aead_->Encrypt("sk-ant-0123456789", aad);
  ASSERT_TRUE(ct.ok());
  for (size_t bit = 0; bit < ct->size() * 8; ++bit) {
    std::string bad = *ct;
    bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
    EXPECT_FALSE(aead_->Decrypt(bad, aad).ok()) << "ciphertext bit " << bit;
  }
  for (size_t bit = 0; bit < aad.size() * 8; ++bit) {
    std::string bad = aad;
    bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
    EXPECT_FALSE(aead_->Decrypt(*ct, bad).ok()) << "aad bit " << bit;
  }
}

TEST_F(AesGcmAeadTest, TruncationAtEveryLengthFails) {
  absl::StatusOr<std::string> ct = aead_->Encrypt("sk-0123456789abcdef", "aad");
  ASSERT_TRUE(ct.ok());
  for (size_t len = 0; len < ct->size(); ++len) {
    EXPECT_FALSE(aead_->Decrypt(ct->substr(0, len), "aad").ok()) << "length " << len;
  }
  EXPECT_FALSE(aead_->Decrypt(*ct + "x", "aad").ok());
}

}  // namespace
}  // namespace byok::crypto
