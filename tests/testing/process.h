// Test support: real child processes (the suite's executables), free loopback ports and temporary folders.
#ifndef BYOK_TESTS_TESTING_PROCESS_H_
#define BYOK_TESTS_TESTING_PROCESS_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace byok::testing {

// Returns a TCP port on 127.0.0.1 that was free when asked.
int PickUnusedPort();

// Returns the path of a built executable: $BYOK_BIN_DIR/name.
std::string BinaryPath(const std::string& name);

// Waits until a TCP connection to 127.0.0.1:port succeeds, or `timeout` passes.
absl::Status WaitForPort(int port, absl::Duration timeout);

// Returns the whole contents of the file at `path` (empty when it cannot be read).
std::string ReadFile(const std::string& path);

// A temporary folder, removed with everything in it when destroyed.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Returns the folder's absolute path.
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A child process whose stdout and stderr are captured to a file. Killed (SIGKILL) and reaped on
// destruction if still running. Not thread-safe.
class ChildProcess {
 public:
  // Starts `path` with `args`. The child's environment is exactly `env` plus PATH and the test's own
  // sanitizer options (ASAN_OPTIONS, LSAN_OPTIONS, TSAN_OPTIONS, UBSAN_OPTIONS) when set.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(
      const std::string& path, const std::vector<std::string>& args,
      const std::map<std::string, std::string>& env);

  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  // Returns true while the process has not exited.
  bool Running();

  // Sends SIGTERM and waits up to `timeout` for the exit; returns the exit code (128+N for signal N).
  absl::StatusOr<int> Stop(absl::Duration timeout = absl::Seconds(10));

  // Sends SIGKILL and reaps the process.
  void Kill();

  // Waits up to `timeout` for the process to exit by itself; returns its exit code.
  absl::StatusOr<int> Wait(absl::Duration timeout);

  // Waits until 127.0.0.1:port accepts connections; fails early if the process exits.
  absl::Status WaitForPort(int port, absl::Duration timeout);

  // Returns everything the process wrote to stdout and stderr so far.
  std::string Output() const;

 private:
  ChildProcess(pid_t pid, std::string output_path);
  bool Reap(bool block);

  pid_t pid_;
  std::string output_path_;
  bool exited_ = false;
  int exit_code_ = 0;
};

}  // namespace byok::testing

#endif  // BYOK_TESTS_TESTING_PROCESS_H_
