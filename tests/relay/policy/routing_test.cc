#include "services/relay/policy/routing.h"

#include <gtest/gtest.h>

#include <string>
#include <ostream>

#include "nlohmann/json.hpp"
#include "services/relay/policy/relay_policy.h"
#include "tests/relay/policy/test_env.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/case_name.h"

namespace byok::relay {
namespace {

using ::byok::testing::IsOk;
using ::byok::testing::StatusIs;

struct Route {
  std::string body;
  std::string provider;
  std::string path;
  std::string model;
  bool stream;
};
void PrintTo(const Route& c, std::ostream* os) { *os << ::byok::testing::CaseName(c.body); }

class Routes : public ::testing::TestWithParam<Route> {};

TEST_P(Routes, PickProviderAndPath) {
  const Route& c = GetParam();
  absl::StatusOr<ResolvedRoute> r = ResolveRoute(c.body, ModelAllowlist());
  ASSERT_THAT(r, IsOk()) << c.body;
  EXPECT_EQ(r->provider, c.provider) << c.body;
  EXPECT_EQ(r->path, c.path) << c.body;
  EXPECT_EQ(r->model, c.model) << c.body;
  EXPECT_EQ(r->stream, c.stream) << c.body;
  // The resolved route is one the direct route accepts: same allowlist, same normaliser.
  RelayPolicy policy = *RelayPolicy::FromEnv(TestEnv({}));
  ClientRequest req{"POST", r->path, {{"content-type", "application/json"}}, r->body};
  std::string base = r->provider == "openai-compatible" ? "https://llm.example.com/v1" : "";
  absl::StatusOr<PreparedRequest> prepared = policy.Prepare(r->provider, std::move(req), "k", base, "");
  ASSERT_THAT(prepared, IsOk()) << c.body;
  EXPECT_EQ(prepared->model, c.model);
}

INSTANTIATE_TEST_SUITE_P(
    Known, Routes,
    ::testing::Values(
        Route{R"({"model":"claude-3-5-sonnet-20241022","max_tokens":10})", "anthropic", "/v1/messages",
              "claude-3-5-sonnet-20241022", false},
        Route{R"({"model":"claude-sonnet-4","stream":true})", "anthropic", "/v1/messages", "claude-sonnet-4", true},
        Route{R"({"model":"gpt-4o"})", "openai", "/v1/chat/completions", "gpt-4o", false},
        Route{R"({"model":"o1-mini"})", "openai", "/v1/chat/completions", "o1-mini", false},
        Route{R"({"model":"o3"})", "openai", "/v1/chat/completions", "o3", false},
        Route{R"({"model":"o4-mini","stream":true})", "openai", "/v1/chat/completions", "o4-mini", true},
        Route{R"({"model":"chatgpt-4o-latest"})", "openai", "/v1/chat/completions", "chatgpt-4o-latest", false},
        Route{R"({"model":"gemini-2.0-flash"})", "google", "/v1beta/models/gemini-2.0-flash:generateContent",
              "gemini-2.0-flash", false},
        Route{R"({"model":"gemini-2.0-flash","stream":true})", "google",
              "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse", "gemini-2.0-flash", true},
        Route{R"({"model":"mistral-large-latest"})", "mistral", "/v1/chat/completions", "mistral-large-latest", false},
        Route{R"({"model":"codestral-latest"})", "mistral", "/v1/chat/completions", "codestral-latest", false},
        Route{R"({"model":"groq/llama-3.3-70b-versatile"})", "groq", "/v1/chat/completions",
              "llama-3.3-70b-versatile", false},
        Route{R"({"model":"openrouter/anthropic/claude-3.5-sonnet"})", "openrouter", "/v1/chat/completions",
              "anthropic/claude-3.5-sonnet", false},
        Route{R"({"model":"huggingface/meta-llama/Llama-3.1-8B-Instruct"})", "huggingface",
              "/v1/chat/completions", "meta-llama/Llama-3.1-8B-Instruct", false},
        Route{R"({"model":"openai/gpt-4o-mini"})", "openai", "/v1/chat/completions", "gpt-4o-mini", false},
        Route{R"({"model":"anthropic/claude-3-haiku"})", "anthropic", "/v1/messages", "claude-3-haiku", false},
        Route{R"({"model":"google/gemini-1.5-pro"})", "google", "/v1beta/models/gemini-1.5-pro:generateContent",
              "gemini-1.5-pro", false},
        Route{R"({"model":"openai-compatible/llama3.2:latest"})", "openai-compatible", "/chat/completions",
              "llama3.2:latest", false},
        Route{R"({"model":"gpt-4o","stream":"true"})", "openai", "/v1/chat/completions", "gpt-4o", false}));

TEST(ResolveRoute, RewritesBodyOnlyWhenNeeded) {
  std::string body = R"({"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"temperature":0.1})";
  absl::StatusOr<ResolvedRoute> r = ResolveRoute(body, ModelAllowlist());
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->body, body);

  r = ResolveRoute(R"({"model":"groq/llama-3.3-70b","z":1,"a":2})", ModelAllowlist());
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->body, R"({"model":"llama-3.3-70b","z":1,"a":2})");  // order kept

  r = ResolveRoute(R"({"model":"gemini-2.0-flash","stream":true,"contents":[{"parts":[{"text":"hi"}]}]})",
                   ModelAllowlist());
  ASSERT_THAT(r, IsOk());
  nlohmann::json gemini = nlohmann::json::parse(r->body);
  EXPECT_FALSE(gemini.contains("model"));
  EXPECT_FALSE(gemini.contains("stream"));
  EXPECT_EQ(gemini["contents"][0]["parts"][0]["text"], "hi");
}

struct Bad {
  std::string body;
  absl::StatusCode code;
};
void PrintTo(const Bad& c, std::ostream* os) { *os << ::byok::testing::CaseName(c.body); }

class BadRoutes : public ::testing::TestWithParam<Bad> {};

TEST_P(BadRoutes, AreRefused) {
  EXPECT_THAT(ResolveRoute(GetParam().body, ModelAllowlist()), StatusIs(GetParam().code)) << GetParam().body;
}

constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;
constexpr absl::StatusCode kNotFound = absl::StatusCode::kNotFound;

INSTANTIATE_TEST_SUITE_P(
    Malicious, BadRoutes,
    ::testing::Values(Bad{R"({"model":"../admin"})", kInvalid}, Bad{R"({"model":"gemini-../../admin"})", kInvalid},
                      Bad{R"({"model":"gemini-x?key=1"})", kInvalid}, Bad{R"({"model":"gemini-x#frag"})", kInvalid},
                      Bad{R"({"model":"gemini-x/../../v1/models"})", kInvalid},
                      Bad{R"({"model":"google/gemini/x"})", kInvalid},
                      Bad{R"({"model":"google/gemini-x:countTokens"})", kInvalid},
                      Bad{R"({"model":"gemini-x%2f..%2f"})", kInvalid}, Bad{R"({"model":"gpt 4"})", kInvalid},
                      Bad{R"({"model":"gpt-4\r\nHost: evil"})", kInvalid}, Bad{R"({"model":"gpt-4\u0000"})", kInvalid},
                      Bad{R"({"model":"claude-\\..\\x"})", kInvalid}, Bad{R"({"model":"/gpt-4"})", kInvalid},
                      Bad{R"({"model":"groq/"})", kInvalid}, Bad{R"({"model":"groq//x"})", kInvalid},
                      Bad{"{\"model\":\"claude-" + std::string(300, 'a') + "\"}", kInvalid},
                      Bad{R"({"model":""})", kInvalid}, Bad{R"({"model":42})", kInvalid},
                      Bad{R"({"model":null})", kInvalid}, Bad{R"({"messages":[]})", kInvalid},
                      Bad{R"(["gpt-4o"])", kInvalid}, Bad{"not json", kInvalid}, Bad{"", kInvalid},
                      Bad{R"({"model":"llama-3.3-70b"})", kNotFound}, Bad{R"({"model":"mixtral-8x7b"})", kNotFound},
                      Bad{R"({"model":"unknown/x"})", kNotFound}, Bad{R"({"model":"GPT-4o"})", kNotFound},
                      Bad{R"({"model":"elevenlabs/eleven_multilingual_v2"})", kNotFound},
                      Bad{R"({"model":"deepgram/nova-2"})", kNotFound}));

TEST(ResolveRoute, EnforcesAllowlist) {
  ModelAllowlist list = *ModelAllowlist::Parse("gpt-4o*,groq/*");
  EXPECT_THAT(ResolveRoute(R"({"model":"gpt-4o-mini"})", list), IsOk());
  EXPECT_THAT(ResolveRoute(R"({"model":"openai/gpt-4o"})", list), IsOk());
  EXPECT_THAT(ResolveRoute(R"({"model":"groq/llama-3.3-70b"})", list), IsOk());
  EXPECT_THAT(ResolveRoute(R"({"model":"claude-3-haiku"})", list), StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(ResolveRoute(R"({"model":"openrouter/openai/gpt-4o"})", list),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST(DescribeRoutes, ShowsProvidersRoutesAndAllowlist) {
  RelayPolicy policy = *RelayPolicy::FromEnv(
      TestEnv({{"ALLOWED_MODELS", "gpt-4o*"}, {"BYOK_PROVIDER_ANTHROPIC_BASE_URL", "http://127.0.0.1:8080/"}}));
  RoutesDescription d = policy.DescribeRoutes();
  EXPECT_EQ(d.providers.size(), Providers().size());
  EXPECT_EQ(d.allowed_models, std::vector<std::string>{"gpt-4o*"});
  bool saw_anthropic = false;
  for (const RoutesDescription::Provider& p : d.providers) {
    EXPECT_FALSE(p.allowed_paths.empty()) << p.name;
    if (p.name == "anthropic") {
      saw_anthropic = true;
      EXPECT_EQ(p.base_url, "http://127.0.0.1:8080");
    }
    if (p.name == "openai") {
      EXPECT_EQ(p.base_url, "https://api.openai.com");
    }
    if (p.name == "openai-compatible") {
      EXPECT_EQ(p.base_url, "");
    }
  }
  EXPECT_TRUE(saw_anthropic);
  ASSERT_FALSE(d.routes.empty());
  EXPECT_EQ(d.routes.front().pattern, "claude-*");
  EXPECT_EQ(d.routes.front().provider, "anthropic");
}

}  // namespace
}  // namespace byok::relay
