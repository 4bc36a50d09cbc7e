#include "tests/testing/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace byok::testing {
namespace {

constexpr absl::Duration kPollInterval = absl::Milliseconds(10);

// The first port of the kernel's ephemeral range (net.ipv4.ip_local_port_range), 32768 when unknown.
int EphemeralPortStart() {
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 0;
  if (range >> low && low > 0) return low;
  return 32768;
}

// Returns a socket bound to 127.0.0.1:port (0 for any), or -1.
int BindLoopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool CanConnect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

int ExitCodeFromWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

int PickUnusedPort() {
  // Ports handed out are remembered so that one test process never gets the same port twice. They come
  // from below the kernel's ephemeral range when there is room there: a port from that range (what a
  // bind to port 0 returns) can be taken meanwhile as the source port of any outgoing connection on the
  // machine (a relay to its fake provider, in a test running beside this one), and the daemon that was
  // meant to listen on it then fails with "Address already in use".
  static absl::Mutex mu(absl::kConstInit);
  static absl::flat_hash_set<int>* given = new absl::flat_hash_set<int>();
  absl::MutexLock lock(&mu);
  constexpr int kLowest = 10000;
  const int ephemeral_start = EphemeralPortStart();
  if (ephemeral_start - kLowest >= 1000) {
    // A random port each time, so that test processes running side by side rarely try the same one.
    // Seeded by the kernel: test processes started in the same microsecond get different sequences.
    static std::mt19937 random{std::random_device{}()};
    std::uniform_int_distribution<int> pick(kLowest, ephemeral_start - 1);
    for (int attempt = 0; attempt < 256; ++attempt) {
      const int port = pick(random);
      if (given->contains(port)) continue;
      int fd = BindLoopback(port);
      if (fd < 0) continue;
      ::close(fd);
      given->insert(port);
      return port;
    }
  }
  for (int attempt = 0; attempt < 64; ++attempt) {
    int fd = BindLoopback(0);
    if (fd < 0) continue;
    sockaddr_in addr{};
    socklen_t len = sizeof(addr);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    int port = ntohs(addr.sin_port);
    if (port != 0 && given->insert(port).second) return port;
  }
  std::abort();
}

std::string BinaryPath(const std::string& name) {
  const char* dir = std::getenv("BYOK_BIN_DIR");
  return absl::StrCat(dir != nullptr ? dir : "bin", "/", name);
}

absl::Status WaitForPort(int port, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (CanConnect(port)) return absl::OkStatus();
    absl::SleepFor(kPollInterval);
  }
  return absl::DeadlineExceededError(absl::StrCat("nothing listens on 127.0.0.1:", port));
}

TempDir::TempDir() {
  std::string templ = (std::filesystem::temp_directory_path() / "byok-test-XXXXXX").string();
  char* made = ::mkdtemp(templ.data());
  if (made == nullptr) std::abort();
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

ChildProcess::ChildProcess(pid_t pid, std::string output_path)
    : pid_(pid), output_path_(std::move(output_path)) {}

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(
    const std::string& path, const std::vector<std::string>& args,
    const std::map<std::string, std::string>& env) {
  char output_template[] = "/tmp/byok-child-XXXXXX";
  int out_fd = ::mkstemp(output_template);
  if (out_fd < 0) return absl::InternalError("cannot create the child's output file");

  std::vector<std::string> argv_store{path};
  argv_store.insert(argv_store.end(), args.begin(), args.end());
  std::vector<std::string> env_store;
  const char* system_path = std::getenv("PATH");
  env_store.push_back(absl::StrCat("PATH=", system_path != nullptr ? system_path : "/usr/bin:/bin"));
  // A sanitizer build's child runs under the test's sanitizer options (suppressions, halt_on_error):
  // a report in a daemon then fails the test that started it instead of going unread.
  for (const char* name : {"ASAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS", "UBSAN_OPTIONS"}) {
    const char* value = std::getenv(name);
    if (value != nullptr && env.find(name) == env.end()) env_store.push_back(absl::StrCat(name, "=", value));
  }
  for (const auto& [name, value] : env) env_store.push_back(absl::StrCat(name, "=", value));
  std::vector<char*> argv;
  for (std::string& a : argv_store) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (std::string& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(out_fd);
    return absl::InternalError("fork failed");
  }
  if (pid == 0) {
    // The child: unblock the signals the test runner may have blocked, redirect output, exec.
    sigset_t all;
    sigfillset(&all);
    ::sigprocmask(SIG_UNBLOCK, &all, nullptr);
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(out_fd, STDERR_FILENO);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    ::execve(path.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(out_fd);
  return std::unique_ptr<ChildProcess>(new ChildProcess(pid, output_template));
}

ChildProcess::~ChildProcess() {
  if (!exited_) Kill();
  ::unlink(output_path_.c_str());
}

bool ChildProcess::Reap(bool block) {
  if (exited_) return true;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  if (r == pid_) {
    exited_ = true;
    exit_code_ = ExitCodeFromWaitStatus(status);
  }
  return exited_;
}

bool ChildProcess::Running() { return !Reap(false); }

void ChildProcess::Kill() {
  if (exited_) return;
  ::kill(pid_, SIGKILL);
  Reap(true);
}

absl::StatusOr<int> ChildProcess::Wait(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (!Reap(false)) {
    if (absl::Now() >= deadline) return absl::DeadlineExceededError("the process did not exit");
    absl::SleepFor(kPollInterval);
  }
  return exit_code_;
}

absl::StatusOr<int> ChildProcess::Stop(absl::Duration timeout) {
  if (!exited_) ::kill(pid_, SIGTERM);
  absl::StatusOr<int> code = Wait(timeout);
  if (!code.ok()) Kill();
  return code;
}

absl::Status ChildProcess::WaitForPort(int port, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (!Running()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the process exited with code ", exit_code_, " before listening: ", Output()));
    }
    if (CanConnect(port)) return absl::OkStatus();
    absl::SleepFor(kPollInterval);
  }
  return absl::DeadlineExceededError(absl::StrCat("nothing listens on 127.0.0.1:", port));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string ChildProcess::Output() const { return ReadFile(output_path_); }

}  // namespace byok::testing
