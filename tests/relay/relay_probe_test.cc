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
#include "tests/relay/relay_daemons.h"
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

// The shared fixture's plain fake (every provider's base URL) and vault, an https fake beside them, and a
// relay that trusts the https fake's CA; one set per test.
class RelayProbeTest : public RelayDaemonsTest {
 protected:
  void SetUp() override {
    if (!OnlyLoopback()) {
      GTEST_SKIP() << "not inside a private network namespace with only loopback: run through "
                      "ctest (tests/relay/in_private_netns.sh, needs root for unshare -n)";
    }
    auto certs = byok::testing::MakeTestCertificates();
    ASSERT_TRUE(certs.ok());
    FakeProviderOptions tls;
    tls.tls_cert_pem = certs->cert_pem;
    tls.tls_key_pem = certs->key_pem;
    auto started = FakeProvider::Start(tls);
    ASSERT_TRUE(started.ok()) << started.status();
    tls_fake_ = *std::move(started);
    const std::string ca_path = dir_.path() + "/ca.pem";
    std::ofstream(ca_path) << certs->ca_pem;

    ASSERT_NO_FATAL_FAILURE(StartWithVault({
        // The client's base URL decides for openai-compatible (an empty value is unset); anthropic
        // goes to the https fake, which shows that a probe let through by a wrong guard would really
        // have connected.
        {"BYOK_PROVIDER_OPENAI_COMPATIBLE_BASE_URL", ""},
        {"BYOK_PROVIDER_ANTHROPIC_BASE_URL", absl::StrCat("https://localhost:", tls_fake().port())},
        {"BYOK_UPSTREAM_CA_FILE", ca_path},
        {"BYOK_UPSTREAM_CONNECT_TIMEOUT_MS", "1000"},
    }));
  }

  // Nothing reached either fake provider.
  void ExpectNothingArrived() {
    EXPECT_TRUE(fake().Requests().empty());
    EXPECT_TRUE(tls_fake().Requests().empty());
    EXPECT_EQ(tls_fake().connections_accepted(), 0);
  }

  FakeProvider& tls_fake() { return *tls_fake_; }

 private:
  byok::testing::TempDir dir_;
  // Stops before the fixture's relay; the relay calls nothing once its test is over.
  std::unique_ptr<FakeProvider> tls_fake_;
};

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
  auto token = vault().CreateUserWithKey("openai", "sk-probe-paths");
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
    auto t = p.provider == "openai" ? token : vault().CreateUserWithKey(p.provider, "sk-probe-key-0123");
    ASSERT_TRUE(t.ok());
    RelayResult r = RunRelay(relay().stub(), MakeRequest(*t, p.provider, p.path, kChat, {}, p.method));
    EXPECT_TRUE(PathRefused(r.status)) << p.path << " -> " << r.status.error_code() << " "
                                       << r.status.error_message();
  }
  ExpectNothingArrived();
}

TEST_F(RelayProbeTest, WhatIsCheckedIsWhatIsSent) {
  // The original's forward path: decoded twice, then normalised. A probe that normalises into an
  // allowed path goes there, and only there.
  auto token = vault().CreateUserWithKey("openai", "sk-probe-normalised");
  ASSERT_TRUE(token.ok());
  RelayResult r = RunRelay(relay().stub(),
                           MakeRequest(*token, "openai", "/v1/files%3F/../chat/completions", kChat));
  EXPECT_TRUE(r.status.ok()) << r.status.error_message();
  std::vector<byok::testing::RecordedRequest> seen = fake().Requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].target, "/v1/chat/completions");
}

TEST_F(RelayProbeTest, SsrfProbesAreRefused) {
  const std::string port = std::to_string(tls_fake().port());
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
      absl::StrCat("http://localhost:", fake().port()),
      absl::StrCat("https://user:secret@localhost:", port),
      "file:///etc/passwd",
      "https://no-such-host.invalid",  // no DNS in here: "could not be resolved safely"
  };
  if (std::string name = LoopbackNameFromHosts(); !name.empty()) {
    base_urls.push_back(absl::StrCat("https://", name, ":", port));  // resolves to loopback
  }
  auto token = vault().CreateUserWithKey("openai-compatible", "sk-probe-ssrf");
  ASSERT_TRUE(token.ok());
  for (const std::string& url : base_urls) {
    v1::RelayRequest request =
        MakeRequest(*token, "openai-compatible", "/v1/chat/completions", kChat);
    request.set_base_url(url);
    RelayResult r = RunRelay(relay().stub(), request);
    EXPECT_TRUE(BaseUrlRefused(r.status)) << url << " -> " << r.status.error_code() << " "
                                          << r.status.error_message();
  }
  ExpectNothingArrived();
}

TEST_F(RelayProbeTest, AKeyBoundToABaseUrlIgnoresTheClientsBaseUrl) {
  auto token = vault().CreateUserWithKey("openai-compatible", "sk-probe-bound",
                                         "https://llm.example.test/v1");
  ASSERT_TRUE(token.ok()) << token.status();
  v1::RelayRequest request = MakeRequest(*token, "openai-compatible", "/v1/chat/completions", kChat);
  request.set_base_url(absl::StrCat("https://localhost:", tls_fake().port(), "/v1"));
  RelayResult r = RunRelay(relay().stub(), request);
  // The bound host cannot be resolved in here: the call fails, and it never went to the client's URL.
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << r.status.error_message();
  EXPECT_EQ(r.status.error_message(), "x-relay-base-url hostname could not be resolved safely");
  ExpectNothingArrived();
}

TEST_F(RelayProbeTest, TheHttpsFakeIsReachableWhereTheOperatorAllowsIt) {
  // Control: the operator's override to the same https fake works, so the refusals above are the
  // guard's doing and not an unreachable fake.
  auto token = vault().CreateUserWithKey("anthropic", "sk-probe-control");
  ASSERT_TRUE(token.ok());
  RelayResult r = RunRelay(relay().stub(),
                           MakeRequest(*token, "anthropic", "/v1/messages",
                                       R"({"model":"claude-3-5-haiku","max_tokens":8})"));
  EXPECT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.head.status(), 200);
  ASSERT_EQ(tls_fake().Requests().size(), 1u);
}

}  // namespace
}  // namespace byok::relay::testing
