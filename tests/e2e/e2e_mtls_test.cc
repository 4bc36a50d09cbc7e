// End to end with mutual TLS between the daemons (BYOK_TLS_*): the browser's whole path works, the
// key reaches the provider, and the vault and relay refuse callers without a certificate of the CA.
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "absl/strings/str_cat.h"
#include "byok/relay/v1/relay.grpc.pb.h"
#include "byok/vault/v1/vault.grpc.pb.h"
#include "tests/e2e/suite.h"
#include "tests/testing/mtls_certificates.h"
#include "tests/testing/process.h"

namespace byok::testing {
namespace {

constexpr char kChat[] = R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]})";

std::chrono::system_clock::time_point Soon() {
  return std::chrono::system_clock::now() + std::chrono::seconds(5);
}

TEST(E2eMtlsTest, TheDaemonsTalkMutualTlsAndRefuseCallersWithoutACertificate) {
  TempDir certs;
  ASSERT_TRUE(WriteMutualTlsCertificates(certs.path(), {"vault", "relay", "gateway", "stranger"}).ok());
  SuiteOptions options;
  options.vault_env = MutualTlsEnv(certs.path(), "vault");
  options.relay_env = MutualTlsEnv(certs.path(), "relay");
  options.gateway_env = MutualTlsEnv(certs.path(), "gateway");
  auto suite = Suite::Start(options);
  ASSERT_TRUE(suite.ok()) << suite.status();
  Suite& s = **suite;

  // The browser's path: health, register, store a key, relay a request.
  auto health = Fetch(s.port(), "GET", "/health", {}, "");
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->status, 200) << health->body << s.Logs();
  auto token = s.Register();
  ASSERT_TRUE(token.ok()) << token.status() << s.Logs();
  auto stored = Fetch(s.port(), "POST", "/keys/openai", {{"x-relay-token", *token}},
                      R"({"key":"sk-mtls-e2e"})");
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->status, 200) << stored->body;
  auto relayed = Fetch(s.port(), "POST", "/relay/openai/v1/chat/completions",
                       {{"x-relay-token", *token}, {"content-type", "application/json"}}, kChat);
  ASSERT_TRUE(relayed.ok());
  EXPECT_EQ(relayed->status, 200) << relayed->body << s.Logs();
  auto seen = s.fake().WaitForRequest(absl::Seconds(5));
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->Header("authorization"), "Bearer sk-mtls-e2e");

  // Plaintext callers reach neither the vault nor the relay.
  auto plain_vault = vault::v1::Vault::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", s.vault_port()), grpc::InsecureChannelCredentials()));
  grpc::ClientContext vault_ctx;
  vault_ctx.set_deadline(Soon());
  vault::v1::CreateUserRequest create;
  create.set_app_id("plaintext");
  vault::v1::CreateUserResponse created;
  EXPECT_FALSE(plain_vault->CreateUser(&vault_ctx, create, &created).ok());
  EXPECT_TRUE(created.token().empty());

  auto plain_relay = relay::v1::Relay::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", s.relay_port()), grpc::InsecureChannelCredentials()));
  grpc::ClientContext relay_ctx;
  relay_ctx.set_deadline(Soon());
  relay::v1::RelayRequest request;
  request.set_token(*token);
  request.set_provider("openai");
  request.set_method("POST");
  request.set_path("/v1/chat/completions");
  request.set_body(kChat);
  auto reader = plain_relay->Relay(&relay_ctx, request);
  relay::v1::RelayResponse message;
  EXPECT_FALSE(reader->Read(&message));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);

  // A certificate of the CA gets through the TLS handshake, but only the relay may resolve keys.
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = ReadFile(certs.path() + "/ca.pem");
  tls.pem_cert_chain = ReadFile(certs.path() + "/stranger.pem");
  tls.pem_private_key = ReadFile(certs.path() + "/stranger.key");
  auto stranger = vault::v1::Vault::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", s.vault_port()), grpc::SslCredentials(tls)));
  grpc::ClientContext resolve_ctx;
  resolve_ctx.set_deadline(Soon());
  vault::v1::ResolveKeyRequest resolve;
  resolve.set_token(*token);
  resolve.set_provider("openai");
  vault::v1::ResolveKeyResponse resolved;
  EXPECT_EQ(stranger->ResolveKey(&resolve_ctx, resolve, &resolved).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(resolved.key().empty());
}

}  // namespace
}  // namespace byok::testing
