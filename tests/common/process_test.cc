#include "tests/testing/process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

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

// Ports come from below the kernel's ephemeral range when it leaves room there (outgoing connections
// take their source ports from that range, so a daemon's port could be taken before it listens), and
// each is free: it can be bound at once.
TEST(PickUnusedPortTest, PicksFreePortsBelowTheEphemeralRange) {
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  int ephemeral_start = 0;
  ASSERT_TRUE(range >> ephemeral_start);
  const bool room_below = ephemeral_start - 10000 >= 1000;
  for (int i = 0; i < 20; ++i) {
    const int port = PickUnusedPort();
    if (room_below) {
      EXPECT_GE(port, 10000);
      EXPECT_LT(port, ephemeral_start);
    }
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0) << "port " << port;
    ::close(fd);
  }
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
