// Test support for the relay's end-to-end tests: real byok-vaultd and byok-relayd processes, a vault
// stub to create users and keys, and a relay stub, all on loopback.
#ifndef BYOK_TESTS_RELAY_RELAY_SUITE_H_
#define BYOK_TESTS_RELAY_RELAY_SUITE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "byok/relay/v1/relay.grpc.pb.h"
#include "byok/vault/v1/vault.grpc.pb.h"
#include "tests/testing/process.h"

namespace byok::relay::testing {

// A running byok-vaultd with its own database folder and its metrics on.
class VaultProcess {
 public:
  static absl::StatusOr<std::unique_ptr<VaultProcess>> Start();

  int port() const { return port_; }
  // The ResolveKey calls the vault has answered (read from its metrics).
  absl::StatusOr<double> ResolveKeyCalls() const;
  // The requests the vault has recorded for `token`'s user (GetStats).
  absl::StatusOr<int64_t> TotalRequests(const std::string& token);
  std::string address() const;
  // The vault's SQLite database file.
  std::string database_path() const { return dir_.path() + "/relay.db"; }
  vault::v1::Vault::Stub& stub() { return *stub_; }

  // Creates a user and stores `key` for `provider` (bound to `base_url` when set); returns the token.
  absl::StatusOr<std::string> CreateUserWithKey(const std::string& provider, const std::string& key,
                                                const std::string& base_url = "");

 private:
  byok::testing::TempDir dir_;
  int port_ = 0;
  int metrics_port_ = 0;
  std::unique_ptr<byok::testing::ChildProcess> process_;
  std::unique_ptr<vault::v1::Vault::Stub> stub_;
};

// A running byok-relayd with the given environment (BYOK_RELAY_ADDR is added).
class RelayProcess {
 public:
  static absl::StatusOr<std::unique_ptr<RelayProcess>> Start(std::map<std::string, std::string> env);

  int port() const { return port_; }
  v1::Relay::Stub& stub() { return *stub_; }
  byok::testing::ChildProcess& process() { return *process_; }

 private:
  int port_ = 0;
  std::unique_ptr<byok::testing::ChildProcess> process_;
  std::unique_ptr<v1::Relay::Stub> stub_;
};

// The environment that points every provider of the table at `base_url`.
std::map<std::string, std::string> AllProvidersAt(const std::string& base_url);

// One finished Relay call as the client saw it.
struct RelayResult {
  grpc::Status status;
  bool has_head = false;
  v1::ResponseHead head;
  std::string body;
  int pieces = 0;    // messages that carried body bytes
  int messages = 0;  // messages of any kind
  std::string reason;  // the ErrorInfo reason of a failed call, when sent
  // Returns the first value of response header `name`, or "".
  std::string Header(const std::string& name) const;
};

// Makes a RelayRequest.
v1::RelayRequest MakeRequest(const std::string& token, const std::string& provider,
                             const std::string& path, const std::string& body,
                             std::vector<std::pair<std::string, std::string>> headers = {},
                             const std::string& method = "POST");

// Runs one Relay call to its end (bounded by a 15 s deadline).
RelayResult RunRelay(v1::Relay::Stub& stub, const v1::RelayRequest& request);

// Runs `request` through `relay` until a call is answered without a ResolveKey call to `vault`: from
// then on the relay keeps the request's key. It keeps keys only while its stream of the vault's key
// changes is live, which a relay just started may not have yet. An error after 10 s.
absl::Status KeepKeyInRelay(VaultProcess& vault, v1::Relay::Stub& relay, const v1::RelayRequest& request);

}  // namespace byok::relay::testing

#endif  // BYOK_TESTS_RELAY_RELAY_SUITE_H_
