// Test support: a real redis-server (Debian's) on 127.0.0.1, on a free port, in a temporary folder, with
// no persistence. Stopped when destroyed.
#ifndef BYOK_TESTS_TESTING_REDIS_SERVER_H_
#define BYOK_TESTS_TESTING_REDIS_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/testing/process.h"

namespace byok::testing {

struct RedisServerOptions {
  // When set, clients must AUTH with it (requirepass).
  std::string password;
};

class RedisServer {
 public:
  // Starts redis-server and waits until it answers PING.
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start(RedisServerOptions options = {});

  ~RedisServer() = default;
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  // redis://[:password@]127.0.0.1:port
  std::string url() const;

  // Stops the server (SIGTERM; its data is gone: nothing is persisted). Idempotent.
  absl::Status Stop();
  // Starts it again on the same port, empty.
  absl::Status Restart();
  bool running() const { return process_ != nullptr; }

  // Sends one inline command (e.g. "DBSIZE") and returns the reply line without its CRLF (test use).
  absl::StatusOr<std::string> Command(const std::string& inline_command) const;

 private:
  RedisServer(RedisServerOptions options, int port) : options_(std::move(options)), port_(port) {}
  absl::Status Launch();

  RedisServerOptions options_;
  int port_;
  TempDir dir_;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace byok::testing

#endif  // BYOK_TESTS_TESTING_REDIS_SERVER_H_
