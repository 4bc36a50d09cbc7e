#include "tests/vault/vault_daemon.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "absl/strings/str_cat.h"
#include "common/crypto/hex.h"
#include "common/crypto/random.h"
#include "tests/testing/service_token.h"

namespace byok::vault::testing {

std::string NewSecret() { return crypto::HexEncode(*crypto::RandomBytes(32)); }

absl::StatusOr<std::unique_ptr<VaultDaemon>> VaultDaemon::Start(
    std::map<std::string, std::string> env) {
  std::unique_ptr<VaultDaemon> d(new VaultDaemon());
  d->port_ = byok::testing::PickUnusedPort();
  env["BYOK_VAULT_ADDR"] = absl::StrCat("127.0.0.1:", d->port_);
  env.emplace("LOG_LEVEL", "warn");
  // The test acts as the suite's services (its stub sends the token); tests of the caller model
  // make their own channels.
  env.emplace("BYOK_SERVICE_TOKEN", byok::testing::kTestServiceToken);
  absl::StatusOr<std::unique_ptr<byok::testing::ChildProcess>> process =
      byok::testing::ChildProcess::Start(byok::testing::BinaryPath("byok-vaultd"), {}, env);
  if (!process.ok()) return process.status();
  d->process_ = *std::move(process);
  if (absl::Status s = d->process_->WaitForPort(d->port_, absl::Seconds(10)); !s.ok()) {
    return absl::UnavailableError(absl::StrCat(s.message(), "; output: ", d->process_->Output()));
  }
  d->stub_ = v1::Vault::NewStub(
      byok::testing::ServiceChannel(absl::StrCat("127.0.0.1:", d->port_)));
  return d;
}

absl::StatusOr<int> VaultDaemon::Stop() { return process_->Stop(absl::Seconds(10)); }

}  // namespace byok::vault::testing
