// The relay end to end: real byok-vaultd and byok-relayd processes, real gRPC channels, the fake AI
// provider on loopback standing in for every provider.
#include <grpcpp/client_context.h>

#include <memory>
#include <string>
#include <ostream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/relay/relay_daemons.h"
#include "tests/relay/relay_suite.h"
#include "tests/testing/fake_provider/fake_provider.h"
#include "tests/testing/case_name.h"

namespace byok::relay::testing {
namespace {

using ::byok::testing::RecordedRequest;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr absl::Duration kWait = absl::Seconds(10);
constexpr char kHostile[] = "hostile-client-credential";

std::string Chat(absl::string_view model, bool stream) {
  return absl::StrCat(R"({"model":")", model, R"(","stream":)", stream ? "true" : "false",
                      R"(,"messages":[{"role":"user","content":"hi"}]})");
}

// One vault, one fake provider and one relay pointing every provider at the fake, for each test.
class RelayEndToEndTest : public RelayDaemonsTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StartWithVault({{"BYOK_UPSTREAM_HEADERS_TIMEOUT_MS", "700"},
                                            {"BYOK_UPSTREAM_IDLE_TIMEOUT_MS", "2000"}}));
  }

  std::string Token(const std::string& provider, const std::string& key) {
    auto token = vault().CreateUserWithKey(provider, key);
    EXPECT_TRUE(token.ok()) << token.status();
    return token.ok() ? *token : "";
  }
};

// How one provider expects its key, and a request it serves.
struct KeyCase {
  std::string provider;
  std::string path;
  std::string body;
  std::string key_header;
  std::string key_prefix;
  std::string expect_in_body;
};
void PrintTo(const KeyCase& c, std::ostream* os) { *os << ::byok::testing::CaseName(c.provider); }

class ProviderKeyTest : public RelayEndToEndTest, public ::testing::WithParamInterface<KeyCase> {};

TEST_P(ProviderKeyTest, KeyArrivesAsTheProviderExpectsAndNeverInTheUrl) {
  const KeyCase& c = GetParam();
  const std::string key = absl::StrCat("sk-", c.provider, "-0123456789abcdef");
  const std::string token = Token(c.provider, key);
  RelayResult result = RunRelay(
      relay().stub(),
      MakeRequest(token, c.provider, c.path, c.body,
                  {{"content-type", "application/json"},
                   {"authorization", absl::StrCat("Bearer ", kHostile)},
                   {"x-api-key", kHostile},
                   {"x-goog-api-key", kHostile},
                   {"xi-api-key", kHostile},
                   {"cookie", absl::StrCat("session=", kHostile)}}));
  ASSERT_TRUE(result.status.ok())
      << "code " << result.status.error_code() << ": " << result.status.error_message();
  ASSERT_TRUE(result.has_head);
  EXPECT_EQ(result.head.status(), 200) << result.body;
  EXPECT_THAT(result.body, HasSubstr(c.expect_in_body));
  if (result.head.has_content_length()) {
    // A small answer of declared length comes whole, with its head, in one message.
    EXPECT_EQ(result.head.content_length(), static_cast<int64_t>(result.body.size()));
    EXPECT_EQ(result.pieces, 1);
  }

  std::optional<RecordedRequest> seen = fake().WaitForRequest(kWait);
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->Header(c.key_header), c.key_prefix + key);
  EXPECT_EQ(seen->HeaderCount(c.key_header), 1);
  EXPECT_THAT(seen->target, Not(HasSubstr(key)));
  EXPECT_THAT(seen->target, Not(HasSubstr("key=")));
  for (const auto& [name, value] : seen->headers) {
    EXPECT_THAT(value, Not(HasSubstr(kHostile))) << "header " << name << " reached upstream";
    if (name != c.key_header) {
      EXPECT_THAT(value, Not(HasSubstr(key))) << name;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllProviders, ProviderKeyTest,
    ::testing::Values(
        KeyCase{"anthropic", "/v1/messages", Chat("claude-3-5-sonnet", true), "x-api-key", "",
                "event: message_stop"},
        KeyCase{"openai", "/v1/chat/completions", Chat("gpt-4o", true), "authorization",
                "Bearer ", "data: [DONE]"},
        KeyCase{"google",
                "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse&key=in-the-url",
                R"({"contents":[{"parts":[{"text":"hi"}]}]})", "x-goog-api-key", "",
                "candidates"},
        KeyCase{"groq", "/openai/v1/chat/completions", Chat("llama-3.1-8b", false), "authorization",
                "Bearer ", "chat.completion"},
        KeyCase{"openrouter", "/api/v1/chat/completions", Chat("openai/gpt-4o", true),
                "authorization", "Bearer ", "data: [DONE]"},
        KeyCase{"mistral", "/v1/chat/completions", Chat("mistral-large", false), "authorization",
                "Bearer ", "chat.completion"},
        KeyCase{"huggingface", "/models/meta-llama/Llama-3/v1/chat/completions",
                Chat("meta-llama/Llama-3", false), "authorization", "Bearer ", "chat.completion"},
        KeyCase{"elevenlabs", "/v1/text-to-speech/voice123", R"({"text":"hi"})", "xi-api-key",
                "", ""},
        KeyCase{"deepgram", "/v1/listen?model=nova-2", R"({"url":"https://example.test/a.wav"})",
                "authorization", "Token ", "transcript"},
        KeyCase{"openai-compatible", "/v1/chat/completions", Chat("llama3", true),
                "authorization", "Bearer ", "data: [DONE]"}),
    [](const ::testing::TestParamInfo<KeyCase>& param_info) {
      std::string name = param_info.param.provider;
      for (char& ch : name) {
        if (ch == '-') ch = '_';
      }
      return name;
    });

TEST_F(RelayEndToEndTest, BinaryAudioArrivesByteForByte) {
  const std::string token = Token("elevenlabs", "sk-audio-0123456789");
  RelayResult result =
      RunRelay(relay().stub(), MakeRequest(token, "elevenlabs", "/v1/text-to-speech/voice123",
                                           R"({"text":"hi","model_id":"eleven_turbo_v2"})"));
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.Header("content-type"), "audio/mpeg");
  ASSERT_EQ(result.body.size(), 4u * 16 * 1024);
  for (size_t i = 0; i < result.body.size(); ++i) {
    ASSERT_EQ(static_cast<unsigned char>(result.body[i]), i * 7 % 256) << "byte " << i;
  }
}

TEST_F(RelayEndToEndTest, SsePiecesArriveBeforeTheProviderFinishes) {
  const std::string token = Token("openai", "sk-stream-0123456789");
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(15)));
  auto reader = relay().stub().Relay(
      &context, MakeRequest(token, "openai", "/v1/chat/completions", Chat("fake-hold", true)));
  v1::RelayResponse message;
  // The provider is holding its stream open after the first event; that event is already here, in
  // the same message as the head.
  ASSERT_TRUE(reader->Read(&message));
  ASSERT_TRUE(message.has_head());
  EXPECT_EQ(message.head().status(), 200);
  EXPECT_FALSE(message.head().has_content_length());
  EXPECT_THAT(message.body(), HasSubstr("Hello"));
  EXPECT_THAT(message.body(), Not(HasSubstr("[DONE]")));
  fake().Release();
  std::string rest;
  while (reader->Read(&message)) rest += message.body();
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_THAT(rest, HasSubstr("data: [DONE]"));
}

TEST_F(RelayEndToEndTest, CancellingTheCallClosesTheProviderConnection) {
  const std::string token = Token("anthropic", "sk-cancel-0123456789");
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(15)));
  auto reader = relay().stub().Relay(
      &context, MakeRequest(token, "anthropic", "/v1/messages", Chat("fake-slow-1000-20", true)));
  v1::RelayResponse message;
  ASSERT_TRUE(reader->Read(&message));  // head
  ASSERT_TRUE(reader->Read(&message));  // first event
  const absl::Time cancelled_at = absl::Now();
  context.TryCancel();
  std::optional<absl::Time> closed_at = fake().WaitForClientClosed(kWait);
  ASSERT_TRUE(closed_at.has_value());
  EXPECT_LT(*closed_at - cancelled_at, absl::Milliseconds(100));
  while (reader->Read(&message)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(RelayEndToEndTest, HeadersTimeoutIsDeadlineExceeded) {
  const std::string token = Token("openai", "sk-timeout");
  RelayResult result = RunRelay(relay().stub(), MakeRequest(token, "openai", "/v1/chat/completions",
                                                            Chat("fake-stall-headers", true)));
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_THAT(result.status.error_message(), HasSubstr("response headers"));
  EXPECT_FALSE(result.has_head);
}

TEST_F(RelayEndToEndTest, StalledStreamIsCutWithDeadlineExceeded) {
  const std::string token = Token("openai", "sk-stall-0123456789");
  RelayResult result = RunRelay(relay().stub(), MakeRequest(token, "openai", "/v1/chat/completions",
                                                            Chat("fake-stall-body", true)));
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_THAT(result.status.error_message(), HasSubstr("stalled"));
  EXPECT_TRUE(result.has_head);
  EXPECT_THAT(result.body, HasSubstr("Hello"));
}

TEST_F(RelayEndToEndTest, BrokenStreamIsAborted) {
  const std::string token = Token("openai", "sk-break-0123456789");
  RelayResult result = RunRelay(
      relay().stub(), MakeRequest(token, "openai", "/v1/chat/completions", Chat("fake-break", true)));
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_THAT(result.body, HasSubstr("Hello"));
}

TEST_F(RelayEndToEndTest, ASmallWholeAnswerIsOneMessageWithItsDeclaredLength) {
  const std::string token = Token("openai", "sk-whole-0123456789");
  RelayResult result = RunRelay(relay().stub(), MakeRequest(token, "openai", "/v1/chat/completions",
                                                            Chat("gpt-4o", false)));
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.head.status(), 200);
  ASSERT_TRUE(result.head.has_content_length());
  EXPECT_EQ(result.head.content_length(), static_cast<int64_t>(result.body.size()));
  EXPECT_THAT(result.body, HasSubstr("chat.completion"));
  EXPECT_EQ(result.messages, 1);
}

TEST_F(RelayEndToEndTest, ProviderErrorsPassThroughWithUsefulHeaders) {
  const std::string token = Token("openai", "sk-429-0123456789");
  RelayResult result = RunRelay(relay().stub(), MakeRequest(token, "openai", "/v1/chat/completions",
                                                            Chat("fake-429", false)));
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.head.status(), 429);
  EXPECT_EQ(result.Header("retry-after"), "7");
  EXPECT_EQ(result.Header("x-ratelimit-remaining-requests"), "0");
  EXPECT_THAT(result.body, HasSubstr("Rate limit"));
}

TEST_F(RelayEndToEndTest, WrongKeyGetsTheProviders401) {
  fake().SetAcceptedKeys({"sk-the-right-one"});
  const std::string token = Token("openai", "sk-the-wrong-one");
  RelayResult result = RunRelay(relay().stub(), MakeRequest(token, "openai", "/v1/chat/completions",
                                                            Chat("gpt-4o", false)));
  fake().SetAcceptedKeys({});
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.head.status(), 401);
}

TEST_F(RelayEndToEndTest, RefusesWithoutAStoredKeyOrAValidToken) {
  const std::string token = Token("openai", "sk-only-openai");
  RelayResult no_key = RunRelay(relay().stub(), MakeRequest(token, "anthropic", "/v1/messages",
                                                            Chat("claude", false)));
  EXPECT_EQ(no_key.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(no_key.status.error_message(),
            "No API key stored for provider \"anthropic\". POST /keys/anthropic first.");
  RelayResult bad_token = RunRelay(relay().stub(),
                                   MakeRequest(std::string(64, 'a'), "openai",
                                               "/v1/chat/completions", Chat("gpt-4o", false)));
  EXPECT_EQ(bad_token.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  RelayResult unknown = RunRelay(relay().stub(),
                                 MakeRequest(token, "nope", "/v1/chat/completions", "{}"));
  EXPECT_EQ(unknown.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(unknown.status.error_message(), "Unsupported provider: nope");
  EXPECT_FALSE(fake().WaitForRequest(absl::ZeroDuration()).has_value());
}

TEST_F(RelayEndToEndTest, UnifiedRequestGoesToItsPathWithTheRawModelChecked) {
  const std::string token = Token("anthropic", "sk-unified");
  v1::RelayRequest request =
      MakeRequest(token, "anthropic", "/v1/messages", Chat("claude-3-5-sonnet", true));
  request.set_unified(true);
  request.set_model("anthropic/claude-3-5-sonnet");
  RelayResult result = RunRelay(relay().stub(), request);
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.head.status(), 200);
  EXPECT_EQ(result.Header("content-type"), "text/event-stream");
  std::optional<RecordedRequest> seen = fake().WaitForRequest(kWait);
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->target, "/v1/messages");
  EXPECT_EQ(seen->body, Chat("claude-3-5-sonnet", true));
}

TEST_F(RelayEndToEndTest, CheckKeyAndDescribeRoutes) {
  fake().SetAcceptedKeys({"sk-good"});
  for (const auto& [key, valid] : {std::pair{"sk-good", true}, std::pair{"sk-bad", false}}) {
    grpc::ClientContext c;
    v1::CheckKeyRequest check;
    check.set_provider("openai");
    check.set_key(key);
    v1::CheckKeyResponse answer;
    grpc::Status s = relay().stub().CheckKey(&c, check, &answer);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(answer.valid(), valid) << key;
    EXPECT_EQ(answer.status(), valid ? 200 : 401);
    if (!valid) {
      EXPECT_THAT(answer.body_start(), HasSubstr("Incorrect API key"));
    }
  }
  fake().SetAcceptedKeys({});
  auto check_seen = fake().WaitForRequest(kWait);
  ASSERT_TRUE(check_seen.has_value());
  EXPECT_EQ(check_seen->method, "GET");
  EXPECT_EQ(check_seen->target, "/v1/models");

  grpc::ClientContext c3;
  v1::DescribeRoutesResponse routes;
  ASSERT_TRUE(relay().stub().DescribeRoutes(&c3, {}, &routes).ok());
  EXPECT_EQ(routes.providers_size(), 10);
  ASSERT_EQ(routes.routes_size(), 9);
  EXPECT_EQ(routes.routes(2).pattern(), "^claude-");

  // A provider without a verification endpoint is accepted unchecked.
  while (fake().WaitForRequest(absl::ZeroDuration()).has_value()) {
  }
  grpc::ClientContext c4;
  v1::CheckKeyRequest unchecked;
  unchecked.set_provider("deepgram");
  unchecked.set_key("dg-anything-at-all");
  v1::CheckKeyResponse unchecked_answer;
  ASSERT_TRUE(relay().stub().CheckKey(&c4, unchecked, &unchecked_answer).ok());
  EXPECT_TRUE(unchecked_answer.valid());
  EXPECT_TRUE(unchecked_answer.skipped());
  EXPECT_FALSE(fake().WaitForRequest(absl::ZeroDuration()).has_value());
  // Every provider is overridden to the fake here; DescribeRoutes still shows only public URLs.
  for (const auto& p : routes.providers()) {
    EXPECT_NE(p.base_url(), fake().base_url()) << p.name();
    // openai-compatible has no default: its base URL comes with each key or request.
    if (p.name() != "openai-compatible") {
      EXPECT_THAT(p.base_url(), ::testing::StartsWith("https://")) << p.name();
    }
  }
}

}  // namespace
}  // namespace byok::relay::testing
