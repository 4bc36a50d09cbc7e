#include "common/thread_name.h"

#include <thread>

#include <gtest/gtest.h>

namespace byok {
namespace {

TEST(ThreadNameTest, NamesTheCallingThreadOnly) {
  const std::string before = ThisThreadName();
  std::string inside;
  std::thread t([&] {
    NameThisThread("relay-upstream");
    inside = ThisThreadName();
  });
  t.join();
  EXPECT_EQ(inside, "relay-upstream");
  EXPECT_EQ(ThisThreadName(), before);
}

TEST(ThreadNameTest, KeepsTheFirstFifteenBytesOfALongName) {
  std::string inside;
  std::thread t([&] {
    NameThisThread("a-name-longer-than-fifteen-bytes");
    inside = ThisThreadName();
  });
  t.join();
  EXPECT_EQ(inside, "a-name-longer-t");
}

}  // namespace
}  // namespace byok
