// Test support for the vault's integration tests: a real byok-vaultd child process on 127.0.0.1 and a
// gRPC stub connected to it.
#ifndef BYOK_TESTS_VAULT_VAULT_DAEMON_H_
#define BYOK_TESTS_VAULT_VAULT_DAEMON_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "byok/vault/v1/vault.grpc.pb.h"
#include "tests/testing/process.h"

namespace byok::vault::testing {

// A fresh random ENCRYPTION_SECRET (64 hex characters).
std::string NewSecret();

// A running byok-vaultd with its own port. Stopped (SIGTERM) on destruction.
class VaultDaemon {
 public:
  // Starts byok-vaultd with `env` plus BYOK_VAULT_ADDR (a free port) and LOG_LEVEL=warn unless given,
  // and waits until it accepts connections.
  static absl::StatusOr<std::unique_ptr<VaultDaemon>> Start(std::map<std::string, std::string> env);

  // Returns a stub on a fresh channel to the daemon.
  v1::Vault::Stub& stub() { return *stub_; }
  int port() const { return port_; }
  byok::testing::ChildProcess& process() { return *process_; }

  // Stops the daemon with SIGTERM; returns its exit code.
  absl::StatusOr<int> Stop();

  // Closes the test's channel.
  void Disconnect() { stub_.reset(); }

 private:
  VaultDaemon() = default;
  int port_ = 0;
  std::unique_ptr<byok::testing::ChildProcess> process_;
  std::unique_ptr<v1::Vault::Stub> stub_;
};

// Calls one unary RPC with a 5 s deadline and returns its status as absl::Status.
template <typename Request, typename Response>
absl::Status Call(grpc::Status (v1::Vault::Stub::*method)(grpc::ClientContext*, const Request&,
                                                          Response*),
                  v1::Vault::Stub& stub, const Request& request, Response* response);

}  // namespace byok::vault::testing

#include "tests/vault/vault_daemon_inl.h"

#endif  // BYOK_TESTS_VAULT_VAULT_DAEMON_H_
