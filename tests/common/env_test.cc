#include "common/env.h"

#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/testing/process.h"

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

TEST(EnvTest, ReadsLeadingIntegersAsTheOriginal) {
  Env env({{"A", "30d"}, {"B", "1.5"}, {"C", " 7"}, {"D", "-3"}, {"E", "abc"}, {"F", "0"}});
  EXPECT_EQ(env.GetLeadingInt("A", 90), 30);
  EXPECT_EQ(env.GetLeadingInt("B", 90), 1);
  EXPECT_EQ(env.GetLeadingInt("C", 90), 7);
  EXPECT_EQ(env.GetLeadingInt("D", 90), 90);
  EXPECT_EQ(env.GetLeadingInt("E", 90), 90);
  EXPECT_EQ(env.GetLeadingInt("F", 90), 0);
  EXPECT_EQ(env.GetLeadingInt("MISSING", 90), 90);
}

TEST(EnvTest, DotEnvFillsOnlyWhatTheEnvironmentLacks) {
  testing::TempDir dir;
  std::string path = dir.path() + "/.env";
  {
    std::ofstream out(path);
    out << "# a comment\n"
           "BYOK_DOTENV_TEST_A=from-file\n"
           "export BYOK_DOTENV_TEST_B = \"two words\\nline\" \n"
           "BYOK_DOTENV_TEST_C='single # not a comment'\n"
           "BYOK_DOTENV_TEST_D=bare # comment\n"
           "not an assignment\n"
           "BYOK_DOTENV_TEST_E=file\n";
  }
  setenv("BYOK_DOTENV_TEST_E", "environment", 1);
  ASSERT_TRUE(LoadDotEnv(path).ok());
  Env env;
  EXPECT_EQ(env.GetString("BYOK_DOTENV_TEST_A", ""), "from-file");
  EXPECT_EQ(env.GetString("BYOK_DOTENV_TEST_B", ""), "two words\nline");
  EXPECT_EQ(env.GetString("BYOK_DOTENV_TEST_C", ""), "single # not a comment");
  EXPECT_EQ(env.GetString("BYOK_DOTENV_TEST_D", ""), "bare");
  EXPECT_EQ(env.GetString("BYOK_DOTENV_TEST_E", ""), "environment");
  // No file: nothing to do.
  EXPECT_TRUE(LoadDotEnv(dir.path() + "/missing.env").ok());
}

}  // namespace
}  // namespace byok
