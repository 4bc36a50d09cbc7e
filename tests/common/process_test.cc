#include "tests/testing/process.h"

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/status_matchers.h"

namespace byok::testing {
namespace {

using ::testing::HasSubstr;

TEST(ChildProcessTest, CapturesOutputAndExitCode) {
  auto child = ChildProcess::Start("/bin/sh", {"-c", "echo hello $GREETING; exit 3"},
                                   {{"GREETING", "world"}});
  ASSERT_THAT(child, IsOk());
  absl::StatusOr<int> code = (*child)->Wait(absl::Seconds(10));
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 3);
  EXPECT_THAT((*child)->Output(), HasSubstr("hello world"));
}

TEST(ChildProcessTest, StopSendsTerm) {
  auto child = ChildProcess::Start("/bin/sleep", {"30"}, {});
  ASSERT_THAT(child, IsOk());
  EXPECT_TRUE((*child)->Running());
  absl::StatusOr<int> code = (*child)->Stop(absl::Seconds(5));
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 128 + 15);
}

TEST(ChildProcessTest, WaitForPortFailsFastWhenTheProcessExits) {
  auto child = ChildProcess::Start("/bin/sh", {"-c", "exit 1"}, {});
  ASSERT_THAT(child, IsOk());
  EXPECT_THAT((*child)->WaitForPort(PickUnusedPort(), absl::Seconds(5)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(PickUnusedPortTest, NeverRepeatsAPort) {
  int a = PickUnusedPort();
  int b = PickUnusedPort();
  EXPECT_NE(a, b);
  EXPECT_GT(a, 0);
}

TEST(TempDirTest, RemovesItsFolder) {
  std::string path;
  {
    TempDir dir;
    path = dir.path();
    std::ofstream(path + "/file") << "x";
    EXPECT_TRUE(std::filesystem::exists(path + "/file"));
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace byok::testing
