// The relay's end-to-end fixture: the fake AI provider on loopback standing in for every provider, a
// byok-vaultd (unless the test needs none) and a byok-relayd pointed at both. One set per test.
#ifndef BYOK_TESTS_RELAY_RELAY_DAEMONS_H_
#define BYOK_TESTS_RELAY_RELAY_DAEMONS_H_

#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/relay/relay_suite.h"
#include "tests/testing/fake_provider/fake_provider.h"
#include "tests/testing/process.h"

namespace byok::relay::testing {

class RelayDaemonsTest : public ::testing::Test {
 protected:
  // Starts the fake provider, a vault and a relay with `extra` added to its environment (`extra` wins).
  // Call under ASSERT_NO_FATAL_FAILURE.
  void StartWithVault(const std::map<std::string, std::string>& extra = {}) {
    ASSERT_NO_FATAL_FAILURE(StartFake());
    auto vault = VaultProcess::Start();
    ASSERT_TRUE(vault.ok()) << vault.status();
    vault_ = *std::move(vault);
    ASSERT_NO_FATAL_FAILURE(StartRelay(vault_->address(), extra));
  }

  // As StartWithVault, for a test that needs no vault: the relay's vault address is a port nothing
  // listens on.
  void StartWithoutVault(const std::map<std::string, std::string>& extra = {}) {
    ASSERT_NO_FATAL_FAILURE(StartFake());
    ASSERT_NO_FATAL_FAILURE(
        StartRelay(absl::StrCat("127.0.0.1:", byok::testing::PickUnusedPort()), extra));
  }

  byok::testing::FakeProvider& fake() { return *fake_; }
  VaultProcess& vault() { return *vault_; }
  RelayProcess& relay() { return *relay_; }

 private:
  void StartFake() {
    auto fake = byok::testing::FakeProvider::Start({});
    ASSERT_TRUE(fake.ok()) << fake.status();
    fake_ = *std::move(fake);
  }

  void StartRelay(const std::string& vault_address, const std::map<std::string, std::string>& extra) {
    std::map<std::string, std::string> env = AllProvidersAt(fake_->base_url());
    env["BYOK_VAULT_ADDR"] = vault_address;
    for (const auto& [name, value] : extra) env[name] = value;
    auto relay = RelayProcess::Start(env);
    ASSERT_TRUE(relay.ok()) << relay.status();
    relay_ = *std::move(relay);
  }

  // Declared so that the relay stops first, then the vault and the provider it called.
  std::unique_ptr<byok::testing::FakeProvider> fake_;
  std::unique_ptr<VaultProcess> vault_;
  std::unique_ptr<RelayProcess> relay_;
};

}  // namespace byok::relay::testing

#endif  // BYOK_TESTS_RELAY_RELAY_DAEMONS_H_
