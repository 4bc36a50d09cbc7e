// The relay's checks in the original's order (compat.md §3.14, §3.15) and the upstream request they
// build: key placement, the closed header list, target and query.
#include "services/relay/policy/prepared_request.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "services/relay/policy/relay_policy.h"
#include "services/relay/policy/routing.h"
#include "tests/relay/policy/test_env.h"
#include "tests/testing/status_matchers.h"

namespace byok::relay {
namespace {

using ::byok::testing::IsOk;
using ::byok::testing::StatusIs;

ClientRequest Post(std::string path, std::string body = "{}",
                   std::vector<http::HeaderField> headers = {{"content-type", "application/json"}}) {
  ClientRequest r;
  r.method = "POST";
  r.path = std::move(path);
  r.headers = std::move(headers);
  r.body = std::move(body);
  return r;
}

ResolvedBaseUrl Base(const char* url) { return ResolvedBaseUrl{*http::ParseBaseUrl(url), false}; }

std::string Header(const UpstreamRequest& p, const char* name) {
  const std::string* v = http::FindHeader(p.headers, name);
  return v == nullptr ? "<absent>" : *v;
}

TEST(CheckRequest, OrderIsProviderPathModel) {
  ModelAllowlist allow = ModelAllowlist::Parse("gpt-4o");
  // Unknown provider first, whatever the path and model.
  absl::StatusOr<CheckedRequest> r = CheckRequest("nope", Post("v1/models", R"({"model":"x"})"), allow);
  ASSERT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(r.status().message(), "Unsupported provider: nope");
  // Then the path (normalised in the message).
  r = CheckRequest("openai", Post("v1/chat/../models", R"({"model":"x"})"), allow);
  ASSERT_THAT(r, StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(r.status().message(),
            "Path \"/v1/models\" is not permitted for provider \"openai\". Only inference endpoints are allowed.");
  // Then the model.
  r = CheckRequest("openai", Post("v1/chat/completions", R"({"model":"gpt-4"})"), allow);
  ASSERT_THAT(r, StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(r.status().message(), "Model \"gpt-4\" is not permitted on this relay.");
  EXPECT_THAT(CheckRequest("openai", Post("v1/chat/completions", R"({"model":"gpt-4o"})"), allow), IsOk());
  // A raw body names no model: allowed.
  EXPECT_THAT(CheckRequest("openai", Post("v1/chat/completions", R"({"model":"gpt-4"})", {}), allow), IsOk());
}

TEST(CheckRequest, GeminiPathModelWinsOverTheBody) {
  ModelAllowlist allow = ModelAllowlist::Parse("google/gemini-2.0-flash");
  EXPECT_THAT(CheckRequest("google", Post("v1beta/models/gemini-2.0-flash:generateContent", R"({"model":"x"})"),
                           allow),
              IsOk());
  EXPECT_THAT(CheckRequest("google", Post("v1beta/models/gemini-pro:generateContent"), allow),
              StatusIs(absl::StatusCode::kPermissionDenied));
  // :countTokens names no path model: the body's decides.
  EXPECT_THAT(CheckRequest("google", Post("v1beta/models/gemini-pro:countTokens", R"({"model":"x"})"), allow),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST(CheckRequest, MethodsOtherThanPostOnlyOnGetEndpoints) {
  ClientRequest get = Post("v1/voices", "");
  get.method = "GET";
  EXPECT_THAT(CheckRequest("elevenlabs", get, {}), IsOk());
  get.path = "v1/chat/completions";
  absl::StatusOr<CheckedRequest> r = CheckRequest("openai", get, {});
  ASSERT_THAT(r, StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(r.status().message(), "Cannot GET /v1/chat/completions");
}

TEST(CheckRequest, LoggedModelAndStream) {
  absl::StatusOr<CheckedRequest> r =
      CheckRequest("google", Post("v1beta/models/gemini-pro:streamGenerateContent", R"({"stream":true})"), {});
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->logged_model, std::nullopt);  // Google's path model is not logged
  EXPECT_TRUE(r->stream);
  ClientRequest unified = Post("/v1/messages", R"({"model":"claude-x"})");
  unified.unified = true;
  unified.raw_model = "Anthropic/ claude-x ";
  r = CheckRequest("anthropic", unified, ModelAllowlist::Parse("anthropic/*"));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->logged_model, "Anthropic/ claude-x ");
  EXPECT_EQ(r->forward_path, "/v1/messages");
  ClientRequest elsewhere = unified;
  elsewhere.path = "/v1/models";
  EXPECT_THAT(CheckRequest("anthropic", elsewhere, {}), StatusIs(absl::StatusCode::kPermissionDenied));
  r = CheckRequest("anthropic", unified, ModelAllowlist::Parse("claude-x"));
  ASSERT_THAT(r, StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(r.status().message(), "Model \"Anthropic/ claude-x \" is not permitted on this relay.");
}

ClientRequest Unified(std::string body) {
  ClientRequest r = Post("", std::move(body));
  r.unified = true;
  return r;
}

// The relay routes a unified request itself: the original's order (model required, routable, allowed
// by its raw string), then only the model's bytes change in the body.
TEST(CheckUnifiedRequest, RefusesInTheOriginalsOrder) {
  const ModelAllowlist allow = ModelAllowlist::Parse("anthropic/*,gpt-4o*");
  for (const char* body : {"", "{}", R"({"messages":[]})", R"({"model":""})", R"({"model":null})", "[1]",
                           R"([{"model":"gpt-4o"}])"}) {
    ClientRequest r = Unified(body);
    absl::StatusOr<CheckedRequest> checked = CheckUnifiedRequest(r, allow);
    ASSERT_THAT(checked, StatusIs(absl::StatusCode::kInvalidArgument)) << body;
    EXPECT_EQ(checked.status().message(), kModelRequired) << body;
  }
  // Not routable comes before not permitted ("o3" is in neither the table nor the list).
  ClientRequest r = Unified(R"({"model":"o3"})");
  absl::StatusOr<CheckedRequest> checked = CheckUnifiedRequest(r, allow);
  ASSERT_THAT(checked, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(checked.status().message(), CannotRouteMessage(nlohmann::json("o3")));
  // The raw string is what the list sees: "openai/gpt-4o" routes to gpt-4o but is not listed.
  r = Unified(R"({"model":"openai/gpt-4o"})");
  checked = CheckUnifiedRequest(r, allow);
  ASSERT_THAT(checked, StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(checked.status().message(), "Model \"openai/gpt-4o\" is not permitted on this relay.");
  // A body a direct caller sent that is not JSON.
  r = Unified("{oops");
  EXPECT_THAT(CheckUnifiedRequest(r, allow), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(CheckUnifiedRequest, RoutesAndChangesOnlyTheModelsBytes) {
  ClientRequest r = Unified(R"({ "max_tokens" : 8, "model":"Anthropic/ claude-x ", "t": 1.50, "stream":true })");
  absl::StatusOr<CheckedRequest> checked = CheckUnifiedRequest(r, ModelAllowlist::Parse("anthropic/*"));
  ASSERT_THAT(checked, IsOk());
  EXPECT_EQ(checked->provider->name, "anthropic");
  EXPECT_EQ(checked->forward_path, "/v1/messages");
  EXPECT_TRUE(checked->json_body);
  EXPECT_TRUE(checked->stream);
  EXPECT_EQ(checked->logged_model, "Anthropic/ claude-x ");
  EXPECT_EQ(r.raw_model, "Anthropic/ claude-x ");
  EXPECT_EQ(r.body, R"({ "max_tokens" : 8, "model":"claude-x", "t": 1.50, "stream":true })");

  // A name that routes as it is keeps every byte; Gemini's path follows "stream".
  const std::string gemini = R"({"model":"gemini-2.0-flash","stream":true,"contents":[]})";
  r = Unified(gemini);
  checked = CheckUnifiedRequest(r, {});
  ASSERT_THAT(checked, IsOk());
  EXPECT_EQ(checked->provider->name, "google");
  EXPECT_EQ(checked->forward_path, "/v1beta/models/gemini-2.0-flash:streamGenerateContent");
  EXPECT_EQ(r.body, gemini);

  // Through PrepareRequest: the routed path, no client query, the spliced body.
  r = Unified(R"({"model":"groq/llama-3.1-8b","messages":[]})");
  r.query = "x=1";
  checked = CheckUnifiedRequest(r, {});
  ASSERT_THAT(checked, IsOk());
  absl::StatusOr<UpstreamRequest> upstream = PrepareRequest(*checked, Base("https://api.example.com"), r, "gsk_k");
  ASSERT_THAT(upstream, IsOk());
  EXPECT_EQ(upstream->target, "/openai/v1/chat/completions");
  EXPECT_EQ(upstream->body, R"({"model":"llama-3.1-8b","messages":[]})");
  EXPECT_EQ(Header(*upstream, "authorization"), "Bearer gsk_k");
}

TEST(RelayPolicy, ChecksAUnifiedRequestItsCallerRoutedAsBefore) {
  RelayPolicy policy(*PolicyConfig::Load(TestEnv({{"ALLOWED_MODELS", "anthropic/*"}})));
  // Routed by the caller (provider and path set): the body is not routed again.
  ClientRequest routed = Unified(R"({"model":"claude-x"})");
  routed.path = "/v1/messages";
  routed.raw_model = "anthropic/claude-x";
  absl::StatusOr<CheckedRequest> checked = policy.Check("anthropic", routed);
  ASSERT_THAT(checked, IsOk());
  EXPECT_EQ(checked->forward_path, "/v1/messages");
  EXPECT_EQ(routed.body, R"({"model":"claude-x"})");
  // No provider: the relay routes it.
  ClientRequest raw = Unified(R"({"model":"anthropic/claude-x"})");
  checked = policy.Check("", raw);
  ASSERT_THAT(checked, IsOk());
  EXPECT_EQ(checked->provider->name, "anthropic");
  EXPECT_EQ(raw.body, R"({"model":"claude-x"})");
  EXPECT_EQ(checked->logged_model, "anthropic/claude-x");
}

UpstreamRequest Prepare(const char* provider, ClientRequest request, const char* base = "https://api.example.com") {
  absl::StatusOr<CheckedRequest> checked = CheckRequest(provider, request, {});
  EXPECT_THAT(checked, IsOk());
  absl::StatusOr<UpstreamRequest> p = PrepareRequest(*checked, Base(base), std::move(request), "sk-test-key");
  EXPECT_THAT(p, IsOk());
  return p.ok() ? *std::move(p) : UpstreamRequest{};
}

TEST(PrepareRequest, KeyGoesWhereTheProviderWantsItAndClientCredentialsNever) {
  std::vector<http::HeaderField> hostile = {{"content-type", "application/json"},
                                            {"authorization", "Bearer evil"},
                                            {"xi-api-key", "evil"},
                                            {"x-api-key", "evil"},
                                            {"x-goog-api-key", "evil"},
                                            {"cookie", "a=b"},
                                            {"openai-organization", "org"}};
  UpstreamRequest openai = Prepare("openai", Post("v1/chat/completions", "{}", hostile));
  EXPECT_EQ(Header(openai, "authorization"), "Bearer sk-test-key");
  for (const char* dropped : {"xi-api-key", "x-api-key", "x-goog-api-key", "cookie", "openai-organization"}) {
    EXPECT_EQ(Header(openai, dropped), "<absent>") << dropped;
  }
  EXPECT_EQ(Header(Prepare("anthropic", Post("v1/messages", "{}", hostile)), "x-api-key"), "sk-test-key");
  UpstreamRequest google = Prepare("google", Post("v1beta/models/g:generateContent", "{}", hostile));
  EXPECT_EQ(Header(google, "x-goog-api-key"), "sk-test-key");
  EXPECT_EQ(google.target.find("key="), std::string::npos);
  EXPECT_EQ(Header(Prepare("elevenlabs", Post("v1/text-to-speech/v", "{}", hostile)), "xi-api-key"),
            "sk-test-key");
  EXPECT_EQ(Header(Prepare("deepgram", Post("v1/listen", "{}", hostile)), "authorization"), "Token sk-test-key");
  EXPECT_EQ(Header(Prepare("huggingface", Post("models/x", "{}", hostile)), "authorization"),
            "Bearer sk-test-key");
}

TEST(PrepareRequest, AnthropicVersionDefaultsAndBetaPasses) {
  UpstreamRequest p = Prepare("anthropic", Post("v1/messages"));
  EXPECT_EQ(Header(p, "anthropic-version"), "2023-06-01");
  EXPECT_EQ(Header(p, "anthropic-beta"), "<absent>");
  EXPECT_EQ(Header(p, "content-type"), "application/json");
  p = Prepare("anthropic", Post("v1/messages", "{}",
                                {{"content-type", "application/json"},
                                 {"anthropic-version", "2024-01-01\r\nx-evil: 1"},
                                 {"anthropic-beta", "tools-2024"}}));
  EXPECT_EQ(Header(p, "anthropic-version"), "2024-01-01x-evil: 1");  // CR and LF stripped
  EXPECT_EQ(Header(p, "anthropic-beta"), "tools-2024");
  EXPECT_EQ(Header(Prepare("openai", Post("v1/chat/completions", "{}", {{"anthropic-version", "x"}})),
                   "anthropic-version"),
            "<absent>");
}

TEST(PrepareRequest, OpenRouterRefererAndTitle) {
  EXPECT_EQ(Header(Prepare("openrouter", Post("api/v1/chat/completions")), "http-referer"),
            "https://github.com/avikalpg/byok-relay");
  EXPECT_EQ(Header(Prepare("openrouter", Post("api/v1/chat/completions")), "x-title"), "<absent>");
  UpstreamRequest p = Prepare("openrouter", Post("api/v1/chat/completions", "{}",
                                                 {{"x-relay-referer", "https://b.example"},
                                                  {"x-title", "My App"}}));
  EXPECT_EQ(Header(p, "http-referer"), "https://b.example");
  EXPECT_EQ(Header(p, "x-title"), "My App");
  p = Prepare("openrouter", Post("api/v1/chat/completions", "{}",
                                 {{"x-relay-referer", "https://b.example"}, {"http-referer", "https://a.example"}}));
  EXPECT_EQ(Header(p, "http-referer"), "https://a.example");
}

TEST(PrepareRequest, ContentTypeOfRawBodiesIsTheClients) {
  const char* multipart = "multipart/form-data; boundary=xyz";
  EXPECT_EQ(Header(Prepare("openai", Post("v1/chat/completions", "raw", {{"content-type", multipart}})),
                   "content-type"),
            multipart);
  EXPECT_EQ(Header(Prepare("deepgram", Post("v1/listen", "raw", {{"content-type", "audio/wav"}})), "content-type"),
            "audio/wav");
  EXPECT_EQ(Header(Prepare("deepgram", Post("v1/listen", "", {})), "content-type"), "application/json");
  EXPECT_EQ(Header(Prepare("openai", Post("v1/chat/completions", "{}",
                                          {{"content-type", "application/json; charset=latin1"}})),
                   "content-type"),
            "application/json");
}

TEST(PrepareRequest, TargetKeepsTheClientsQueryAndBodyBytes) {
  ClientRequest r = Post("v1/listen", std::string("audio\0\xff\r\n", 9), {{"content-type", "audio/wav"}});
  r.query = "model=nova-2&smart_format=true";
  UpstreamRequest p = Prepare("deepgram", r, "https://api.example.com/base");
  EXPECT_EQ(p.target, "/base/v1/listen?model=nova-2&smart_format=true");
  EXPECT_EQ(p.body, r.body);
  EXPECT_TRUE(FindProvider("deepgram")->binary_responses);  // its answers pass as bytes

  r = Post("v1/listen%3Fmodel=nova-2");
  r.query = "x=1";
  EXPECT_EQ(Prepare("deepgram", r).target, "/v1/listen?model=nova-2&x=1");

  // Gemini: a client key= is dropped; "stream" paths get alt=sse unless alt is given.
  r = Post("v1beta/models/g:streamGenerateContent");
  r.query = "key=leak&x=1";
  EXPECT_EQ(Prepare("google", r).target, "/v1beta/models/g:streamGenerateContent?x=1&alt=sse");
  r.query = "alt=json";
  EXPECT_EQ(Prepare("google", r).target, "/v1beta/models/g:streamGenerateContent?alt=json");
  EXPECT_EQ(Prepare("google", Post("v1beta/models/g:generateContent")).target, "/v1beta/models/g:generateContent");
}

TEST(PrepareRequest, AKeyThatCouldSplitAHeaderIsRefusedWithoutShowingIt) {
  ClientRequest r = Post("v1/chat/completions");
  absl::StatusOr<CheckedRequest> checked = CheckRequest("openai", r, {});
  ASSERT_THAT(checked, IsOk());
  absl::StatusOr<UpstreamRequest> p =
      PrepareRequest(*checked, Base("https://api.example.com"), r, "sk-abc\r\nx-evil: 1");
  ASSERT_THAT(p, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(p.status().message().find("sk-abc"), absl::string_view::npos);
}

TEST(RelayPolicy, OpenAiCompatibleBaseUrlChecksInOrder) {
  RelayPolicy strict(*PolicyConfig::Load(TestEnv({})));
  const ProviderSpec& oc = *FindProvider("openai-compatible");
  absl::StatusOr<ResolvedBaseUrl> b = strict.ResolveBaseUrl(oc, "", "");
  ASSERT_THAT(b, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(b.status().message(), kBaseUrlRequired);
  b = strict.ResolveBaseUrl(oc, "https://llm.example.com/v1?x", "");
  ASSERT_THAT(b, IsOk());
  EXPECT_TRUE(b->check_addresses);
  EXPECT_EQ(b->url.base_path, "");
  b = strict.ResolveBaseUrl(oc, "https://10.0.0.1", "");
  EXPECT_EQ(b.status().message(), kBaseUrlPrivateIp);
  // Other providers ignore x-relay-base-url.
  b = strict.ResolveBaseUrl(*FindProvider("openai"), "https://10.0.0.1", "");
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(b->url.host, "api.openai.com");
  EXPECT_FALSE(b->check_addresses);
}

TEST(PrepareKeyCheckRequest, UsesTheVerificationTargets) {
  absl::StatusOr<UpstreamRequest> p =
      PrepareKeyCheckRequest(*FindProvider("groq"), Base("https://api.groq.com"), "gsk_x");
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->method, "GET");
  EXPECT_EQ(p->target, "/openai/v1/models");
  EXPECT_EQ(Header(*p, "authorization"), "Bearer gsk_x");
  p = PrepareKeyCheckRequest(*FindProvider("anthropic"), Base("https://api.anthropic.com"), "sk-ant-x");
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(Header(*p, "anthropic-version"), "2023-06-01");
  EXPECT_THAT(PrepareKeyCheckRequest(*FindProvider("deepgram"), Base("https://api.deepgram.com"), "k"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

}  // namespace
}  // namespace byok::relay

namespace byok::relay {
namespace {

// The original's test-only override (compat.md §4): only under NODE_ENV=test, only for a request that
// presents the token, for every provider, after x-relay-base-url's own checks; the token header never
// goes upstream.
TEST(TestUpstreamOverride, RedirectsOnlyTestRequestsThatPresentTheToken) {
  const absl::flat_hash_map<std::string, std::string> vars = {
      {"NODE_ENV", "test"},
      {"E2E_OPENAI_COMPATIBLE_BASE_URL", "http://127.0.0.1:4010/mock"},
      {"E2E_OPENAI_COMPATIBLE_BASE_URL_TOKEN", "e2e-token-123"}};
  absl::StatusOr<RelayPolicy> policy = RelayPolicy::FromEnv(TestEnv(vars));
  ASSERT_THAT(policy, IsOk());
  auto prepare = [&](const char* provider, const char* path, std::vector<http::HeaderField> headers,
                     const char* client_base_url = "") {
    ClientRequest request = Post(path, "{}", std::move(headers));
    absl::StatusOr<CheckedRequest> checked = policy->Check(provider, request);
    EXPECT_THAT(checked, IsOk());
    return policy->Prepare(*checked, std::move(request), "sk-test-key", client_base_url, "");
  };

  absl::StatusOr<UpstreamRequest> p =
      prepare("anthropic", "v1/messages", {{"x-relay-e2e-base-url-token", "e2e-token-123"}});
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->host, "127.0.0.1");
  EXPECT_EQ(p->port, 4010);
  EXPECT_EQ(p->target, "/mock/v1/messages");
  EXPECT_FALSE(p->tls);
  for (const auto& [name, value] : p->headers) EXPECT_NE(name, "x-relay-e2e-base-url-token");

  p = prepare("openai", "v1/chat/completions", {{"x-relay-e2e-base-url-token", "e2e-token-12"}});
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->host, "api.openai.com");
  p = prepare("openai", "v1/chat/completions", {});
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->host, "api.openai.com");

  // openai-compatible: x-relay-base-url is still checked first.
  EXPECT_THAT(prepare("openai-compatible", "v1/chat/completions",
                      {{"x-relay-e2e-base-url-token", "e2e-token-123"}}, "http://example.com"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  p = prepare("openai-compatible", "v1/chat/completions", {{"x-relay-e2e-base-url-token", "e2e-token-123"}},
              "https://llm.example.com");
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->host, "127.0.0.1");
  EXPECT_FALSE(p->address_guard);  // no address check

  // Anywhere but NODE_ENV=test the variables do nothing.
  for (const char* node_env : {"production", "development", ""}) {
    absl::flat_hash_map<std::string, std::string> other = vars;
    other["NODE_ENV"] = node_env;
    absl::StatusOr<PolicyConfig> config = PolicyConfig::Load(TestEnv(other));
    ASSERT_THAT(config, IsOk());
    EXPECT_FALSE(config->test_upstream_override.has_value()) << node_env;
  }
}

}  // namespace
}  // namespace byok::relay
