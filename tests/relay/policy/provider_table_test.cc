#include "services/relay/policy/provider_table.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <ostream>

#include "absl/strings/str_replace.h"
#include "common/http/path.h"
#include "common/http/url.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/case_name.h"

namespace byok::relay {
namespace {

using ::byok::testing::IsOk;

TEST(ProviderTable, HasEveryProviderOnce) {
  std::set<std::string> names;
  for (const ProviderSpec& p : Providers()) names.insert(p.name);
  EXPECT_EQ(names, (std::set<std::string>{"anthropic", "openai", "google", "groq", "openrouter", "mistral",
                                          "huggingface", "elevenlabs", "deepgram", "openai-compatible"}));
  EXPECT_EQ(names.size(), Providers().size());
  EXPECT_EQ(FindProvider("nope"), nullptr);
  EXPECT_EQ(FindProvider("OpenAI"), nullptr);
  ASSERT_NE(FindProvider("openai"), nullptr);
  EXPECT_EQ(FindProvider("openai")->name, "openai");
}

TEST(ProviderTable, RowsAreConsistent) {
  for (const ProviderSpec& p : Providers()) {
    SCOPED_TRACE(p.name);
    if (p.base_url_from_request) {
      EXPECT_TRUE(p.default_base_url.empty());
    } else {
      absl::StatusOr<http::BaseUrl> url = http::ParseBaseUrl(p.default_base_url);
      ASSERT_THAT(url, IsOk());
      EXPECT_TRUE(url->tls());
    }
    EXPECT_FALSE(p.key_header.empty());
    EXPECT_FALSE(p.key_check_path.empty());
    EXPECT_FALSE(p.allowed_paths.empty());
    EXPECT_FALSE(p.methods.empty());
    // Every allowed path is already in normal form: the allowlist is written in what NormalizeTarget gives.
    for (const std::string& glob : p.allowed_paths) {
      std::string example = absl::StrReplaceAll(glob, {{"**", "x/y"}, {"*", "m"}});
      absl::StatusOr<http::NormalizedTarget> t = http::NormalizeTarget(example);
      ASSERT_THAT(t, IsOk()) << glob;
      EXPECT_EQ(t->path, example) << glob;
      EXPECT_TRUE(PathMatches(glob, example)) << glob;
    }
    // The key header is never also a forwarded client header.
    EXPECT_FALSE(IsForwardedRequestHeader(p, p.key_header));
  }
}

TEST(BaseUrlEnvName, UpperCasesAndReplacesDashes) {
  EXPECT_EQ(BaseUrlEnvName("openai"), "BYOK_PROVIDER_OPENAI_BASE_URL");
  EXPECT_EQ(BaseUrlEnvName("openai-compatible"), "BYOK_PROVIDER_OPENAI_COMPATIBLE_BASE_URL");
}

struct GlobCase {
  std::string glob;
  std::string path;
  bool match;
};
void PrintTo(const GlobCase& c, std::ostream* os) { *os << ::byok::testing::CaseName(c.glob + " " + c.path); }

class Globs : public ::testing::TestWithParam<GlobCase> {};

TEST_P(Globs, MatchSegmentWise) {
  EXPECT_EQ(PathMatches(GetParam().glob, GetParam().path), GetParam().match)
      << GetParam().glob << " vs " << GetParam().path;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, Globs,
    ::testing::Values(GlobCase{"/v1/chat/completions", "/v1/chat/completions", true},
                      GlobCase{"/v1/chat/completions", "/v1/chat/completions/", false},
                      GlobCase{"/v1/chat/completions", "/v1/chat/completions/x", false},
                      GlobCase{"/v1/chat/completions", "/v1/chat/completionsx", false},
                      GlobCase{"/v1/chat/completions", "/v1/chat", false},
                      GlobCase{"/v1beta/models/*:generateContent", "/v1beta/models/gemini-2.0-flash:generateContent", true},
                      GlobCase{"/v1beta/models/*:generateContent", "/v1beta/models/:generateContent", false},
                      GlobCase{"/v1beta/models/*:generateContent", "/v1beta/models/a/b:generateContent", false},
                      GlobCase{"/v1beta/models/*:generateContent", "/v1beta/models/x:generateContentX", false},
                      GlobCase{"/v1/text-to-speech/*", "/v1/text-to-speech/voice1", true},
                      GlobCase{"/v1/text-to-speech/*", "/v1/text-to-speech/", false},
                      GlobCase{"/v1/text-to-speech/*/**", "/v1/text-to-speech/voice1/stream", true},
                      GlobCase{"/v1/text-to-speech/*/**", "/v1/text-to-speech/voice1", false},
                      GlobCase{"/v1/text-to-speech/*/**", "/v1/text-to-speech/voice1/", false},
                      GlobCase{"/hf-inference/models/**", "/hf-inference/models/org/name", true},
                      GlobCase{"/hf-inference/models/**", "/hf-inference/models", false},
                      GlobCase{"/hf-inference/models/**", "/hf-inference/models/", false}));

TEST(Headers, CredentialsAreNeverForwarded) {
  for (const ProviderSpec& p : Providers()) {
    SCOPED_TRACE(p.name);
    for (const char* h : {"authorization", "Authorization", "x-api-key", "x-goog-api-key", "xi-api-key",
                          "cookie", "host", "content-length", "x-relay-token", "x-relay-base-url",
                          "connection", "transfer-encoding", "te", "upgrade", "proxy-authorization",
                          "forwarded"}) {
      EXPECT_FALSE(IsForwardedRequestHeader(p, h)) << h;
    }
    EXPECT_TRUE(IsForwardedRequestHeader(p, "Content-Type"));
    EXPECT_TRUE(IsForwardedRequestHeader(p, "accept"));
    EXPECT_FALSE(IsForwardedRequestHeader(p, "x-random"));
    EXPECT_FALSE(IsForwardedRequestHeader(p, "accept-encoding"));
  }
  const ProviderSpec& anthropic = *FindProvider("anthropic");
  EXPECT_TRUE(IsForwardedRequestHeader(anthropic, "anthropic-beta"));
  EXPECT_TRUE(IsForwardedRequestHeader(anthropic, "Anthropic-Version"));
  const ProviderSpec& openai = *FindProvider("openai");
  EXPECT_TRUE(IsForwardedRequestHeader(openai, "openai-organization"));
  EXPECT_TRUE(IsForwardedRequestHeader(openai, "OpenAI-Project"));
  EXPECT_FALSE(IsForwardedRequestHeader(openai, "anthropic-beta"));
}

TEST(Headers, UsefulResponseHeadersPassBack) {
  const ProviderSpec& openai = *FindProvider("openai");
  for (const char* h : {"content-type", "Retry-After", "x-ratelimit-remaining-requests", "x-request-id",
                        "request-id", "openai-processing-ms", "ratelimit-reset"}) {
    EXPECT_TRUE(IsPassedResponseHeader(openai, h)) << h;
  }
  for (const char* h : {"set-cookie", "Set-Cookie", "connection", "transfer-encoding", "content-length",
                        "access-control-allow-origin", "server", "alt-svc", "cf-ray"}) {
    EXPECT_FALSE(IsPassedResponseHeader(openai, h)) << h;
  }
  EXPECT_TRUE(IsPassedResponseHeader(*FindProvider("anthropic"), "anthropic-ratelimit-tokens-remaining"));
  EXPECT_FALSE(IsPassedResponseHeader(openai, "anthropic-ratelimit-tokens-remaining"));
  EXPECT_TRUE(IsPassedResponseHeader(*FindProvider("deepgram"), "dg-request-id"));
}

}  // namespace
}  // namespace byok::relay
