#include "common/env.h"

#include <gtest/gtest.h>

namespace byok {
namespace {

TEST(EnvTest, ReadsValuesAndFallsBack) {
  Env env({{"PORT", "8080"}, {"EMPTY", ""}, {"NAME", "x"}});
  EXPECT_EQ(env.GetString("NAME", "d"), "x");
  EXPECT_EQ(env.GetString("EMPTY", "d"), "d");
  EXPECT_EQ(env.GetString("MISSING", "d"), "d");
  EXPECT_EQ(*env.GetInt("PORT", 1, 0, 65535), 8080);
  EXPECT_EQ(*env.GetInt("MISSING", 3000, 0, 65535), 3000);
}

TEST(EnvTest, RejectsBadNumbersNamingTheVariableOnly) {
  Env env({{"PORT", "70000"}, {"LIMIT", "12abc"}});
  absl::StatusOr<int64_t> port = env.GetInt("PORT", 1, 0, 65535);
  ASSERT_FALSE(port.ok());
  EXPECT_EQ(port.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(port.status().message().find("PORT"), absl::string_view::npos);
  EXPECT_EQ(port.status().message().find("70000"), absl::string_view::npos);
  EXPECT_FALSE(env.GetInt("LIMIT", 1, 0, 100).ok());
}

TEST(EnvTest, ParsesBooleans) {
  Env env({{"A", "1"}, {"B", "off"}, {"C", "maybe"}});
  EXPECT_TRUE(*env.GetBool("A", false));
  EXPECT_FALSE(*env.GetBool("B", true));
  EXPECT_FALSE(env.GetBool("C", true).ok());
  EXPECT_TRUE(*env.GetBool("MISSING", true));
}

}  // namespace
}  // namespace byok
