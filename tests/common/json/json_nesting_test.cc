#include "common/json/json_nesting.h"

#include <string>

#include <gtest/gtest.h>

namespace byok::json {
namespace {

std::string Nested(int depth, char open, char close) {
  return std::string(depth, open) + std::string(depth, close);
}

TEST(CheckJsonNestingTest, AcceptsUpToTheLimitAndRefusesOneMore) {
  EXPECT_TRUE(CheckJsonNesting(Nested(kMaxJsonDepth, '[', ']')).ok());
  EXPECT_FALSE(CheckJsonNesting(Nested(kMaxJsonDepth + 1, '[', ']')).ok());
  EXPECT_FALSE(CheckJsonNesting(Nested(3, '[', ']'), 2).ok());
}

TEST(CheckJsonNestingTest, CountsObjectsAndArraysTogether) {
  EXPECT_TRUE(CheckJsonNesting(R"({"a":[{"b":[1]}]})", 4).ok());
  EXPECT_FALSE(CheckJsonNesting(R"({"a":[{"b":[1]}]})", 3).ok());
}

TEST(CheckJsonNestingTest, BracketsInsideStringsDoNotCount) {
  EXPECT_TRUE(CheckJsonNesting(R"({"text":"[[[[[[[[[[{{{{{{{{"})", 1).ok());
  // An escaped quote does not end the string.
  EXPECT_TRUE(CheckJsonNesting(R"({"text":"\"[[[[[[[["})", 1).ok());
  // An escaped backslash before the closing quote does.
  EXPECT_FALSE(CheckJsonNesting(R"({"text":"\\",  "x":[[1]]})", 2).ok());
}

TEST(CheckJsonNestingTest, ClosersBeforeOpenersDoNotLowerTheCount) {
  EXPECT_FALSE(CheckJsonNesting("]]]]" + Nested(3, '[', ']'), 2).ok());
}

TEST(CheckJsonNestingTest, RefusesANulByteAnywhere) {
  using std::string_literals::operator""s;
  EXPECT_FALSE(CheckJsonNesting("{\"a\":1}\0junk"s).ok());
  EXPECT_FALSE(CheckJsonNesting("{\"a\":\"x\0y\"}"s).ok());
  EXPECT_FALSE(CheckJsonNesting("\0"s).ok());
}

TEST(ParseBoundedTest, RefusesTextAfterANulByte) {
  using std::string_literals::operator""s;
  // nlohmann's lexer alone takes the NUL for the end of the input and accepts the text before it.
  EXPECT_FALSE(ParseBounded("{\"a\":1}\0junk"s).has_value());
  EXPECT_FALSE(ParseBounded("{\"a\":1}\0"s).has_value());
  EXPECT_TRUE(ParseBounded(R"({"a":"\u0000"})").has_value());  // escaped, as JSON allows
}

TEST(ParseBoundedTest, ParsesValidShallowJson) {
  auto doc = ParseBounded(R"({"model":"gpt-4o","stream":true})");
  ASSERT_TRUE(doc.has_value());
  EXPECT_EQ((*doc)["model"], "gpt-4o");
}

TEST(ParseBoundedTest, RefusesInvalidAndTooDeepJsonWithoutThrowing) {
  EXPECT_FALSE(ParseBounded("{\"model\":").has_value());
  // The shape that overflowed the stack when serialised: 100,000 nested arrays inside an object.
  std::string hostile = R"({"model":"openai/gpt-4o-mini","x":)" + Nested(100000, '[', ']') + "}";
  EXPECT_FALSE(ParseBounded(hostile).has_value());
  EXPECT_FALSE(ParseBounded<nlohmann::ordered_json>(hostile).has_value());
}

}  // namespace
}  // namespace byok::json
