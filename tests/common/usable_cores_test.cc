#include "common/usable_cores.h"

#include <gtest/gtest.h>

#include <thread>

#include "tests/testing/one_cpu.h"

namespace byok {
namespace {

TEST(UsableCoresTest, ReadsCgroupV2Quotas) {
  EXPECT_EQ(CoresFromCpuMax("max 100000\n"), std::nullopt);
  EXPECT_EQ(CoresFromCpuMax("100000 100000\n"), 1);
  EXPECT_EQ(CoresFromCpuMax("150000 100000"), 2);  // one and a half cores: two threads can use them
  EXPECT_EQ(CoresFromCpuMax("50000 100000"), 1);
  EXPECT_EQ(CoresFromCpuMax("400000 100000"), 4);
  EXPECT_EQ(CoresFromCpuMax(""), std::nullopt);
  EXPECT_EQ(CoresFromCpuMax("0 100000"), std::nullopt);
  EXPECT_EQ(CoresFromCpuMax("abc 100000"), std::nullopt);
}

TEST(UsableCoresTest, ReadsCgroupV1Quotas) {
  EXPECT_EQ(CoresFromCfsQuota("-1\n", "100000\n"), std::nullopt);
  EXPECT_EQ(CoresFromCfsQuota("200000\n", "100000\n"), 2);
  EXPECT_EQ(CoresFromCfsQuota("250000", "100000"), 3);
  EXPECT_EQ(CoresFromCfsQuota("x", "100000"), std::nullopt);
}

TEST(UsableCoresTest, CountsOnlyTheCpusTheThreadMayRunOn) {
  const int all = UsableCores();
  EXPECT_GE(all, 1);
  EXPECT_LE(all, static_cast<int>(std::thread::hardware_concurrency()));
  {
    testing::PinnedToOneCpu one;
    ASSERT_TRUE(one.pinned());
    EXPECT_EQ(UsableCores(), 1);
  }
  EXPECT_EQ(UsableCores(), all);
}

}  // namespace
}  // namespace byok
