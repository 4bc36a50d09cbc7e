// The suite as a browser app meets it: real byok-vaultd, byok-relayd and byok-gatewayd processes on
// loopback, and the fake AI provider (in the test process) standing in for every provider.
#ifndef BYOK_TESTS_E2E_SUITE_H_
#define BYOK_TESTS_E2E_SUITE_H_

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/gateway/http_test_client.h"
#include "tests/testing/fake_provider/fake_provider.h"
#include "tests/testing/process.h"

namespace byok::testing {

// Extra environment for the suite's processes.
struct SuiteOptions {
  std::map<std::string, std::string> gateway_env;
  std::map<std::string, std::string> relay_env;
  std::map<std::string, std::string> vault_env;
  // Ports of the vault and relay (0: picked), for tests that name them in address lists up front.
  int vault_port = 0;
  int relay_port = 0;
};

// A running suite. Stops everything it started when destroyed. Not thread-safe.
class Suite {
 public:
  static absl::StatusOr<std::unique_ptr<Suite>> Start(SuiteOptions options = {});

  // The gateway's HTTP port, and the vault's and relay's gRPC ports.
  int port() const { return gateway_port_; }
  int vault_port() const { return vault_port_; }
  int relay_port() const { return relay_port_; }
  FakeProvider& fake() { return *fake_; }

  // Stops the vault (SIGTERM) and starts it again on the same port and database.
  absl::Status StopVault();
  absl::Status StartVault();

  // Kills the vault with SIGKILL (no chance to finish anything); StartVault brings it back.
  void KillVault();

  // Stops the relay (SIGKILL when `kill`, else SIGTERM) and starts it again on the same port.
  absl::Status StopRelay(bool kill = false);
  absl::Status StartRelay();

  // The gateway's process id (to observe its CPU time or change its limits).
  pid_t gateway_pid() const { return gateway_->pid(); }
  // Everything the gateway wrote so far.
  std::string GatewayLogs() const { return gateway_->Output(); }

  // Starts one more gateway on the same vault and relay, with `env` added; returns its port.
  absl::StatusOr<int> StartExtraGateway(std::map<std::string, std::string> env);
  // Starts one more vault (on `port`, 0: picked) or relay with the suite's settings and `env` added
  // (a vault replica needs a shared database: BYOK_VAULT_DATABASE_URL); returns its port.
  absl::StatusOr<int> StartExtraVault(int port, std::map<std::string, std::string> env);
  absl::StatusOr<int> StartExtraRelay(int port, std::map<std::string, std::string> env);

  // The APP_SECRET the suite runs with.
  static constexpr char kAppSecret[] = "e2e-app-secret-value";

  // Registers a user of `app_id`; returns the token.
  absl::StatusOr<std::string> Register(const std::string& app_id = "e2e-app");

  // Everything the processes wrote, for failure messages.
  std::string Logs() const;

 private:
  Suite() = default;
  absl::StatusOr<std::unique_ptr<ChildProcess>> Launch(const std::string& binary,
                                                       std::map<std::string, std::string> env,
                                                       int port);

  TempDir dir_;
  std::unique_ptr<FakeProvider> fake_;
  std::map<std::string, std::string> vault_env_;
  std::map<std::string, std::string> gateway_env_;
  std::map<std::string, std::string> relay_env_;
  int vault_port_ = 0;
  int relay_port_ = 0;
  int gateway_port_ = 0;
  std::unique_ptr<ChildProcess> vault_;
  std::unique_ptr<ChildProcess> relay_;
  std::unique_ptr<ChildProcess> gateway_;
  absl::StatusOr<int> StartExtra(const std::string& binary, const std::map<std::string, std::string>& base,
                                 const char* listen_variable, int port,
                                 std::map<std::string, std::string> env);

  std::vector<std::unique_ptr<ChildProcess>> extras_;  // extra gateways, vaults and relays
};

}  // namespace byok::testing

#endif  // BYOK_TESTS_E2E_SUITE_H_
