// Path-traversal and SSRF probes against a real byok-relayd, table-driven. They run inside a private
// network namespace (in_private_netns.sh) where only loopback exists: a probe that a wrong guard let
// through could reach nothing but the fake providers here, which record it and fail the test.
#include <fstream>
#include <memory>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/relay/relay_suite.h"
#include "tests/testing/fake_provider/fake_provider.h"
#include "tests/testing/fake_provider/test_certificates.h"

namespace byok::relay::testing {
namespace {

using ::byok::testing::FakeProvider;
using ::byok::testing::FakeProviderOptions;

constexpr char kChat[] = R"({"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]})";

// Returns true when the only network interface in this namespace is loopback.
bool OnlyLoopback() {
  std::ifstream dev("/proc/net/dev");
  std::string line;
  int interfaces = 0;
  bool loopback = false;
  while (std::getline(dev, line)) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name(absl::StripAsciiWhitespace(line.substr(0, colon)));
    ++interfaces;
    loopback |= name == "lo";
  }
  return interfaces == 1 && loopback;
}

class RelayProbeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!OnlyLoopback()) return;
    auto certs = byok::testing::MakeTestCertificates();
    ASSERT_TRUE(certs.ok());
    FakeProviderOptions tls;
    tls.tls_cert_pem = certs->cert_pem;
    tls.tls_key_pem = certs->key_pem;
    auto tls_fake = FakeProvider::Start(tls);
    auto plain_fake = FakeProvider::Start({});
    ASSERT_TRUE(tls_fake.ok() && plain_fake.ok());
    tls_fake_ = tls_fake->release();
    plain_fake_ = plain_fake->release();
    auto vault = VaultProcess::Start();
    ASSERT_TRUE(vault.ok()) << vault.status();
    vault_ = vault->release();
    ca_path_ = new std::string(dir_.path() + "/ca.pem");
    std::ofstream(*ca_path_) << certs->ca_pem;

    std::map<std::string, std::string> env = AllProvidersAt(plain_fake_->base_url());
    // The client's base URL decides for openai-compatible; anthropic goes to the https fake, which
    // shows that a probe let through by a wrong guard would really have connected.
    env.erase("BYOK_PROVIDER_OPENAI_COMPATIBLE_BASE_URL");
    env["BYOK_PROVIDER_ANTHROPIC_BASE_URL"] = absl::StrCat("https://localhost:", tls_fake_->port());
    env["BYOK_UPSTREAM_CA_FILE"] = *ca_path_;
    env["BYOK_UPSTREAM_CONNECT_TIMEOUT_MS"] = "1000";
    env["BYOK_VAULT_ADDR"] = vault_->address();
    auto relay = RelayProcess::Start(env);
    ASSERT_TRUE(relay.ok()) << relay.status();
    relay_ = relay->release();
  }
  static void TearDownTestSuite() {
    delete relay_;
    delete vault_;
    delete plain_fake_;
    delete tls_fake_;
    delete ca_path_;
  }
  void SetUp() override {
    if (!OnlyLoopback()) {
      GTEST_SKIP() << "not inside a private network namespace with only loopback: run through "
                      "ctest (tests/relay/in_private_netns.sh, needs root for unshare -n)";
    }
    ASSERT_NE(relay_, nullptr) << "suite set-up failed";
  }

  // Nothing reached either fake provider.
  static void ExpectNothingArrived() {
    EXPECT_EQ(plain_fake_->Requests().size(), plain_fake_served_);
    EXPECT_TRUE(tls_fake_->Requests().empty());
    EXPECT_EQ(tls_fake_->connections_accepted(), tls_connections_allowed_);
  }

  static byok::testing::TempDir dir_;
  static std::string* ca_path_;
  static FakeProvider* tls_fake_;
  static FakeProvider* plain_fake_;
  static VaultProcess* vault_;
  static RelayProcess* relay_;
  static int tls_connections_allowed_;
  static size_t plain_fake_served_;
};

byok::testing::TempDir RelayProbeTest::dir_;
std::string* RelayProbeTest::ca_path_ = nullptr;
FakeProvider* RelayProbeTest::tls_fake_ = nullptr;
FakeProvider* RelayProbeTest::plain_fake_ = nullptr;
VaultProcess* RelayProbeTest::vault_ = nullptr;
RelayProcess* RelayProbeTest::relay_ = nullptr;
int RelayProbeTest::tls_connections_allowed_ = 0;
size_t RelayProbeTest::plain_fake_served_ = 0;

// A path refusal: 403's status with the original's phrase.
bool PathRefused(const grpc::Status& s) {
  return s.error_code() == grpc::StatusCode::PERMISSION_DENIED &&
         absl::StartsWith(s.error_message(), "Path \"") &&
         absl::EndsWith(s.error_message(), "Only inference endpoints are allowed.");
}

// A base-URL refusal: 400's status with one of the original's x-relay-base-url phrases.
bool BaseUrlRefused(const grpc::Status& s) {
  return s.error_code() == grpc::StatusCode::INVALID_ARGUMENT &&
         absl::StartsWith(s.error_message(), "x-relay-base-url ");
}

// A name other than localhost that /etc/hosts maps to a loopback address (resolves without DNS), or "".
std::string LoopbackNameFromHosts() {
  std::ifstream hosts("/etc/hosts");
  std::string line;
  while (std::getline(hosts, line)) {
    std::vector<std::string> fields = absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (fields.size() < 2 || !absl::StartsWith(fields[0], "127.")) continue;
    for (size_t i = 1; i < fields.size(); ++i) {
      if (absl::StartsWith(fields[i], "#")) break;
      if (fields[i] != "localhost" && !absl::EndsWith(fields[i], ".localhost")) return fields[i];
    }
  }
  return "";
}

TEST_F(RelayProbeTest, PathTraversalProbesAreRefused) {
  auto token = vault_->CreateUserWithKey("openai", "sk-probe-paths");
  ASSERT_TRUE(token.ok());
  struct Probe {
    std::string provider;
    std::string method;
    std::string path;
  };
  const std::vector<Probe> probes = {
      {"openai", "POST", "/v1/chat/completions/..%5C..%5Cfiles"},
      {"openai", "POST", "/v1/chat/completions/%252e%252e/%252e%252e/files"},
      {"openai", "POST", "/v1/..%5Cfiles"},
      {"openai", "POST", "/v1/chat/completions/../../files"},
      {"openai", "POST", "/v1/%2e%2e/files"},
      {"openai", "POST", "/v1/chat/%2E%2E/%2e%2e/organization/users"},
      {"openai", "POST", "/v1/chat/completions%3Fx=/../../files"},
      {"openai", "POST", "/v1/chat/completions%23/../../files"},
      {"openai", "POST", "/v1/chat/completions\\..\\..\\files"},
      {"openai", "POST", "//evil.example/v1/chat/completions"},
      {"openai", "POST", "/v1/files"},
      {"openai", "GET", "/v1/models"},
      {"openai", "POST", "/%2e%2e/%2e%2e/etc/passwd"},
      {"google", "POST", "/v1beta/models/..%2F..%2Fv1beta%2Ftuned:generateContent"},
      {"google", "POST", "/v1beta/models/gemini/../../files:generateContent"},
  };
  for (const Probe& p : probes) {
    auto t = p.provider == "openai" ? token : vault_->CreateUserWithKey(p.provider, "sk-probe-key-0123");
    ASSERT_TRUE(t.ok());
    RelayResult r = RunRelay(relay_->stub(), MakeRequest(*t, p.provider, p.path, kChat, {}, p.method));
    EXPECT_TRUE(PathRefused(r.status)) << p.path << " -> " << r.status.error_code() << " "
                                       << r.status.error_message();
  }
  ExpectNothingArrived();
}

TEST_F(RelayProbeTest, WhatIsCheckedIsWhatIsSent) {
  // The original's forward path: decoded twice, then normalised. A probe that normalises into an
  // allowed path goes there, and only there.
  auto token = vault_->CreateUserWithKey("openai", "sk-probe-normalised");
  ASSERT_TRUE(token.ok());
  RelayResult r = RunRelay(relay_->stub(),
                           MakeRequest(*token, "openai", "/v1/files%3F/../chat/completions", kChat));
  EXPECT_TRUE(r.status.ok()) << r.status.error_message();
  std::vector<byok::testing::RecordedRequest> seen = plain_fake_->Requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].target, "/v1/chat/completions");
  // Forget it, so the other tests' ExpectNothingArrived holds.
  plain_fake_served_ = 1;
}

TEST_F(RelayProbeTest, SsrfProbesAreRefused) {
  const std::string port = std::to_string(tls_fake_->port());
  std::vector<std::string> base_urls = {
      absl::StrCat("https://127.0.0.1:", port),
      absl::StrCat("https://127.1:", port),
      absl::StrCat("https://2130706433:", port),
      absl::StrCat("https://0x7f000001:", port),
      "https://169.254.169.254",
      absl::StrCat("https://[::]:", port),
      absl::StrCat("https://[::1]:", port),
      absl::StrCat("https://[::ffff:127.0.0.1]:", port),
      absl::StrCat("https://[64:ff9b::7f00:1]:", port),
      "https://[64:ff9b::a9fe:a9fe]",
      "https://[fe80::1]",
      "https://10.0.0.1",
      "https://100.64.0.1",
      "https://192.168.1.1",
      absl::StrCat("https://localhost:", port),  // a name that resolves to loopback
      absl::StrCat("http://localhost:", plain_fake_->port()),
      absl::StrCat("https://user:secret@localhost:", port),
      "file:///etc/passwd",
      "https://no-such-host.invalid",  // no DNS in here: "could not be resolved safely"
  };
  if (std::string name = LoopbackNameFromHosts(); !name.empty()) {
    base_urls.push_back(absl::StrCat("https://", name, ":", port));  // resolves to loopback
  }
  auto token = vault_->CreateUserWithKey("openai-compatible", "sk-probe-ssrf");
  ASSERT_TRUE(token.ok());
  for (const std::string& url : base_urls) {
    v1::RelayRequest request =
        MakeRequest(*token, "openai-compatible", "/v1/chat/completions", kChat);
    request.set_base_url(url);
    RelayResult r = RunRelay(relay_->stub(), request);
    EXPECT_TRUE(BaseUrlRefused(r.status)) << url << " -> " << r.status.error_code() << " "
                                          << r.status.error_message();
  }
  ExpectNothingArrived();
}

TEST_F(RelayProbeTest, AKeyBoundToABaseUrlIgnoresTheClientsBaseUrl) {
  auto token = vault_->CreateUserWithKey("openai-compatible", "sk-probe-bound",
                                         "https://llm.example.test/v1");
  ASSERT_TRUE(token.ok()) << token.status();
  v1::RelayRequest request = MakeRequest(*token, "openai-compatible", "/v1/chat/completions", kChat);
  request.set_base_url(absl::StrCat("https://localhost:", tls_fake_->port(), "/v1"));
  RelayResult r = RunRelay(relay_->stub(), request);
  // The bound host cannot be resolved in here: the call fails, and it never went to the client's URL.
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << r.status.error_message();
  EXPECT_EQ(r.status.error_message(), "x-relay-base-url hostname could not be resolved safely");
  ExpectNothingArrived();
}

TEST_F(RelayProbeTest, TheHttpsFakeIsReachableWhereTheOperatorAllowsIt) {
  // Control: the operator's override to the same https fake works, so the refusals above are the
  // guard's doing and not an unreachable fake.
  auto token = vault_->CreateUserWithKey("anthropic", "sk-probe-control");
  ASSERT_TRUE(token.ok());
  RelayResult r = RunRelay(relay_->stub(),
                           MakeRequest(*token, "anthropic", "/v1/messages",
                                       R"({"model":"claude-3-5-haiku","max_tokens":8})"));
  EXPECT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.head.status(), 200);
  ASSERT_EQ(tls_fake_->Requests().size(), 1u);
  tls_connections_allowed_ = tls_fake_->connections_accepted();
}

}  // namespace
}  // namespace byok::relay::testing
