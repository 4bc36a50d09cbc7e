// Descriptor exhaustion of a real gateway process: its RLIMIT_NOFILE is lowered with prlimit(1) to a
// little above what it uses, then more connections arrive than it can take. The gateway must back off
// (bounded CPU and log volume while exhausted) and answer again once the connections close.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <dirent.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/e2e/suite.h"

namespace byok::testing {
namespace {

// Open descriptors of process `pid`.
int OpenDescriptors(pid_t pid) {
  DIR* dir = opendir(absl::StrCat("/proc/", pid, "/fd").c_str());
  if (dir == nullptr) return -1;
  int n = 0;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n;
}

// CPU time (user + system) process `pid` used so far.
absl::Duration CpuTime(pid_t pid) {
  std::string stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  // Fields after the command name (which may hold spaces) start after the last ')'.
  std::vector<std::string> fields = absl::StrSplit(stat.substr(stat.rfind(')') + 2), ' ');
  // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
  int64_t utime = 0;
  int64_t stime = 0;
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[11], &utime) ||
      !absl::SimpleAtoi(fields[12], &stime)) {
    return absl::InfiniteDuration();
  }
  return absl::Seconds(static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK)));
}

// A TCP connection to 127.0.0.1:port that sends nothing; -1 when it cannot be made.
int ConnectSilently(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

TEST(FaultDescriptorsTest, ExhaustionIsSurvivedWithBoundedCpuAndLogsAndServiceResumes) {
  SuiteOptions options;
  // Connections that send nothing are held for the whole test, not timed out.
  options.gateway_env["BYOK_HTTP_HEADER_TIMEOUT_MS"] = "120000";
  auto suite = Suite::Start(options);
  ASSERT_TRUE(suite.ok()) << suite.status();
  Suite& s = **suite;
  auto version = Fetch(s.port(), "GET", "/version");
  ASSERT_TRUE(version.ok() && version->status == 200);

  // Leave the gateway a little room above what it uses now.
  pid_t pid = s.gateway_pid();
  int in_use = OpenDescriptors(pid);
  ASSERT_GT(in_use, 0);
  int limit = in_use + 16;
  auto prlimit = ChildProcess::Start(
      "/usr/bin/prlimit", {"--pid", std::to_string(pid), absl::StrCat("--nofile=", limit, ":", limit)},
      {});
  ASSERT_TRUE(prlimit.ok()) << prlimit.status();
  auto prlimit_code = (*prlimit)->Wait(absl::Seconds(10));
  ASSERT_TRUE(prlimit_code.ok() && *prlimit_code == 0) << (*prlimit)->Output();

  // More connections than it has descriptors for; the rest wait in the listen queue.
  std::vector<int> clients;
  for (int i = 0; i < 200; ++i) {
    int fd = ConnectSilently(s.port());
    ASSERT_GE(fd, 0) << "connection " << i;
    clients.push_back(fd);
  }
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!absl::StrContains(s.GatewayLogs(), "Too many open files") && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_THAT(s.GatewayLogs(), ::testing::HasSubstr("Too many open files"))
      << "the gateway never ran out of descriptors";

  // While exhausted: a retry loop without backoff burns a core and writes a line per attempt.
  constexpr absl::Duration kWindow = absl::Seconds(2);
  absl::Duration cpu_before = CpuTime(pid);
  size_t log_before = s.GatewayLogs().size();
  absl::SleepFor(kWindow);
  absl::Duration cpu_used = CpuTime(pid) - cpu_before;
  size_t logged = s.GatewayLogs().size() - log_before;
  std::cerr << "while exhausted for " << absl::FormatDuration(kWindow) << ": "
            << absl::FormatDuration(cpu_used) << " CPU, " << logged << " bytes logged\n";
  EXPECT_LT(cpu_used, kWindow * 0.1) << "CPU while exhausted";
  EXPECT_LT(logged, 512u) << s.GatewayLogs().substr(log_before, 2000);
  EXPECT_LT(s.GatewayLogs().size(), 16u * 1024) << "log volume of the whole episode";

  // Descriptors free up: the gateway answers again, within its backoff.
  for (int fd : clients) close(fd);
  absl::Time closed = absl::Now();
  int status = 0;
  deadline = closed + absl::Seconds(10);
  while (absl::Now() < deadline) {
    TestRequest version_request;
    version_request.target = "/version";
    auto r = Fetch(s.port(), version_request, absl::Seconds(1));
    if (r.ok()) {
      status = r->status;
      break;
    }
  }
  EXPECT_EQ(status, 200);
  std::cerr << "answering again " << absl::FormatDuration(absl::Now() - closed)
            << " after the connections closed\n";
  EXPECT_LT(absl::Now() - closed, absl::Seconds(3));
  EXPECT_THAT(s.GatewayLogs(), ::testing::HasSubstr("accepting connections again"));
}

}  // namespace
}  // namespace byok::testing
