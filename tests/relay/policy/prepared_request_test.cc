#include "services/relay/policy/prepared_request.h"

#include <gtest/gtest.h>

#include <string>
#include <ostream>

#include "absl/strings/match.h"
#include "services/relay/policy/relay_policy.h"
#include "tests/relay/policy/test_env.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/case_name.h"

namespace byok::relay {
namespace {

using ::byok::testing::IsOk;
using ::byok::testing::StatusIs;

constexpr absl::string_view kKey = "sk-SECRET-test-key-0123456789";

RelayPolicy PolicyFrom(absl::flat_hash_map<std::string, std::string> vars) {
  absl::StatusOr<RelayPolicy> policy = RelayPolicy::FromEnv(TestEnv(std::move(vars)));
  EXPECT_THAT(policy, IsOk());
  return *std::move(policy);
}

ClientRequest Post(std::string path, std::string body = R"({"model":"m-1"})",
                   std::vector<http::HeaderField> headers = {{"Content-Type", "application/json"}}) {
  return ClientRequest{"POST", std::move(path), std::move(headers), std::move(body)};
}

// Asserts that the key appears exactly once, in the header the provider reads, and nowhere else.
void ExpectKeyOnlyIn(const PreparedRequest& r, absl::string_view header, absl::string_view value) {
  int key_headers = 0;
  for (size_t i = 0; i < r.headers.size(); ++i) {
    const http::HeaderField& h = r.headers[i];
    if (absl::StrContains(h.value, kKey)) {
      ++key_headers;
      EXPECT_EQ(h.name, header);
      EXPECT_EQ(h.value, value);
      EXPECT_EQ(i, r.key_header_index);
    }
  }
  EXPECT_EQ(key_headers, 1);
  EXPECT_FALSE(absl::StrContains(r.target, kKey));
  EXPECT_FALSE(absl::StrContains(r.log_url, kKey));
  EXPECT_FALSE(absl::StrContains(r.host_header, kKey));
}

struct Injection {
  std::string provider;
  std::string path;
  std::string header;
  std::string value;
  std::string host;
  std::string target;
};
void PrintTo(const Injection& c, std::ostream* os) { *os << ::byok::testing::CaseName(c.provider + " " + c.path); }

class KeyInjection : public ::testing::TestWithParam<Injection> {};

// Each provider gets the key exactly as it expects it; a hostile client Authorization and other
// credentials never go along, and the key is never in the URL.
TEST_P(KeyInjection, IsExactlyWhatTheProviderExpects) {
  const Injection& c = GetParam();
  RelayPolicy policy = PolicyFrom({});
  ClientRequest request = Post(c.path);
  request.headers.push_back({"Authorization", "Bearer stolen-key"});
  request.headers.push_back({"x-api-key", "stolen-key"});
  request.headers.push_back({"X-Goog-Api-Key", "stolen-key"});
  request.headers.push_back({"xi-api-key", "stolen-key"});
  request.headers.push_back({"Cookie", "session=1"});
  request.headers.push_back({"x-relay-token", "tok"});
  request.headers.push_back({"Host", "evil.example"});
  request.headers.push_back({"Connection", "close"});
  std::string base = c.provider == "openai-compatible" ? "https://llm.example.com/v1" : "";
  absl::StatusOr<PreparedRequest> r = policy.Prepare(c.provider, std::move(request), kKey, base, "");
  ASSERT_THAT(r, IsOk());
  ExpectKeyOnlyIn(*r, c.header, c.value);
  EXPECT_EQ(r->host, c.host);
  EXPECT_EQ(r->sni, c.host);
  EXPECT_EQ(r->host_header, c.host);
  EXPECT_TRUE(r->tls);
  EXPECT_EQ(r->port, 443);
  EXPECT_EQ(r->target, c.target);
  EXPECT_EQ(r->method, "POST");
  EXPECT_EQ(r->body, R"({"model":"m-1"})");
  for (const http::HeaderField& h : r->headers) {
    EXPECT_FALSE(absl::StrContains(h.value, "stolen")) << h.name;
    EXPECT_FALSE(http::HeaderNameEquals(h.name, "cookie"));
    EXPECT_FALSE(http::HeaderNameEquals(h.name, "host"));
    EXPECT_FALSE(http::HeaderNameEquals(h.name, "connection"));
    EXPECT_FALSE(absl::StartsWithIgnoreCase(h.name, "x-relay-"));
  }
  EXPECT_EQ(*http::FindHeader(r->headers, "content-type"), "application/json");
}

INSTANTIATE_TEST_SUITE_P(
    Providers, KeyInjection,
    ::testing::Values(
        Injection{"anthropic", "/v1/messages", "x-api-key", std::string(kKey), "api.anthropic.com", "/v1/messages"},
        Injection{"openai", "/v1/chat/completions", "authorization", absl::StrCat("Bearer ", kKey),
                  "api.openai.com", "/v1/chat/completions"},
        Injection{"groq", "/v1/chat/completions", "authorization", absl::StrCat("Bearer ", kKey),
                  "api.groq.com", "/openai/v1/chat/completions"},
        Injection{"openrouter", "/v1/chat/completions", "authorization", absl::StrCat("Bearer ", kKey),
                  "openrouter.ai", "/api/v1/chat/completions"},
        Injection{"mistral", "/v1/chat/completions", "authorization", absl::StrCat("Bearer ", kKey),
                  "api.mistral.ai", "/v1/chat/completions"},
        Injection{"huggingface", "/v1/chat/completions", "authorization", absl::StrCat("Bearer ", kKey),
                  "router.huggingface.co", "/v1/chat/completions"},
        Injection{"google", "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse&key=stolen",
                  "x-goog-api-key", std::string(kKey), "generativelanguage.googleapis.com",
                  "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse"},
        Injection{"elevenlabs", "/v1/text-to-speech/voice123", "xi-api-key", std::string(kKey),
                  "api.elevenlabs.io", "/v1/text-to-speech/voice123"},
        Injection{"deepgram", "/v1/listen?model=nova-2", "authorization", absl::StrCat("Token ", kKey),
                  "api.deepgram.com", "/v1/listen?model=nova-2"},
        Injection{"openai-compatible", "/chat/completions", "authorization", absl::StrCat("Bearer ", kKey),
                  "llm.example.com", "/v1/chat/completions"}));

TEST(PrepareRequest, GoogleKeyNeverTravelsInTheQuery) {
  RelayPolicy policy = PolicyFrom({});
  for (const char* path : {"/v1beta/models/gemini-2.0-flash:generateContent?key=stolen",
                           "/v1beta/models/gemini-2.0-flash:generateContent?KEY=stolen&key=x",
                           "/v1beta/models/gemini-2.0-flash:generateContent?%6Bey=stolen"}) {
    absl::StatusOr<PreparedRequest> r = policy.Prepare("google", Post(path, "{}"), kKey, "", "");
    ASSERT_THAT(r, IsOk()) << path;
    EXPECT_EQ(r->target, "/v1beta/models/gemini-2.0-flash:generateContent") << path;
    EXPECT_EQ(r->model, "gemini-2.0-flash");
  }
}

TEST(PrepareRequest, AnthropicVersionDefaultsButClientMayChoose) {
  RelayPolicy policy = PolicyFrom({});
  absl::StatusOr<PreparedRequest> r = policy.Prepare("anthropic", Post("/v1/messages"), kKey, "", "");
  ASSERT_THAT(r, IsOk());
  ASSERT_NE(http::FindHeader(r->headers, "anthropic-version"), nullptr);
  EXPECT_EQ(*http::FindHeader(r->headers, "anthropic-version"), "2023-06-01");

  ClientRequest chosen = Post("/v1/messages");
  chosen.headers.push_back({"Anthropic-Version", "2024-10-22"});
  chosen.headers.push_back({"anthropic-beta", "prompt-caching-2024-07-31"});
  r = policy.Prepare("anthropic", std::move(chosen), kKey, "", "");
  ASSERT_THAT(r, IsOk());
  int versions = 0;
  for (const http::HeaderField& h : r->headers) versions += http::HeaderNameEquals(h.name, "anthropic-version");
  EXPECT_EQ(versions, 1);
  EXPECT_EQ(*http::FindHeader(r->headers, "anthropic-version"), "2024-10-22");
  EXPECT_EQ(*http::FindHeader(r->headers, "anthropic-beta"), "prompt-caching-2024-07-31");
}

TEST(PrepareRequest, HeadersTheClientNamedInConnectionStayBehind) {
  RelayPolicy policy = PolicyFrom({});
  ClientRequest req = Post("/v1/messages");
  req.headers.push_back({"Connection", "Anthropic-Beta"});
  req.headers.push_back({"anthropic-beta", "prompt-caching-2024-07-31"});
  req.headers.push_back({"anthropic-version", "2024-10-22"});
  absl::StatusOr<PreparedRequest> r = policy.Prepare("anthropic", std::move(req), kKey, "", "");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(http::FindHeader(r->headers, "anthropic-beta"), nullptr);
  EXPECT_EQ(http::FindHeader(r->headers, "connection"), nullptr);
  ASSERT_NE(http::FindHeader(r->headers, "anthropic-version"), nullptr);
  EXPECT_EQ(*http::FindHeader(r->headers, "anthropic-version"), "2024-10-22");
}

TEST(PrepareRequest, FirstOfDuplicateHeadersWins) {
  RelayPolicy policy = PolicyFrom({});
  ClientRequest req = Post("/v1/chat/completions", "{}",
                           {{"content-type", "application/json"}, {"Content-Type", "text/plain"}});
  absl::StatusOr<PreparedRequest> r = policy.Prepare("openai", std::move(req), kKey, "", "");
  ASSERT_THAT(r, IsOk());
  int count = 0;
  for (const http::HeaderField& h : r->headers) count += http::HeaderNameEquals(h.name, "content-type");
  EXPECT_EQ(count, 1);
  EXPECT_EQ(*http::FindHeader(r->headers, "content-type"), "application/json");
}

struct PathProbe {
  std::string path;
  absl::StatusCode code;
};
void PrintTo(const PathProbe& c, std::ostream* os) { *os << ::byok::testing::CaseName(c.path); }

class PathProbes : public ::testing::TestWithParam<PathProbe> {};

TEST_P(PathProbes, AreRefused) {
  RelayPolicy policy = PolicyFrom({});
  absl::StatusOr<PreparedRequest> r = policy.Prepare("openai", Post(GetParam().path), kKey, "", "");
  EXPECT_THAT(r, StatusIs(GetParam().code)) << GetParam().path;
  EXPECT_FALSE(absl::StrContains(r.status().message(), kKey));
}

constexpr absl::StatusCode kDenied = absl::StatusCode::kPermissionDenied;
constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;

INSTANTIATE_TEST_SUITE_P(
    Openai, PathProbes,
    ::testing::Values(PathProbe{"/v1/models", kDenied}, PathProbe{"/v1/files", kDenied},
                      PathProbe{"/v1/organization/api_keys", kDenied}, PathProbe{"/admin", kDenied},
                      PathProbe{"/v1/chat/completions/../../admin", kDenied},
                      PathProbe{"/v1/chat/completions/..%2f..%2fmodels", kDenied},
                      PathProbe{"/v1/chat/completions/%2e%2e/%2e%2e/v1/models", kDenied},
                      PathProbe{"/v1/chat/completions/%2E%2E/", kDenied},
                      PathProbe{"/v1/chat/..%5C..%5Cv1/models", kDenied},
                      PathProbe{"/v1/chat/..\\..\\v1/models", kDenied},
                      PathProbe{"/v1/chat/completions/", kDenied}, PathProbe{"/v1/chat/completionsx", kDenied},
                      PathProbe{"/../v1/chat/completions", kInvalid},
                      PathProbe{"/%2e%2e/v1/chat/completions", kInvalid},
                      PathProbe{"/v1/chat/completions%3F/../../models", kInvalid},
                      PathProbe{"/v1/chat/completions%3Fx=1", kInvalid},
                      PathProbe{"/v1/chat/completions%23x", kInvalid},
                      PathProbe{"/v1/chat/completions#x", kInvalid},
                      PathProbe{"/v1/chat/%252e%252e/models", kInvalid},
                      PathProbe{std::string("/v1/chat/completions\0", 21), kInvalid},
                      PathProbe{"/v1/chat/completions%00", kInvalid},
                      PathProbe{"/v1/chat/completions%0d%0aHost:%20evil", kInvalid},
                      PathProbe{"/v1/chat/completions?x=\r\nHost: evil", kInvalid},
                      PathProbe{"/v1/chat/completions/" + std::string(9000, 'a'), kInvalid},
                      PathProbe{"v1/chat/completions", kInvalid}, PathProbe{"", kInvalid}));

TEST(PrepareRequest, NormalisedPathIsWhatIsSent) {
  RelayPolicy policy = PolicyFrom({});
  absl::StatusOr<PreparedRequest> r =
      policy.Prepare("openai", Post("/v1//x/..\\chat/./%63ompletions?stream=1"), kKey, "", "");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->target, "/v1/chat/completions?stream=1");
  EXPECT_EQ(r->log_url, "https://api.openai.com/v1/chat/completions");
}

TEST(PrepareRequest, RefusesBadMethodsAndHeaders) {
  RelayPolicy policy = PolicyFrom({});
  for (const char* method : {"TRACE", "CONNECT", "OPTIONS", "GET", "DELETE", "", "POST ", "PO\nST"}) {
    ClientRequest req = Post("/v1/chat/completions");
    req.method = method;
    EXPECT_THAT(policy.Prepare("openai", std::move(req), kKey, "", ""), StatusIs(kInvalid)) << method;
  }
  ClientRequest lower = Post("/v1/chat/completions");
  lower.method = "post";
  EXPECT_THAT(policy.Prepare("openai", std::move(lower), kKey, "", ""), IsOk());

  for (http::HeaderField bad : {http::HeaderField{"X-Evil", "a\r\nHost: evil"},
                                http::HeaderField{"Content-Type", "application/json\nX: y"},
                                http::HeaderField{"bad name", "x"}, http::HeaderField{"", "x"},
                                http::HeaderField{"x", std::string("a\0b", 3)}}) {
    ClientRequest req = Post("/v1/chat/completions");
    req.headers.push_back(bad);
    EXPECT_THAT(policy.Prepare("openai", std::move(req), kKey, "", ""), StatusIs(kInvalid)) << bad.name;
  }
  EXPECT_THAT(policy.Prepare("nope", Post("/v1/chat/completions"), kKey, "", ""),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(PrepareRequest, RefusesKeysThatCouldSplitAHeader) {
  RelayPolicy policy = PolicyFrom({});
  for (std::string key : {std::string("sk-abc\r\nX-Evil: 1"), std::string("sk-abc\n"),
                          std::string("sk\0abc", 6), std::string(" sk-abc")}) {
    absl::StatusOr<PreparedRequest> r = policy.Prepare("openai", Post("/v1/chat/completions"), key, "", "");
    EXPECT_THAT(r, StatusIs(kInvalid));
    EXPECT_FALSE(absl::StrContains(r.status().message(), "sk-abc"));
  }
  EXPECT_THAT(policy.Prepare("openai", Post("/v1/chat/completions"), "", "", ""),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(PrepareRequest, MarksBinaryResponses) {
  RelayPolicy policy = PolicyFrom({});
  absl::StatusOr<PreparedRequest> speech = policy.Prepare("openai", Post("/v1/audio/speech"), kKey, "", "");
  ASSERT_THAT(speech, IsOk());
  EXPECT_TRUE(speech->binary_response);
  absl::StatusOr<PreparedRequest> tts =
      policy.Prepare("elevenlabs", Post("/v1/text-to-speech/v1/stream", R"({"model_id":"eleven_v2"})"), kKey, "", "");
  ASSERT_THAT(tts, IsOk());
  EXPECT_TRUE(tts->binary_response);
  EXPECT_EQ(tts->model, "eleven_v2");
  absl::StatusOr<PreparedRequest> chat = policy.Prepare("openai", Post("/v1/chat/completions"), kKey, "", "");
  ASSERT_THAT(chat, IsOk());
  EXPECT_FALSE(chat->binary_response);
}

TEST(PrepareRequest, OperatorOverrideIsTrustedAndNotChecked) {
  RelayPolicy policy = PolicyFrom({{"BYOK_PROVIDER_OPENAI_BASE_URL", "http://127.0.0.1:9999/prefix"},
                                   {"BYOK_PROVIDER_OPENAI_COMPATIBLE_BASE_URL", "http://[::1]:8000/v1"}});
  absl::StatusOr<PreparedRequest> r = policy.Prepare("openai", Post("/v1/chat/completions"), kKey, "", "");
  ASSERT_THAT(r, IsOk());
  EXPECT_FALSE(r->tls);
  EXPECT_EQ(r->host, "127.0.0.1");
  EXPECT_EQ(r->port, 9999);
  EXPECT_EQ(r->sni, "");
  EXPECT_EQ(r->host_header, "127.0.0.1:9999");
  EXPECT_EQ(r->target, "/prefix/v1/chat/completions");
  EXPECT_FALSE(r->check_addresses);

  r = policy.Prepare("openai-compatible", Post("/chat/completions"), kKey, "", "");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->host, "::1");
  EXPECT_EQ(r->host_header, "[::1]:8000");
  EXPECT_EQ(r->target, "/v1/chat/completions");
  EXPECT_FALSE(r->check_addresses);
  // A client's own base URL is still guarded even when the operator set a default.
  EXPECT_THAT(policy.Prepare("openai-compatible", Post("/chat/completions"), kKey, "https://127.0.0.1", ""),
              StatusIs(kDenied));
}

TEST(PrepareRequest, ClientBaseUrlIsGuarded) {
  RelayPolicy policy = PolicyFrom({});
  absl::StatusOr<PreparedRequest> r =
      policy.Prepare("openai-compatible", Post("/chat/completions"), kKey, "https://llm.example.com:8443/v1", "");
  ASSERT_THAT(r, IsOk());
  EXPECT_TRUE(r->check_addresses);
  EXPECT_EQ(r->sni, "llm.example.com");
  EXPECT_EQ(r->host_header, "llm.example.com:8443");

  for (const char* probe : {"http://llm.example.com/v1", "https://127.0.0.1/v1", "https://169.254.169.254",
                            "https://[::]", "https://[::ffff:127.0.0.1]", "https://[64:ff9b::7f00:1]",
                            "https://2130706433", "https://localhost/v1"}) {
    EXPECT_THAT(policy.Prepare("openai-compatible", Post("/chat/completions"), kKey, probe, ""),
                StatusIs(kDenied))
        << probe;
  }
  EXPECT_THAT(policy.Prepare("openai-compatible", Post("/chat/completions"), kKey,
                             "https://user:pass@llm.example.com", ""),
              StatusIs(kInvalid));
  EXPECT_THAT(policy.Prepare("openai-compatible", Post("/chat/completions"), kKey, "", ""), StatusIs(kInvalid));
  // Other providers ignore x-relay-base-url entirely.
  r = policy.Prepare("openai", Post("/v1/chat/completions"), kKey, "https://evil.example", "");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->host, "api.openai.com");
}

TEST(PrepareRequest, BoundBaseUrlWinsOverTheClients) {
  RelayPolicy policy = PolicyFrom({});
  absl::StatusOr<PreparedRequest> r = policy.Prepare("openai-compatible", Post("/chat/completions"), kKey,
                                                     "https://thief.example/v1", "https://llm.example.com/v1");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->host, "llm.example.com");
  EXPECT_TRUE(r->check_addresses);
  EXPECT_THAT(policy.Prepare("openai-compatible", Post("/chat/completions"), kKey, "", "https://10.0.0.1/v1"),
              StatusIs(kDenied));
}

TEST(PrepareRequest, PrivateUpstreamsCanBeAllowed) {
  RelayPolicy policy = PolicyFrom({{"BYOK_ALLOW_PRIVATE_UPSTREAMS", "1"}});
  absl::StatusOr<PreparedRequest> r =
      policy.Prepare("openai-compatible", Post("/chat/completions"), kKey, "http://127.0.0.1:11434/v1", "");
  ASSERT_THAT(r, IsOk());
  EXPECT_FALSE(r->tls);
  EXPECT_FALSE(r->check_addresses);
  EXPECT_EQ(r->target, "/v1/chat/completions");
  // Credentials in the URL stay refused.
  EXPECT_THAT(policy.Prepare("openai-compatible", Post("/chat/completions"), kKey, "http://a:b@127.0.0.1", ""),
              StatusIs(kInvalid));
}

TEST(PrepareKeyCheck, IsACheapAuthenticatedGet) {
  RelayPolicy policy = PolicyFrom({});
  absl::StatusOr<PreparedRequest> r = policy.PrepareKeyCheck("openai", kKey, "");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->method, "GET");
  EXPECT_EQ(r->target, "/v1/models");
  EXPECT_TRUE(r->body.empty());
  ExpectKeyOnlyIn(*r, "authorization", absl::StrCat("Bearer ", kKey));

  r = policy.PrepareKeyCheck("anthropic", kKey, "");
  ASSERT_THAT(r, IsOk());
  ExpectKeyOnlyIn(*r, "x-api-key", kKey);
  EXPECT_NE(http::FindHeader(r->headers, "anthropic-version"), nullptr);

  r = policy.PrepareKeyCheck("google", kKey, "");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->target, "/v1beta/models");
  ExpectKeyOnlyIn(*r, "x-goog-api-key", kKey);

  r = policy.PrepareKeyCheck("huggingface", kKey, "");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->host, "huggingface.co");
  EXPECT_EQ(r->target, "/api/whoami-v2");

  r = policy.PrepareKeyCheck("openai-compatible", kKey, "https://llm.example.com/v1");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->target, "/v1/models");
  EXPECT_TRUE(r->check_addresses);
  EXPECT_THAT(policy.PrepareKeyCheck("openai-compatible", kKey, "https://127.0.0.1/v1"), StatusIs(kDenied));

  for (const ProviderSpec& p : Providers()) {
    std::string base = p.base_url_from_request ? "https://llm.example.com" : "";
    EXPECT_THAT(policy.PrepareKeyCheck(p.name, kKey, base), IsOk()) << p.name;
  }
}

TEST(PrepareKeyCheck, FollowsAnOperatorOverride) {
  RelayPolicy policy = PolicyFrom({{"BYOK_PROVIDER_HUGGINGFACE_BASE_URL", "http://127.0.0.1:7000"}});
  absl::StatusOr<PreparedRequest> r = policy.PrepareKeyCheck("huggingface", kKey, "");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->host, "127.0.0.1");
  EXPECT_EQ(r->port, 7000);
  EXPECT_EQ(r->target, "/api/whoami-v2");
}

TEST(InterpretKeyCheckStatus, ReadsStatuses) {
  EXPECT_EQ(InterpretKeyCheckStatus(200), KeyCheckVerdict::kValid);
  EXPECT_EQ(InterpretKeyCheckStatus(204), KeyCheckVerdict::kValid);
  EXPECT_EQ(InterpretKeyCheckStatus(401), KeyCheckVerdict::kInvalid);
  EXPECT_EQ(InterpretKeyCheckStatus(403), KeyCheckVerdict::kInvalid);
  EXPECT_EQ(InterpretKeyCheckStatus(429), KeyCheckVerdict::kUnknown);
  EXPECT_EQ(InterpretKeyCheckStatus(500), KeyCheckVerdict::kUnknown);
  EXPECT_EQ(InterpretKeyCheckStatus(302), KeyCheckVerdict::kUnknown);
}

}  // namespace
}  // namespace byok::relay
