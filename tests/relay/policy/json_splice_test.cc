// The unified route's model swap: only the model's bytes change.
#include "services/relay/policy/json_splice.h"

#include <gtest/gtest.h>

namespace byok::relay {
namespace {

TEST(ReplaceTopLevelValue, ChangesOnlyThatValue) {
  EXPECT_EQ(ReplaceTopLevelValue(R"({"model":"anthropic/claude-x","max_tokens":1.50,"z":[1, 2]})", "model",
                                 R"("claude-x")"),
            R"({"model":"claude-x","max_tokens":1.50,"z":[1, 2]})");
  EXPECT_EQ(ReplaceTopLevelValue("{ \"a\" : {\"model\":\"inner\"} ,\n \"model\" : \"x/y\" }", "model", "\"y\""),
            "{ \"a\" : {\"model\":\"inner\"} ,\n \"model\" : \"y\" }");
}

TEST(ReplaceTopLevelValue, TakesTheLastDuplicateAsParsersDo) {
  EXPECT_EQ(ReplaceTopLevelValue(R"({"model":"a","model":"openai/b"})", "model", R"("b")"),
            R"({"model":"a","model":"b"})");
}

TEST(ReplaceTopLevelValue, ReadsEscapedKeysAndSkipsStringsWithBraces) {
  EXPECT_EQ(ReplaceTopLevelValue(R"({"s":"}{\"model\":1","mod\u0065l":"openai/x"})", "model", R"("x")"),
            R"({"s":"}{\"model\":1","mod\u0065l":"x"})");
}

TEST(ReplaceTopLevelValue, NothingToReplace) {
  EXPECT_EQ(ReplaceTopLevelValue(R"({"a":1})", "model", "1"), std::nullopt);
  EXPECT_EQ(ReplaceTopLevelValue("{}", "model", "1"), std::nullopt);
  EXPECT_EQ(ReplaceTopLevelValue("[1]", "model", "1"), std::nullopt);
}

}  // namespace
}  // namespace byok::relay
