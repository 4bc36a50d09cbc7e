#include "common/json/json_check.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace byok::json {
namespace {

std::string Nested(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(CheckJsonTest, SaysWhetherTheTopContainerHasElements) {
  for (const char* empty : {"{}", "[]", " { } ", "\n[\t]\r\n"}) {
    auto shape = CheckJson(empty);
    ASSERT_TRUE(shape.ok()) << empty;
    EXPECT_EQ(*shape, JsonShape::kEmpty) << empty;
  }
  for (const char* full : {R"({"model":"gpt-4o"})", "[1]", "[[]]", "[{}]", R"({"a":{}})", "[null]",
                           R"({"":""})", R"(["{}"])", "[false,0,-1.5e3,18446744073709551615]"}) {
    auto shape = CheckJson(full);
    ASSERT_TRUE(shape.ok()) << full;
    EXPECT_EQ(*shape, JsonShape::kHasElements) << full;
  }
}

TEST(CheckJsonTest, RefusesInvalidJson) {
  for (const char* bad : {"", " ", "{", "{not json", R"({"model":)", R"({"a":1,})", "[1,]", "[01]",
                          R"({'a':1})", "{\"a\":\"\x01\"}", "{\"a\":\"\xff\"}", "[1e400]", "[NaN]",
                          "/*c*/{}", "{}/*c*/", "}", "]"}) {
    EXPECT_FALSE(CheckJson(bad).ok()) << bad;
  }
}

TEST(CheckJsonTest, RefusesAnythingAfterTheTopValue) {
  for (const char* trailing : {"{}{}", "[] []", "{} x", "[1]]", "{}\n,", R"({"a":1}"b")"}) {
    EXPECT_FALSE(CheckJson(trailing).ok()) << trailing;
  }
  EXPECT_TRUE(CheckJson("{}  \n\t\r").ok());
  using std::string_literals::operator""s;
  EXPECT_FALSE(CheckJson("{\"a\":1}\0junk"s).ok());  // nlohmann's lexer alone stops at the NUL
}

TEST(CheckJsonTest, RefusesAScalarAtTheTop) {
  for (const char* scalar : {"\"text\"", "1", "true", "null", "-0.5"}) {
    EXPECT_FALSE(CheckJson(scalar).ok()) << scalar;
  }
}

TEST(CheckJsonTest, BoundsTheNestingWithoutRecursing) {
  EXPECT_TRUE(CheckJson(Nested(kMaxJsonDepth)).ok());
  EXPECT_FALSE(CheckJson(Nested(kMaxJsonDepth + 1)).ok());
  EXPECT_FALSE(CheckJson(Nested(3), 2).ok());
  EXPECT_FALSE(CheckJson(R"({"model":"x","y":)" + Nested(100000) + "}").ok());
}

// One verdict for the gateway whichever way it reads a body: CheckJson agrees with ParseBounded.
TEST(CheckJsonTest, AgreesWithParseBounded) {
  const std::vector<std::string> texts = {
      "{}", "[]", "[1]", R"({"a":[1,{"b":null}]})", "{", "[1,]", "{}{}", "\"s\"", "3",
      "\xEF\xBB\xBF{}", "\xEF\xBB\xBF[1]", R"({"a":1,"a":2})", R"({"\u0000":"\ud83d\ude00"})",
      R"({"a":"\ud800"})", "[1e400]", "[-1e-400]", " [ 1 , 2 ] ", Nested(kMaxJsonDepth),
      Nested(kMaxJsonDepth + 1), "[\"]\"]", "[\"\\\"]",
      // nlohmann's lexer ends the input at a NUL byte: what follows one is not read, by either.
      std::string("{}\0x", 4), std::string("[1\0]", 5)};
  for (const std::string& text : texts) {
    std::optional<nlohmann::json> doc = ParseBounded(text);
    const bool container = doc.has_value() && (doc->is_object() || doc->is_array());
    auto shape = CheckJson(text);
    ASSERT_EQ(shape.ok(), container) << text;
    if (container) {
      EXPECT_EQ(*shape == JsonShape::kEmpty, doc->empty()) << text;
    }
  }
}

}  // namespace
}  // namespace byok::json
