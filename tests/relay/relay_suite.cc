#include "tests/relay/relay_suite.h"

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <openssl/rand.h>

#include <chrono>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/grpc_status.h"
#include "tests/e2e/metrics_scrape.h"
#include "tests/testing/service_token.h"

namespace byok::relay::testing {
namespace {

constexpr absl::Duration kStartTimeout = absl::Seconds(15);

std::string NewSecret() {
  unsigned char bytes[32];
  RAND_bytes(bytes, sizeof(bytes));
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

std::chrono::system_clock::time_point Deadline(absl::Duration d) {
  return absl::ToChronoTime(absl::Now() + d);
}

}  // namespace

absl::StatusOr<std::unique_ptr<VaultProcess>> VaultProcess::Start() {
  auto v = std::make_unique<VaultProcess>();
  v->port_ = byok::testing::PickUnusedPort();
  v->metrics_port_ = byok::testing::PickUnusedPort();
  std::map<std::string, std::string> env = {
      {"BYOK_METRICS_ADDR", absl::StrCat("127.0.0.1:", v->metrics_port_)},
      {"ENCRYPTION_SECRET", NewSecret()},
      {"DB_PATH", v->database_path()},
      {"BYOK_VAULT_ADDR", absl::StrCat("127.0.0.1:", v->port_)},
      {"BYOK_SERVICE_TOKEN", byok::testing::kTestServiceToken},
      {"LOG_LEVEL", "warn"}};
  auto process =
      byok::testing::ChildProcess::Start(byok::testing::BinaryPath("byok-vaultd"), {}, env);
  if (!process.ok()) return process.status();
  v->process_ = *std::move(process);
  if (absl::Status s = v->process_->WaitForPort(v->port_, kStartTimeout); !s.ok()) {
    return absl::UnavailableError(absl::StrCat("byok-vaultd did not start: ", s.message(), "\n",
                                               v->process_->Output()));
  }
  v->stub_ = vault::v1::Vault::NewStub(byok::testing::ServiceChannel(v->address()));
  return v;
}

std::string VaultProcess::address() const { return absl::StrCat("127.0.0.1:", port_); }

absl::StatusOr<int64_t> VaultProcess::TotalRequests(const std::string& token) {
  vault::v1::GetStatsRequest request;
  request.set_token(token);
  vault::v1::GetStatsResponse stats;
  grpc::ClientContext context;
  context.set_deadline(Deadline(absl::Seconds(10)));
  grpc::Status status = stub_->GetStats(&context, request, &stats);
  if (!status.ok()) return FromGrpcStatus(status);
  return stats.total_requests();
}

absl::StatusOr<double> VaultProcess::ResolveKeyCalls() const {
  absl::StatusOr<std::string> text = byok::testing::Scrape(metrics_port_);
  if (!text.ok()) return text.status();
  return byok::testing::SampleValue(*text, "byok_grpc_server_calls_total",
                                    {{"service", "vault"}, {"method", "ResolveKey"}});
}

absl::StatusOr<std::string> VaultProcess::CreateUserWithKey(const std::string& provider,
                                                            const std::string& key,
                                                            const std::string& base_url) {
  vault::v1::CreateUserRequest create;
  create.set_app_id("relay-tests");
  vault::v1::CreateUserResponse user;
  grpc::ClientContext c1;
  c1.set_deadline(Deadline(absl::Seconds(10)));
  grpc::Status s = stub_->CreateUser(&c1, create, &user);
  if (!s.ok()) return absl::InternalError(absl::StrCat("CreateUser: ", s.error_message()));
  vault::v1::PutKeyRequest put;
  put.set_token(user.token());
  put.set_provider(provider);
  put.set_key(key);
  put.set_base_url(base_url);
  vault::v1::PutKeyResponse put_response;
  grpc::ClientContext c2;
  c2.set_deadline(Deadline(absl::Seconds(10)));
  s = stub_->PutKey(&c2, put, &put_response);
  if (!s.ok()) return absl::InternalError(absl::StrCat("PutKey: ", s.error_message()));
  return user.token();
}

absl::StatusOr<std::unique_ptr<RelayProcess>> RelayProcess::Start(
    std::map<std::string, std::string> env) {
  auto r = std::make_unique<RelayProcess>();
  r->port_ = byok::testing::PickUnusedPort();
  env["BYOK_RELAY_ADDR"] = absl::StrCat("127.0.0.1:", r->port_);
  if (!env.count("LOG_LEVEL")) env["LOG_LEVEL"] = "warn";
  env.emplace("BYOK_SERVICE_TOKEN", byok::testing::kTestServiceToken);
  auto process =
      byok::testing::ChildProcess::Start(byok::testing::BinaryPath("byok-relayd"), {}, env);
  if (!process.ok()) return process.status();
  r->process_ = *std::move(process);
  if (absl::Status s = r->process_->WaitForPort(r->port_, kStartTimeout); !s.ok()) {
    return absl::UnavailableError(absl::StrCat("byok-relayd did not start: ", s.message(), "\n",
                                               r->process_->Output()));
  }
  r->stub_ = v1::Relay::NewStub(
      byok::testing::ServiceChannel(absl::StrCat("127.0.0.1:", r->port_)));
  return r;
}

std::map<std::string, std::string> AllProvidersAt(const std::string& base_url) {
  std::map<std::string, std::string> env;
  for (const char* p : {"anthropic", "openai", "google", "groq", "openrouter", "mistral",
                        "huggingface", "elevenlabs", "deepgram", "openai-compatible"}) {
    std::string name = absl::AsciiStrToUpper(absl::StrReplaceAll(p, {{"-", "_"}}));
    env[absl::StrCat("BYOK_PROVIDER_", name, "_BASE_URL")] = base_url;
  }
  return env;
}

std::string RelayResult::Header(const std::string& name) const {
  for (const auto& h : head.headers()) {
    if (h.name() == name) return h.value();
  }
  return "";
}

v1::RelayRequest MakeRequest(const std::string& token, const std::string& provider,
                             const std::string& path, const std::string& body,
                             std::vector<std::pair<std::string, std::string>> headers,
                             const std::string& method) {
  v1::RelayRequest r;
  r.set_token(token);
  r.set_provider(provider);
  r.set_method(method);
  // The path as the gateway passes it: without its query, which travels apart.
  size_t q = path.find('?');
  r.set_path(path.substr(0, q));
  if (q != std::string::npos) r.set_query(path.substr(q + 1));
  r.set_body(body);
  for (auto& [name, value] : headers) {
    v1::Header* h = r.add_headers();
    h->set_name(name);
    h->set_value(value);
  }
  return r;
}

RelayResult RunRelay(v1::Relay::Stub& stub, const v1::RelayRequest& request) {
  RelayResult result;
  grpc::ClientContext context;
  context.set_deadline(Deadline(absl::Seconds(15)));
  std::unique_ptr<grpc::ClientReader<v1::RelayResponse>> reader = stub.Relay(&context, request);
  v1::RelayResponse message;
  while (reader->Read(&message)) {
    ++result.messages;
    if (message.has_head()) {
      result.has_head = true;
      result.head = message.head();
    }
    if (!message.body().empty()) {
      result.body += message.body();
      ++result.pieces;
    }
  }
  result.status = reader->Finish();
  result.reason = ReasonOf(FromGrpcStatus(result.status));
  return result;
}

absl::Status KeepKeyInRelay(VaultProcess& vault, v1::Relay::Stub& relay, const v1::RelayRequest& request) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    absl::StatusOr<double> before = vault.ResolveKeyCalls();
    if (!before.ok()) return before.status();
    RelayResult result = RunRelay(relay, request);
    if (!result.status.ok()) return FromGrpcStatus(result.status);
    absl::StatusOr<double> after = vault.ResolveKeyCalls();
    if (!after.ok()) return after.status();
    if (*after == *before) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError("the relay still asks the vault for the key after 10 s");
}

}  // namespace byok::relay::testing
