#include "common/thread_name.h"

#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace byok {
namespace {

// Names a new thread `name` and returns what the kernel then holds as that thread's name.
std::string NameSeenInANewThread(const std::string& name) {
  std::string seen;
  std::thread t([&] {
    NameThisThread(name);
    seen = ThisThreadName();
  });
  t.join();
  return seen;
}

TEST(ThreadNameTest, NamesTheCallingThreadOnly) {
  const std::string before = ThisThreadName();
  EXPECT_EQ(NameSeenInANewThread("relay-upstream"), "relay-upstream");
  EXPECT_EQ(ThisThreadName(), before);
}

TEST(ThreadNameTest, KeepsTheFirstFifteenBytesOfALongName) {
  EXPECT_EQ(NameSeenInANewThread("a-name-longer-than-fifteen-bytes"), "a-name-longer-t");
}

TEST(ThreadNameTest, StartsAThreadUnderItsName) {
  std::string seen;
  std::thread t = StartNamedThread("vault-store", [&] { seen = ThisThreadName(); });
  t.join();
  EXPECT_EQ(seen, "vault-store");
}

}  // namespace
}  // namespace byok
