// The relay end to end when things around it fail or must be trusted: https to the fake provider with a
// test CA, an untrusted certificate, a provider that never completes the handshake, one that refuses
// connections, a vault that is down, configuration errors and graceful shutdown.
#include <arpa/inet.h>
#include <grpcpp/client_context.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/relay/relay_suite.h"
#include "tests/testing/fake_provider/fake_provider.h"
#include "tests/testing/fake_provider/test_certificates.h"

namespace byok::relay::testing {
namespace {

using ::byok::testing::FakeProvider;
using ::byok::testing::FakeProviderOptions;
using ::testing::HasSubstr;

constexpr char kChat[] = R"({"model":"gpt-4o","stream":true,"messages":[]})";

// A loopback listener that accepts connections (in the kernel) and never says a word.
class SilentListener {
 public:
  SilentListener() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(fd_, 16);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentListener() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

FakeProviderOptions TlsOptions(const byok::testing::TestCertificates& certs) {
  FakeProviderOptions o;
  o.tls_cert_pem = certs.cert_pem;
  o.tls_key_pem = certs.key_pem;
  return o;
}

class RelayFailureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto vault = VaultProcess::Start();
    ASSERT_TRUE(vault.ok()) << vault.status();
    vault_ = *std::move(vault);
  }

  std::string WriteFile(const std::string& name, const std::string& text) {
    std::string path = dir_.path() + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  byok::testing::TempDir dir_;
  std::unique_ptr<VaultProcess> vault_;
};

TEST_F(RelayFailureTest, HttpsWithTheTestCaWorksAndOtherFailuresHaveClearStatuses) {
  auto certs = byok::testing::MakeTestCertificates();
  auto other_certs = byok::testing::MakeTestCertificates();
  ASSERT_TRUE(certs.ok() && other_certs.ok());
  auto trusted = FakeProvider::Start(TlsOptions(*certs));
  auto untrusted = FakeProvider::Start(TlsOptions(*other_certs));
  ASSERT_TRUE(trusted.ok() && untrusted.ok());
  SilentListener silent;
  const int closed_port = byok::testing::PickUnusedPort();

  auto relay = RelayProcess::Start({
      {"BYOK_VAULT_ADDR", vault_->address()},
      {"BYOK_UPSTREAM_CA_FILE", WriteFile("ca.pem", certs->ca_pem)},
      {"BYOK_UPSTREAM_CONNECT_TIMEOUT_MS", "400"},
      {"BYOK_PROVIDER_OPENAI_BASE_URL", absl::StrCat("https://localhost:", (*trusted)->port())},
      {"BYOK_PROVIDER_GROQ_BASE_URL", absl::StrCat("https://localhost:", (*untrusted)->port())},
      {"BYOK_PROVIDER_MISTRAL_BASE_URL", absl::StrCat("https://127.0.0.1:", silent.port())},
      {"BYOK_PROVIDER_OPENROUTER_BASE_URL", absl::StrCat("http://127.0.0.1:", closed_port)},
  });
  ASSERT_TRUE(relay.ok()) << relay.status();

  auto run = [&](const std::string& provider) {
    auto token = vault_->CreateUserWithKey(provider, "sk-tls-test");
    EXPECT_TRUE(token.ok()) << token.status();
    // Each provider's own chat path (compat.md §4).
    const std::string path = provider == "groq"         ? "/openai/v1/chat/completions"
                             : provider == "openrouter" ? "/api/v1/chat/completions"
                                                        : "/v1/chat/completions";
    return RunRelay((*relay)->stub(), MakeRequest(token.value_or(""), provider, path, kChat));
  };

  RelayResult ok = run("openai");
  EXPECT_TRUE(ok.status.ok()) << ok.status.error_message();
  EXPECT_THAT(ok.body, HasSubstr("data: [DONE]"));
  EXPECT_EQ((*trusted)->Requests().size(), 1u);

  RelayResult refused = run("groq");
  EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(refused.status.error_message(), HasSubstr("certificate verify failed"));
  EXPECT_EQ(refused.reason, reason::kUpstreamUnreachable);  // the provider failed, not the vault
  EXPECT_TRUE((*untrusted)->Requests().empty());

  const absl::Time start = absl::Now();
  RelayResult silent_result = run("mistral");
  EXPECT_EQ(silent_result.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << silent_result.status.error_message();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));

  RelayResult unreachable = run("openrouter");
  EXPECT_EQ(unreachable.status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << unreachable.status.error_message();
}

TEST_F(RelayFailureTest, VaultDownIsUnavailable) {
  auto fake = FakeProvider::Start({});
  ASSERT_TRUE(fake.ok());
  auto env = AllProvidersAt((*fake)->base_url());
  env["BYOK_VAULT_ADDR"] = absl::StrCat("127.0.0.1:", byok::testing::PickUnusedPort());
  auto relay = RelayProcess::Start(env);
  ASSERT_TRUE(relay.ok()) << relay.status();
  RelayResult result = RunRelay((*relay)->stub(), MakeRequest(std::string(64, 'a'), "openai",
                                                              "/v1/chat/completions", kChat));
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(result.status.error_message(), HasSubstr("vault"));
  EXPECT_EQ(result.reason, reason::kVaultUnavailable);
  EXPECT_TRUE((*fake)->Requests().empty());
}

TEST_F(RelayFailureTest, GracefulShutdownLetsARunningStreamFinish) {
  auto fake = FakeProvider::Start({});
  ASSERT_TRUE(fake.ok());
  auto env = AllProvidersAt((*fake)->base_url());
  env["BYOK_VAULT_ADDR"] = vault_->address();
  auto relay = RelayProcess::Start(env);
  ASSERT_TRUE(relay.ok()) << relay.status();
  auto token = vault_->CreateUserWithKey("openai", "sk-shutdown");
  ASSERT_TRUE(token.ok());

  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(15)));
  auto reader = (*relay)->stub().Relay(
      &context, MakeRequest(*token, "openai", "/v1/chat/completions",
                            R"({"model":"fake-slow-10-50","stream":true})"));
  v1::RelayResponse message;
  ASSERT_TRUE(reader->Read(&message));  // the stream is running
  ASSERT_EQ(kill((*relay)->process().pid(), SIGTERM), 0);
  std::string body;
  while (reader->Read(&message)) body += message.body();
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_THAT(body, HasSubstr("data: [DONE]"));
  auto code = (*relay)->process().Wait(absl::Seconds(10));
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 0) << (*relay)->process().Output();
}

TEST_F(RelayFailureTest, BadConfigurationStopsStartUpWithExitCode2) {
  for (const auto& [name, value] :
       std::vector<std::pair<std::string, std::string>>{
           {"BYOK_UPSTREAM_IDLE_TIMEOUT_MS", "soon"},
           {"BYOK_UPSTREAM_CA_FILE", "/nonexistent/ca.pem"},
           {"BYOK_PROVIDER_OPENAI_BASE_URL", "ftp://example.test"}}) {
    auto process = byok::testing::ChildProcess::Start(byok::testing::BinaryPath("byok-relayd"),
                                                      {}, {{name, value}});
    ASSERT_TRUE(process.ok());
    auto code = (*process)->Wait(absl::Seconds(10));
    ASSERT_TRUE(code.ok()) << name;
    EXPECT_EQ(*code, 2) << name;
    EXPECT_THAT((*process)->Output(), HasSubstr(name));
  }
  auto help = byok::testing::ChildProcess::Start(byok::testing::BinaryPath("byok-relayd"),
                                                 {"--help"}, {});
  ASSERT_TRUE(help.ok());
  EXPECT_EQ((*help)->Wait(absl::Seconds(10)).value_or(-1), 0);
  EXPECT_THAT((*help)->Output(), HasSubstr("BYOK_UPSTREAM_IDLE_TIMEOUT_MS"));
}

}  // namespace
}  // namespace byok::relay::testing
