#include "tests/e2e/suite.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "tests/testing/service_token.h"

namespace byok::testing {
namespace {

// A fixed, well-mixed test secret (SHA-256 of "byok-relay e2e"); never used outside tests.
constexpr char kEncryptionSecret[] =
    "6d1f0b3c9a7e45d2b8c1f09e7a6d5c4b3a29180f7e6d5c4b3a2918f0e7d6c5b4";
constexpr absl::Duration kStartTimeout = absl::Seconds(15);

}  // namespace

absl::StatusOr<std::unique_ptr<ChildProcess>> Suite::Launch(const std::string& binary,
                                                            std::map<std::string, std::string> env,
                                                            int port) {
  auto process = ChildProcess::Start(BinaryPath(binary), {}, env);
  if (!process.ok()) return process.status();
  if (absl::Status s = (*process)->WaitForPort(port, kStartTimeout); !s.ok()) {
    return absl::UnavailableError(
        absl::StrCat(binary, " did not start: ", s.message(), "\n", (*process)->Output()));
  }
  return process;
}

absl::StatusOr<std::unique_ptr<Suite>> Suite::Start(SuiteOptions options) {
  std::unique_ptr<Suite> suite(new Suite());
  auto fake = FakeProvider::Start(FakeProviderOptions());
  if (!fake.ok()) return fake.status();
  suite->fake_ = *std::move(fake);
  std::string fake_url = suite->fake_->base_url();

  suite->vault_port_ = options.vault_port != 0 ? options.vault_port : PickUnusedPort();
  suite->relay_port_ = options.relay_port != 0 ? options.relay_port : PickUnusedPort();
  suite->gateway_port_ = PickUnusedPort();
  std::string vault_addr = absl::StrCat("127.0.0.1:", suite->vault_port_);
  std::string relay_addr = absl::StrCat("127.0.0.1:", suite->relay_port_);

  suite->vault_env_ = {{"ENCRYPTION_SECRET", kEncryptionSecret},
                       {"DB_PATH", suite->dir_.path() + "/relay.db"},
                       {"BYOK_VAULT_ADDR", vault_addr},
                       {"BYOK_ALLOW_PRIVATE_UPSTREAMS", "1"},
                       {"BYOK_SERVICE_TOKEN", kTestServiceToken},
                       {"LOG_LEVEL", "warn"}};
  for (auto& [k, v] : options.vault_env) suite->vault_env_[k] = v;
  if (absl::Status s = suite->StartVault(); !s.ok()) return s;

  std::map<std::string, std::string> relay_env = {
      {"BYOK_RELAY_ADDR", relay_addr},
      {"BYOK_VAULT_ADDR", vault_addr},
      {"BYOK_ALLOW_PRIVATE_UPSTREAMS", "1"},
      {"BYOK_SERVICE_TOKEN", kTestServiceToken},
      {"LOG_LEVEL", "warn"}};
  for (const char* name : {"ANTHROPIC", "OPENAI", "GOOGLE", "GROQ", "MISTRAL", "OPENROUTER",
                           "DEEPGRAM", "ELEVENLABS", "HUGGINGFACE"}) {
    relay_env[absl::StrCat("BYOK_PROVIDER_", name, "_BASE_URL")] = fake_url;
  }
  for (auto& [k, v] : options.relay_env) relay_env[k] = v;
  suite->relay_env_ = relay_env;
  if (absl::Status s = suite->StartRelay(); !s.ok()) return s;

  suite->gateway_env_ = {{"PORT", std::to_string(suite->gateway_port_)},
                         {"BYOK_GATEWAY_HOST", "127.0.0.1"},
                         {"BYOK_VAULT_ADDR", vault_addr},
                         {"BYOK_RELAY_ADDR", relay_addr},
                         {"APP_SECRET", kAppSecret},
                         {"RATE_LIMIT_GLOBAL", "0"},
                         {"RATE_LIMIT_RELAY", "0"},
                         {"RATE_LIMIT_REGISTER", "0"},
                         {"BYOK_SERVICE_TOKEN", kTestServiceToken},
                         {"LOG_LEVEL", "warn"}};
  for (auto& [k, v] : options.gateway_env) suite->gateway_env_[k] = v;
  auto gateway = suite->Launch("byok-gatewayd", suite->gateway_env_, suite->gateway_port_);
  if (!gateway.ok()) return gateway.status();
  suite->gateway_ = *std::move(gateway);
  return suite;
}

absl::Status Suite::StopVault() {
  if (vault_ == nullptr) return absl::OkStatus();
  auto code = vault_->Stop(absl::Seconds(10));
  vault_.reset();
  return code.status();
}

absl::Status Suite::StartVault() {
  auto vault = Launch("byok-vaultd", vault_env_, vault_port_);
  if (!vault.ok()) return vault.status();
  vault_ = *std::move(vault);
  return absl::OkStatus();
}

void Suite::KillVault() {
  if (vault_ == nullptr) return;
  vault_->Kill();
  vault_.reset();
}

absl::Status Suite::StopRelay(bool kill) {
  if (relay_ == nullptr) return absl::OkStatus();
  absl::Status status;
  if (kill) {
    relay_->Kill();
  } else {
    status = relay_->Stop(absl::Seconds(10)).status();
  }
  relay_.reset();
  return status;
}

absl::Status Suite::StartRelay() {
  auto relay = Launch("byok-relayd", relay_env_, relay_port_);
  if (!relay.ok()) return relay.status();
  relay_ = *std::move(relay);
  return absl::OkStatus();
}

absl::StatusOr<int> Suite::StartExtra(const std::string& binary,
                                      const std::map<std::string, std::string>& base,
                                      const char* listen_variable, int port,
                                      std::map<std::string, std::string> env) {
  if (port == 0) port = PickUnusedPort();
  std::map<std::string, std::string> merged = base;
  merged[listen_variable] = listen_variable == std::string("PORT") ? std::to_string(port)
                                                                   : absl::StrCat("127.0.0.1:", port);
  for (auto& [k, v] : env) merged[k] = v;
  auto process = Launch(binary, merged, port);
  if (!process.ok()) return process.status();
  extras_.push_back(*std::move(process));
  return port;
}

absl::StatusOr<int> Suite::StartExtraGateway(std::map<std::string, std::string> env) {
  return StartExtra("byok-gatewayd", gateway_env_, "PORT", 0, std::move(env));
}

absl::StatusOr<int> Suite::StartExtraVault(int port, std::map<std::string, std::string> env) {
  return StartExtra("byok-vaultd", vault_env_, "BYOK_VAULT_ADDR", port, std::move(env));
}

absl::StatusOr<int> Suite::StartExtraRelay(int port, std::map<std::string, std::string> env) {
  return StartExtra("byok-relayd", relay_env_, "BYOK_RELAY_ADDR", port, std::move(env));
}

absl::StatusOr<std::string> Suite::Register(const std::string& app_id) {
  nlohmann::json body = {{"app_id", app_id}};
  auto r = Fetch(gateway_port_, "POST", "/users",
                 {{"Authorization", absl::StrCat("Bearer ", kAppSecret)},
                  {"Content-Type", "application/json"}},
                 body.dump());
  if (!r.ok()) return r.status();
  if (r->status != 200) {
    return absl::InternalError(absl::StrCat("POST /users: ", r->status, " ", r->body));
  }
  auto json = nlohmann::json::parse(r->body, nullptr, false);
  if (!json.is_object() || !json["token"].is_string()) {
    return absl::InternalError(absl::StrCat("POST /users: unexpected body ", r->body));
  }
  return json["token"].get<std::string>();
}

std::string Suite::Logs() const {
  std::string out;
  if (vault_) absl::StrAppend(&out, "--- vault\n", vault_->Output());
  if (relay_) absl::StrAppend(&out, "--- relay\n", relay_->Output());
  if (gateway_) absl::StrAppend(&out, "--- gateway\n", gateway_->Output());
  return out;
}

}  // namespace byok::testing
