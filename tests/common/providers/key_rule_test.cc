#include "common/providers/key_rule.h"

#include <gtest/gtest.h>

#include <string>

namespace byok::providers {
namespace {

// Moved from tests/gateway/key_format_test.cc with the function.
TEST(KeyFormatTest, MessageUsesCurlyQuotes) {
  EXPECT_EQ(KeyFormatMessage("groq", "Groq API keys start with gsk_"),
            "API key format looks wrong for provider \u201cgroq\u201d. Groq API keys start with gsk_");
}

TEST(KeyRuleTest, NormalizedKeyTrimsAndBounds) {
  EXPECT_EQ(NormalizedKey("  \tsk-0123456789\n"), "sk-0123456789");
  EXPECT_EQ(NormalizedKey(std::string(kMinKeyLength, 'k')), std::string(kMinKeyLength, 'k'));
  EXPECT_EQ(NormalizedKey(std::string(kMaxKeyLength, 'k')), std::string(kMaxKeyLength, 'k'));
  EXPECT_EQ(NormalizedKey(std::string(kMinKeyLength - 1, 'k')), std::nullopt);
  EXPECT_EQ(NormalizedKey(std::string(kMaxKeyLength + 1, 'k')), std::nullopt);
  EXPECT_EQ(NormalizedKey("   "), std::nullopt);
  EXPECT_EQ(NormalizedKey("sk-0123456789\x7f"), std::nullopt);
  EXPECT_EQ(NormalizedKey("sk-01234\x01" "56789"), std::nullopt);
  EXPECT_EQ(NormalizedKey("sk-0123456789\xc3\xa9"), std::nullopt);
}

}  // namespace
}  // namespace byok::providers
