#include "services/gateway/key_format.h"

#include <gtest/gtest.h>

#include <string>

namespace byok::gateway {
namespace {

TEST(KeyFormatTest, MessageUsesCurlyQuotes) {
  EXPECT_EQ(KeyFormatMessage("groq", "Groq API keys start with gsk_"),
            "API key format looks wrong for provider \u201cgroq\u201d. Groq API keys start with gsk_");
}

}  // namespace
}  // namespace byok::gateway
