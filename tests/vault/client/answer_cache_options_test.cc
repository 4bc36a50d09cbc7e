#include "services/vault/client/answer_cache_options.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/status_matchers.h"

namespace byok::vault {
namespace {

using ::byok::testing::StatusIs;
using ::testing::HasSubstr;

absl::StatusOr<AnswerCacheOptions> Load(absl::flat_hash_map<std::string, std::string> vars) {
  return LoadAnswerCacheOptions(Env(std::move(vars)),
                                {"BYOK_TEST_CACHE_ENTRIES", "BYOK_TEST_CACHE_TTL_SECONDS"});
}

TEST(LoadAnswerCacheOptionsTest, DefaultsToTenThousandEntriesForSixtySeconds) {
  auto options = Load({});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->max_entries, 10000u);
  EXPECT_EQ(options->ttl, absl::Seconds(60));
  ASSERT_TRUE(options->now);
}

TEST(LoadAnswerCacheOptionsTest, ReadsTheTwoVariablesOfItsPrefixOnly) {
  auto options = Load({{"BYOK_TEST_CACHE_ENTRIES", "25"},
                       {"BYOK_TEST_CACHE_TTL_SECONDS", "5"},
                       {"BYOK_OTHER_CACHE_ENTRIES", "7"},
                       {"BYOK_OTHER_CACHE_TTL_SECONDS", "9"}});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->max_entries, 25u);
  EXPECT_EQ(options->ttl, absl::Seconds(5));
}

TEST(LoadAnswerCacheOptionsTest, ZeroEntriesTurnsTheCacheOff) {
  auto options = Load({{"BYOK_TEST_CACHE_ENTRIES", "0"}});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->max_entries, 0u);
}

TEST(LoadAnswerCacheOptionsTest, TheBoundsAreInclusive) {
  auto options = Load({{"BYOK_TEST_CACHE_ENTRIES", "10000000"}, {"BYOK_TEST_CACHE_TTL_SECONDS", "86400"}});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->max_entries, 10'000'000u);
  EXPECT_EQ(options->ttl, absl::Hours(24));
  options = Load({{"BYOK_TEST_CACHE_TTL_SECONDS", "1"}});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->ttl, absl::Seconds(1));
}

TEST(LoadAnswerCacheOptionsTest, ABadValueIsAnErrorNamingItsVariable) {
  struct Case {
    const char* name;
    const char* value;
  };
  for (const Case& c : {Case{"BYOK_TEST_CACHE_ENTRIES", "-1"}, Case{"BYOK_TEST_CACHE_ENTRIES", "10000001"},
                        Case{"BYOK_TEST_CACHE_ENTRIES", "many"}, Case{"BYOK_TEST_CACHE_TTL_SECONDS", "0"},
                        Case{"BYOK_TEST_CACHE_TTL_SECONDS", "86401"},
                        Case{"BYOK_TEST_CACHE_TTL_SECONDS", "1m"}}) {
    SCOPED_TRACE(std::string(c.name) + "=" + c.value);
    auto options = Load({{c.name, c.value}});
    EXPECT_THAT(options, StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(std::string(options.status().message()), HasSubstr(c.name));
  }
}

}  // namespace
}  // namespace byok::vault
