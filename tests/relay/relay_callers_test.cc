// The relay's caller model against real byok-relayd processes: Relay and DescribeRoutes for any caller
// (Relay's credential is the user's token), CheckKey for a service identity only and rate-limited,
// in plaintext (service token) and under mutual TLS (certificate identities); the ErrorInfo reasons
// of refusals; DescribeRoutes without the operator's base-URL overrides; and the split daemons'
// refusal to start without a service identity.
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/relay/relay_daemons.h"
#include "tests/testing/mtls_certificates.h"
#include "tests/testing/process.h"
#include "tests/testing/service_token.h"

namespace byok::relay::testing {
namespace {

using ::byok::testing::kTestServiceToken;
using ::byok::testing::ReadFile;
using ::byok::testing::TempDir;
using ::testing::HasSubstr;

constexpr char kChat[] = R"({"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]})";

std::chrono::system_clock::time_point Soon() {
  return std::chrono::system_clock::now() + std::chrono::seconds(10);
}

// CheckKey with `metadata`; returns the status with its reason.
absl::Status CheckKey(v1::Relay::Stub& stub, const std::map<std::string, std::string>& metadata) {
  grpc::ClientContext context;
  context.set_deadline(Soon());
  for (const auto& [k, v] : metadata) context.AddMetadata(k, v);
  v1::CheckKeyRequest request;
  request.set_provider("openai");
  request.set_key("sk-callers-check-0123456789");
  v1::CheckKeyResponse response;
  return FromGrpcStatus(stub.CheckKey(&context, request, &response));
}

absl::Status DescribeRoutes(v1::Relay::Stub& stub, v1::DescribeRoutesResponse* routes) {
  grpc::ClientContext context;
  context.set_deadline(Soon());
  return FromGrpcStatus(stub.DescribeRoutes(&context, {}, routes));
}

const std::map<std::string, std::string> kService = {{"byok-service-token", kTestServiceToken}};
const std::map<std::string, std::string> kWrongService = {
    {"byok-service-token", "not-the-service-token-0123456789abcdef"}};

struct Expectation {
  std::string caller;
  std::map<std::string, std::string> metadata;
  absl::StatusCode code;
  std::string reason;
};

void ExpectCheckKey(v1::Relay::Stub& stub, const Expectation& e) {
  SCOPED_TRACE(absl::StrCat("CheckKey as ", e.caller));
  const absl::Status status = CheckKey(stub, e.metadata);
  EXPECT_EQ(status.code(), e.code) << status;
  EXPECT_EQ(ReasonOf(status), e.reason) << status;
  if (!status.ok()) {
    EXPECT_EQ(DomainOf(status), kRelayDomain);
    EXPECT_THAT(std::string(status.message()), HasSubstr("CheckKey"));
  }
}

class RelayCallersTest : public RelayDaemonsTest {};

TEST_F(RelayCallersTest, PlaintextCheckKeyNeedsTheServiceTokenRelayNeedsOnlyTheUserToken) {
  ASSERT_NO_FATAL_FAILURE(StartWithVault());
  auto anonymous = v1::Relay::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", relay().port()), grpc::InsecureChannelCredentials()));

  const auto none = absl::StatusCode::kUnauthenticated;
  for (const Expectation& e : std::vector<Expectation>{
           {"no credential", {}, none, reason::kCallerUnauthenticated},
           {"a wrong service token", kWrongService, none, reason::kServiceTokenInvalid},
           {"the app secret", {{"byok-app-secret", "anything-at-all"}}, none,
            reason::kAppCredentialInvalid},
           {"the service token", kService, absl::StatusCode::kOk, ""}}) {
    ExpectCheckKey(*anonymous, e);
  }

  // Relay: the user's token is the credential; no service identity is asked of the caller.
  auto token = vault().CreateUserWithKey("openai", "sk-callers-relay-0123");
  ASSERT_TRUE(token.ok()) << token.status();
  RelayResult ok = RunRelay(*anonymous, MakeRequest(*token, "openai", "/v1/chat/completions", kChat));
  EXPECT_TRUE(ok.status.ok()) << ok.status.error_message();
  EXPECT_TRUE(ok.has_head);

  RelayResult missing = RunRelay(*anonymous, MakeRequest("", "openai", "/v1/chat/completions", kChat));
  EXPECT_EQ(missing.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(missing.reason, reason::kTokenMissing);
  RelayResult unknown = RunRelay(
      *anonymous, MakeRequest(std::string(64, 'e'), "openai", "/v1/chat/completions", kChat));
  EXPECT_EQ(unknown.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(unknown.reason, reason::kTokenUnknown);  // the vault's reason, passed through
  EXPECT_EQ(DomainOf(FromGrpcStatus(unknown.status)), kVaultDomain);
  RelayResult no_key = RunRelay(*anonymous, MakeRequest(*token, "mistral", "/v1/chat/completions", kChat));
  EXPECT_EQ(no_key.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(no_key.reason, reason::kKeyNotFound);

  // DescribeRoutes: open, and without the operator's overrides (every provider points at the fake).
  v1::DescribeRoutesResponse routes;
  ASSERT_TRUE(DescribeRoutes(*anonymous, &routes).ok());
  ASSERT_GT(routes.providers_size(), 0);
  for (const auto& p : routes.providers()) {
    EXPECT_THAT(p.base_url(), ::testing::Not(HasSubstr("127.0.0.1"))) << p.name();
  }
}

// A relay whose service token the vault does not know: its calls fail as an internal error; the
// vault's words about the relay's credential never reach the relay's caller.
TEST_F(RelayCallersTest, AVaultRefusingTheRelayIsAnInternalError) {
  ASSERT_NO_FATAL_FAILURE(
      StartWithVault({{"BYOK_SERVICE_TOKEN", "a-different-service-token-0123456789abcdef"}}));
  auto token = vault().CreateUserWithKey("openai", "sk-callers-relay-0123");
  ASSERT_TRUE(token.ok()) << token.status();
  RelayResult refused =
      RunRelay(relay().stub(), MakeRequest(*token, "openai", "/v1/chat/completions", kChat));
  EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(refused.reason, reason::kCallerNotAllowed);
  EXPECT_THAT(refused.status.error_message(), ::testing::Not(HasSubstr("byok-service-token")));
  EXPECT_TRUE(fake().Requests().empty());
}

TEST_F(RelayCallersTest, CheckKeyIsRateLimited) {
  ASSERT_NO_FATAL_FAILURE(StartWithoutVault({{"BYOK_RELAY_CHECK_KEY_PER_MINUTE", "2"}}));
  EXPECT_TRUE(CheckKey(relay().stub(), {}).ok());
  EXPECT_TRUE(CheckKey(relay().stub(), {}).ok());
  const absl::Status limited = CheckKey(relay().stub(), {});
  EXPECT_EQ(limited.code(), absl::StatusCode::kResourceExhausted) << limited;
  EXPECT_EQ(ReasonOf(limited), reason::kRateLimited);
  EXPECT_EQ(fake().Requests().size(), 2u);
}

TEST_F(RelayCallersTest, MutualTlsCheckKeyOnlyForTheGatewayIdentityOrTheServiceToken) {
  TempDir certs;
  ASSERT_TRUE(byok::testing::WriteMutualTlsCertificates(certs.path(),
                                                        {"relay", "gateway", "stranger"})
                  .ok());
  ASSERT_NO_FATAL_FAILURE(StartWithoutVault(byok::testing::MutualTlsEnv(certs.path(), "relay")));
  auto as = [&](const std::string& identity) {
    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = ReadFile(certs.path() + "/ca.pem");
    tls.pem_private_key = ReadFile(certs.path() + "/" + identity + ".key");
    tls.pem_cert_chain = ReadFile(certs.path() + "/" + identity + ".pem");
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("relay");
    return v1::Relay::NewStub(grpc::CreateCustomChannel(
        absl::StrCat("127.0.0.1:", relay().port()), grpc::SslCredentials(tls), args));
  };
  auto gateway = as("gateway");
  auto stranger = as("stranger");
  ExpectCheckKey(*gateway, {"the gateway's certificate", {}, absl::StatusCode::kOk, ""});
  ExpectCheckKey(*stranger, {"a stranger's certificate", {}, absl::StatusCode::kPermissionDenied,
                             reason::kCallerNotAllowed});
  ExpectCheckKey(*stranger, {"a stranger with the service token", kService,
                             absl::StatusCode::kOk, ""});
  ExpectCheckKey(*stranger, {"a stranger with a wrong service token", kWrongService,
                             absl::StatusCode::kUnauthenticated, reason::kServiceTokenInvalid});
  v1::DescribeRoutesResponse routes;
  EXPECT_TRUE(DescribeRoutes(*stranger, &routes).ok());
}

// A split daemon without mutual TLS or a service token stops with exit code 2 and says what to set,
// unless BYOK_TRUSTED_LOOPBACK=1, which holds only when what it listens on and calls is loopback.
TEST_F(RelayCallersTest, SplitDaemonsRefuseToStartWithoutAServiceIdentity) {
  struct Case {
    std::string binary;
    std::map<std::string, std::string> env;
    std::string says;
  };
  for (const Case& c : std::vector<Case>{
           {"byok-relayd", {}, "BYOK_SERVICE_TOKEN"},
           {"byok-relayd",
            {{"BYOK_TRUSTED_LOOPBACK", "1"}, {"BYOK_VAULT_ADDR", "vault.internal:50051"}},
            "only for loopback"},
           {"byok-gatewayd", {}, "BYOK_SERVICE_TOKEN"},
           {"byok-gatewayd",
            {{"BYOK_TRUSTED_LOOPBACK", "1"}, {"BYOK_RELAY_ADDR", "10.0.0.7:50052"}},
            "only for loopback"}}) {
    SCOPED_TRACE(c.binary + " " + c.says);
    auto p = byok::testing::ChildProcess::Start(byok::testing::BinaryPath(c.binary), {}, c.env);
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_EQ((*p)->Wait(absl::Seconds(10)).value_or(-1), 2);
    EXPECT_THAT((*p)->Output(), HasSubstr(c.says));
  }
  // Trusted loopback on loopback: the relay starts.
  auto relay = RelayProcess::Start({{"BYOK_SERVICE_TOKEN", ""}, {"BYOK_TRUSTED_LOOPBACK", "1"}});
  EXPECT_TRUE(relay.ok()) << relay.status();
}

}  // namespace
}  // namespace byok::relay::testing
