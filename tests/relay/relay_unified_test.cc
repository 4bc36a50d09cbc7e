// The unified route (POST /relay) routed by the relay itself: a RelayRequest with unified=true, no
// provider and the client's body reaches the provider with the routed model and path, and every refusal
// comes from the relay in the original's order (compat.md §3.14). Real byok-vaultd and byok-relayd, the
// fake provider on loopback.
#include <grpcpp/client_context.h>

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/relay/relay_daemons.h"
#include "tests/relay/relay_suite.h"
#include "tests/testing/fake_provider/fake_provider.h"

namespace byok::relay::testing {
namespace {

using ::byok::testing::FakeProvider;
using ::byok::testing::RecordedRequest;

constexpr char kAllowedModels[] = "anthropic/*,gpt-4o*,gemini-*";
constexpr char kModelRequired[] =
    "model field is required. Use \"provider/model-name\" (e.g. \"anthropic/claude-3-5-haiku\") or a recognised "
    "model name (e.g. \"gpt-4o\"). See GET /models for the full routing table.";

// A unified request as the gateway now sends it: no provider, no path, no model; the body as sent.
v1::RelayRequest Unified(const std::string& token, const std::string& body) {
  v1::RelayRequest r = MakeRequest(token, "", "", body, {{"content-type", "application/json"}});
  r.set_unified(true);
  return r;
}

// A failed call's status with the ALLOWED_MODELS trailer the relay sends beside a refused model.
struct Refusal {
  grpc::Status status;
  std::string allowed_models;  // the trailer's value, "" when absent
};

Refusal RunForTrailer(v1::Relay::Stub& stub, const v1::RelayRequest& request) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(15));
  auto reader = stub.Relay(&context, request);
  v1::RelayResponse message;
  while (reader->Read(&message)) {
  }
  Refusal r;
  r.status = reader->Finish();
  const auto& trailers = context.GetServerTrailingMetadata();
  auto it = trailers.find("byok-allowed-models");
  if (it != trailers.end()) r.allowed_models = std::string(it->second.data(), it->second.size());
  return r;
}

// The shared relay fixture (relay_daemons.h), with ALLOWED_MODELS set so the relay's own model
// check can refuse.
class RelayUnifiedTest : public RelayDaemonsTest {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(StartWithVault({{"ALLOWED_MODELS", kAllowedModels}})); }
  std::string Token(const std::string& provider) {
    auto token = vault().CreateUserWithKey(provider, absl::StrCat("sk-", provider, "-unified-0123"));
    EXPECT_TRUE(token.ok()) << token.status();
    return token.ok() ? *token : "";
  }
};

TEST_F(RelayUnifiedTest, TheRelayRoutesTheRawBody) {
  const std::string token = Token("anthropic");
  RelayResult result = RunRelay(
      relay().stub(), Unified(token, R"({ "max_tokens" : 8, "model":"Anthropic/claude-3-5-haiku-x", "t": 1.50 })"));
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.head.status(), 200);
  std::optional<RecordedRequest> seen = fake().WaitForRequest(absl::Seconds(10));
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->target, "/v1/messages");
  // Only the model's bytes changed.
  EXPECT_EQ(seen->body, R"({ "max_tokens" : 8, "model":"claude-3-5-haiku-x", "t": 1.50 })");
  EXPECT_EQ(seen->Header("x-api-key").value_or(""), "sk-anthropic-unified-0123");
  EXPECT_EQ(seen->Header("anthropic-version").value_or(""), "2023-06-01");

  // Gemini: the dynamic path, streamed for "stream": true; a name that routes as it is keeps its bytes.
  const std::string google = Token("google");
  const std::string body = R"({"model":"gemini-2.0-flash","stream":true,"contents":[]})";
  result = RunRelay(relay().stub(), Unified(google, body));
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.Header("content-type"), "text/event-stream");
  seen = fake().WaitForRequest(absl::Seconds(10));
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->target, "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse");
  EXPECT_EQ(seen->body, body);
}

TEST_F(RelayUnifiedTest, RefusalsComeFromTheRelayInTheOriginalsOrder) {
  const std::string token = Token("openai");  // no anthropic key
  const std::string cannot_route_tail =
      "\". Use \"provider/model-name\" format or a recognised model name. Supported providers: anthropic, openai, "
      "google, groq, openrouter, mistral, elevenlabs, huggingface, deepgram, openai-compatible. See GET /models "
      "for the full routing table.";
  // 1. No token, whatever the body.
  Refusal r = RunForTrailer(relay().stub(), Unified("", "{oops"));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  // 3. Model missing (an unroutable, unlisted model elsewhere in the body does not matter).
  for (const char* body : {"{}", R"({"model":null,"x":{"model":"o3"}})", R"({"model":""})"}) {
    r = RunForTrailer(relay().stub(), Unified(token, body));
    EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << body;
    EXPECT_EQ(r.status.error_message(), kModelRequired) << body;
  }
  // 4. Cannot route, before the allowlist ("o3" is not allowed either).
  r = RunForTrailer(relay().stub(), Unified(token, R"({"model":"o3"})"));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(r.status.error_message(), absl::StrCat("Cannot route model \"o3", cannot_route_tail));
  r = RunForTrailer(relay().stub(), Unified(token, R"({"model":["gpt-4o"]})"));
  EXPECT_EQ(r.status.error_message(), absl::StrCat("Cannot route model \"gpt-4o", cannot_route_tail));
  // 5. The raw string against ALLOWED_MODELS, before the key: "openai/gpt-4o" routes to gpt-4o, which
  // is listed, but the raw string is not; no anthropic key either.
  for (const char* model : {"openai/gpt-4o", "claude-3-5-haiku"}) {
    r = RunForTrailer(relay().stub(), Unified(token, absl::StrCat(R"({"model":")", model, R"("})")));
    EXPECT_EQ(r.status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << model;
    EXPECT_EQ(r.status.error_message(), absl::StrCat("Model \"", model, "\" is not permitted on this relay."));
    EXPECT_EQ(nlohmann::json::parse(r.allowed_models, nullptr, false),
              nlohmann::json({"anthropic/*", "gpt-4o*", "gemini-*"}))
        << r.allowed_models;
  }
  // 6. No key stored for the routed provider.
  r = RunForTrailer(relay().stub(), Unified(token, R"({"model":"anthropic/claude-3-5-haiku"})"));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(r.status.error_message(), "No API key stored for provider \"anthropic\". POST /keys/anthropic first.");
  EXPECT_EQ(r.allowed_models, "");
  EXPECT_FALSE(fake().WaitForRequest(absl::ZeroDuration()).has_value());
  // 7. Forwarded.
  RelayResult ok = RunRelay(relay().stub(), Unified(token, R"({"model":"gpt-4o-mini","messages":[]})"));
  ASSERT_TRUE(ok.status.ok()) << ok.status.error_message();
  std::optional<RecordedRequest> seen = fake().WaitForRequest(absl::Seconds(10));
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->target, "/v1/chat/completions");
  EXPECT_EQ(seen->body, R"({"model":"gpt-4o-mini","messages":[]})");
}

}  // namespace
}  // namespace byok::relay::testing
