#include "services/relay/policy/model_policy.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <ostream>

#include "absl/strings/str_cat.h"
#include "services/relay/policy/relay_policy.h"
#include "tests/relay/policy/test_env.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/case_name.h"

namespace byok::relay {
namespace {

using ::byok::testing::IsOk;
using ::byok::testing::StatusIs;

constexpr absl::StatusCode kDenied = absl::StatusCode::kPermissionDenied;
constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;

TEST(ValidateModelName, AcceptsRealNames) {
  for (const char* ok : {"gpt-4o", "claude-3-5-sonnet-20241022", "meta-llama/Llama-3.1-8B-Instruct",
                         "llama3.2:latest", "anthropic/claude-3.5-sonnet:beta", "gemini-2.0-flash",
                         "accounts/fireworks/models/llama-v3", "model@2024+x", "o1"}) {
    EXPECT_THAT(ValidateModelName(ok), IsOk()) << ok;
  }
}

TEST(ValidateModelName, RefusesWhatCouldTouchAPath) {
  for (std::string bad : {std::string(""), std::string("../admin"), std::string("a/../b"), std::string(".."),
                          std::string("a..b"), std::string("a?b"), std::string("a#b"), std::string("a b"),
                          std::string("/x"), std::string("x/"), std::string("a//b"), std::string("a\\b"),
                          std::string("a%2e"), std::string("a\nb"), std::string("a\0b", 3), std::string("a&b"),
                          std::string("a=b"), std::string("caf\xc3\xa9"), std::string(kMaxModelLength + 1, 'a')}) {
    EXPECT_THAT(ValidateModelName(bad), StatusIs(kInvalid)) << bad;
  }
  EXPECT_THAT(ValidateModelName(std::string(kMaxModelLength, 'a')), IsOk());
  EXPECT_THAT(ValidatePathModelName("gemini-1.5-pro-002"), IsOk());
  for (const char* bad : {"models/x", "x:generateContent", "a@b", "a+b"}) {
    EXPECT_THAT(ValidatePathModelName(bad), StatusIs(kInvalid)) << bad;
  }
}

TEST(WildcardMatch, MatchesRuns) {
  EXPECT_TRUE(WildcardMatch("gpt-4o*", "gpt-4o"));
  EXPECT_TRUE(WildcardMatch("gpt-4o*", "gpt-4o-mini"));
  EXPECT_FALSE(WildcardMatch("gpt-4o*", "gpt-4"));
  EXPECT_TRUE(WildcardMatch("*", ""));
  EXPECT_TRUE(WildcardMatch("*-mini", "o4-mini"));
  EXPECT_TRUE(WildcardMatch("a*b*c", "aXXbYYbc"));
  EXPECT_FALSE(WildcardMatch("a*b*c", "aXXbYY"));
  EXPECT_FALSE(WildcardMatch("claude-*", "Claude-3"));
  EXPECT_TRUE(WildcardMatch("exact", "exact"));
  EXPECT_FALSE(WildcardMatch("exact", "exactly"));
  EXPECT_TRUE(WildcardMatch("**x", "abx"));
}

TEST(ModelAllowlist, ParsesAndChecks) {
  absl::StatusOr<ModelAllowlist> list = ModelAllowlist::Parse(" gpt-4o*, claude-*,,openrouter/* ");
  ASSERT_THAT(list, IsOk());
  EXPECT_EQ(list->patterns(), (std::vector<std::string>{"gpt-4o*", "claude-*", "openrouter/*"}));
  EXPECT_THAT(list->Check("openai", "gpt-4o-mini"), IsOk());
  EXPECT_THAT(list->Check("anthropic", "claude-3-haiku"), IsOk());
  EXPECT_THAT(list->Check("openrouter", "meta-llama/llama-3"), IsOk());
  EXPECT_THAT(list->Check("openai", "gpt-3.5-turbo"), StatusIs(kDenied));
  // When the model cannot be determined the allowlist refuses rather than lets it through.
  EXPECT_THAT(list->Check("openai", std::nullopt), StatusIs(kDenied));

  ModelAllowlist none;
  EXPECT_TRUE(none.empty());
  EXPECT_THAT(none.Check("openai", std::nullopt), IsOk());
  EXPECT_THAT(none.Check("openai", "anything"), IsOk());

  EXPECT_TRUE(ModelAllowlist::Parse("")->empty());
  EXPECT_TRUE(ModelAllowlist::Parse(" , ")->empty());
  EXPECT_THAT(ModelAllowlist::Parse("gpt 4"), StatusIs(kInvalid));
  EXPECT_THAT(ModelAllowlist::Parse("gpt-4?"), StatusIs(kInvalid));
}

TEST(ModelFromJson, ReadsTopLevelStringOnly) {
  EXPECT_EQ(*ModelFromJson(R"({"model":"gpt-4o","messages":[]})", "model"), "gpt-4o");
  EXPECT_EQ(*ModelFromJson(R"({"messages":[{"model":"x"}]})", "model"), std::nullopt);
  EXPECT_EQ(*ModelFromJson(R"({"a":{"model":"x"}})", "model"), std::nullopt);
  EXPECT_EQ(*ModelFromJson("not json", "model"), std::nullopt);
  EXPECT_EQ(*ModelFromJson(R"(["model"])", "model"), std::nullopt);
  EXPECT_EQ(*ModelFromJson("", "model"), std::nullopt);
  EXPECT_EQ(*ModelFromJson(R"({"model_id":"eleven"})", "model_id"), "eleven");
  EXPECT_THAT(ModelFromJson(R"({"model":1})", "model"), StatusIs(kInvalid));
  EXPECT_THAT(ModelFromJson(R"({"model":null})", "model"), StatusIs(kInvalid));
  // Parsers disagree on which duplicate wins: a body naming the model twice is refused.
  EXPECT_THAT(ModelFromJson(R"({"model":"gpt-4o-mini","model":"o1-pro"})", "model"), StatusIs(kInvalid));
}

std::string Multipart(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string body;
  for (const auto& [name, value] : fields) {
    absl::StrAppend(&body, "--XyZ\r\nContent-Disposition: form-data; name=\"", name, "\"\r\n\r\n", value, "\r\n");
  }
  absl::StrAppend(&body, "--XyZ--\r\n");
  return body;
}

constexpr absl::string_view kMultipartType = "multipart/form-data; boundary=XyZ";

TEST(ModelFromMultipart, ReadsTheModelField) {
  EXPECT_EQ(*ModelFromMultipart(kMultipartType, Multipart({{"file", "RIFF..."}, {"model", "whisper-1"}}), "model"),
            "whisper-1");
  EXPECT_EQ(*ModelFromMultipart("multipart/form-data; boundary=\"XyZ\"", Multipart({{"model", "whisper-1"}}), "model"),
            "whisper-1");
  EXPECT_EQ(*ModelFromMultipart(kMultipartType, Multipart({{"file", "x"}}), "model"), std::nullopt);
  EXPECT_THAT(ModelFromMultipart(kMultipartType, Multipart({{"model", "a"}, {"model", "b"}}), "model"),
              StatusIs(kInvalid));
  EXPECT_THAT(ModelFromMultipart("multipart/form-data", Multipart({{"model", "a"}}), "model"), StatusIs(kInvalid));
  // A field the structured read cannot account for (another case, a filename) is ambiguous, not ignored.
  EXPECT_THAT(ModelFromMultipart(kMultipartType, Multipart({{"Model", "gpt-4o"}}), "model"), StatusIs(kInvalid));
  std::string hidden = "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\n"
                       "junk\r\n--XyZ\nContent-Disposition: form-data; name=\"model\"\n\nwhisper-2\r\n--XyZ--\r\n";
  EXPECT_THAT(ModelFromMultipart(kMultipartType, hidden, "model"), StatusIs(kInvalid));
}

TEST(ModelFromUrlEncoded, ReadsTheModelField) {
  EXPECT_EQ(*ModelFromUrlEncoded("model=gpt-4o&x=1", "model"), "gpt-4o");
  EXPECT_EQ(*ModelFromUrlEncoded("mo%64el=gpt-4o", "model"), "gpt-4o");
  EXPECT_EQ(*ModelFromUrlEncoded("x=1", "model"), std::nullopt);
  EXPECT_THAT(ModelFromUrlEncoded("model=a&model=b", "model"), StatusIs(kInvalid));
  EXPECT_THAT(ModelFromUrlEncoded("model=%zz", "model"), StatusIs(kInvalid));
}

TEST(ModelFromGeminiPath, ReadsTheSegment) {
  EXPECT_EQ(ModelFromGeminiPath("/v1beta/models/gemini-2.0-flash:generateContent"), "gemini-2.0-flash");
  EXPECT_EQ(ModelFromGeminiPath("/v1/models/gemini-pro:streamGenerateContent"), "gemini-pro");
  EXPECT_EQ(ModelFromGeminiPath("/v1beta/models/:generateContent"), std::nullopt);
  EXPECT_EQ(ModelFromGeminiPath("/v1beta/models/x"), std::nullopt);
  EXPECT_EQ(ModelFromGeminiPath("/v1beta/tunedModels/x:generateContent"), std::nullopt);
}

RelayPolicy WithAllowlist(std::string allowed) {
  return *RelayPolicy::FromEnv(TestEnv({{"ALLOWED_MODELS", std::move(allowed)}}));
}

struct AllowlistCase {
  std::string name;
  std::string provider;
  std::string path;
  std::string content_type;
  std::string body;
  absl::StatusCode code;
};
void PrintTo(const AllowlistCase& c, std::ostream* os) { *os << ::byok::testing::CaseName(c.name); }

class AllowlistEnforced : public ::testing::TestWithParam<AllowlistCase> {};

// ALLOWED_MODELS holds whatever the content type, on the direct route.
TEST_P(AllowlistEnforced, OnEveryContentType) {
  const AllowlistCase& c = GetParam();
  RelayPolicy policy = WithAllowlist("gpt-4o*,whisper-1,gemini-2.0-*,nova-2*,eleven_multilingual_v2");
  ClientRequest req{"POST", c.path, {}, c.body};
  if (!c.content_type.empty()) req.headers.push_back({"Content-Type", c.content_type});
  EXPECT_THAT(policy.Prepare(c.provider, std::move(req), "k", "", ""), StatusIs(c.code)) << c.name;
}

constexpr absl::StatusCode kOk = absl::StatusCode::kOk;

INSTANTIATE_TEST_SUITE_P(
    Cases, AllowlistEnforced,
    ::testing::Values(
        AllowlistCase{"json allowed", "openai", "/v1/chat/completions", "application/json", R"({"model":"gpt-4o-mini"})", kOk},
        AllowlistCase{"json denied", "openai", "/v1/chat/completions", "application/json", R"({"model":"o1-pro"})", kDenied},
        AllowlistCase{"json charset", "openai", "/v1/chat/completions", "Application/JSON; charset=utf-8", R"({"model":"o1-pro"})", kDenied},
        AllowlistCase{"json without model", "openai", "/v1/chat/completions", "application/json", R"({"messages":[]})", kDenied},
        AllowlistCase{"json duplicate", "openai", "/v1/chat/completions", "application/json", R"({"model":"gpt-4o","model":"o1-pro"})", kInvalid},
        AllowlistCase{"no content type", "openai", "/v1/chat/completions", "", R"({"model":"o1-pro"})", kDenied},
        AllowlistCase{"text/plain json", "openai", "/v1/chat/completions", "text/plain", R"({"model":"o1-pro"})", kDenied},
        AllowlistCase{"empty body", "openai", "/v1/chat/completions", "application/json", "", kDenied},
        AllowlistCase{"unreadable body", "openai", "/v1/chat/completions", "application/octet-stream", "\x01\x02", kDenied},
        AllowlistCase{"multipart allowed", "openai", "/v1/audio/transcriptions", std::string(kMultipartType),
                      Multipart({{"file", "RIFF"}, {"model", "whisper-1"}}), kOk},
        AllowlistCase{"multipart gpt-4o allowed", "openai", "/v1/audio/transcriptions", std::string(kMultipartType),
                      Multipart({{"file", "RIFF"}, {"model", "gpt-4o-transcribe-x"}, }), kOk},
        AllowlistCase{"multipart denied", "openai", "/v1/audio/transcriptions", std::string(kMultipartType),
                      Multipart({{"file", "RIFF"}, {"model", "whisper-2"}}), kDenied},
        AllowlistCase{"multipart without model", "openai", "/v1/audio/transcriptions", std::string(kMultipartType),
                      Multipart({{"file", "RIFF"}}), kDenied},
        AllowlistCase{"form allowed", "openai", "/v1/chat/completions", "application/x-www-form-urlencoded",
                      "model=gpt-4o&x=1", kOk},
        AllowlistCase{"form denied", "openai", "/v1/chat/completions", "application/x-www-form-urlencoded",
                      "model=o1-pro", kDenied},
        AllowlistCase{"gemini path allowed", "google", "/v1beta/models/gemini-2.0-flash:generateContent",
                      "application/json", "{}", kOk},
        AllowlistCase{"gemini path denied", "google", "/v1beta/models/gemini-1.5-pro:generateContent",
                      "application/json", R"({"model":"gemini-2.0-flash"})", kDenied},
        AllowlistCase{"gemini bad model", "google", "/v1beta/models/gemini-2.0-x%40y:generateContent",
                      "application/json", "{}", kInvalid},
        AllowlistCase{"deepgram query allowed", "deepgram", "/v1/listen?model=nova-2-general", "audio/wav", "RIFF", kOk},
        AllowlistCase{"deepgram query denied", "deepgram", "/v1/listen?model=whisper-large", "audio/wav", "RIFF", kDenied},
        AllowlistCase{"deepgram default model", "deepgram", "/v1/listen", "audio/wav", "RIFF", kDenied},
        AllowlistCase{"elevenlabs model_id", "elevenlabs", "/v1/text-to-speech/v", "application/json",
                      R"({"model_id":"eleven_multilingual_v2"})", kOk},
        AllowlistCase{"elevenlabs model_id denied", "elevenlabs", "/v1/text-to-speech/v", "application/json",
                      R"({"model_id":"eleven_turbo"})", kDenied},
        AllowlistCase{"hf path denied", "huggingface", "/hf-inference/models/org/name", "application/json", "{}", kDenied},
        AllowlistCase{"hf bad model", "openai", "/v1/chat/completions", "application/json", R"({"model":"gpt-4o/../x"})", kInvalid}));

TEST(ExtractModel, HuggingFacePath) {
  const ProviderSpec& hf = *FindProvider("huggingface");
  EXPECT_EQ(**ExtractModel(hf, "/hf-inference/models/org/name", "", {}, ""), "org/name");
  EXPECT_EQ(**ExtractModel(hf, "/hf-inference/models/gpt2/pipeline/text-generation", "", {}, ""), "gpt2");
  EXPECT_EQ(**ExtractModel(hf, "/hf-inference/models/org/name/pipeline/x", "", {}, ""), "org/name");
  EXPECT_EQ(**ExtractModel(hf, "/v1/chat/completions", "", {}, R"({"model":"org/name"})"), "org/name");
}

TEST(PrepareRequest, WithoutAllowlistModelIsBestEffort) {
  RelayPolicy policy = *RelayPolicy::FromEnv(TestEnv({}));
  ClientRequest dup{"POST", "/v1/chat/completions", {{"content-type", "application/json"}},
                    R"({"model":"a","model":"b"})"};
  absl::StatusOr<PreparedRequest> r = policy.Prepare("openai", std::move(dup), "k", "", "");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->model, std::nullopt);
  ClientRequest plain{"POST", "/v1/chat/completions", {{"content-type", "application/json"}},
                      R"({"model":"gpt-4o"})"};
  r = policy.Prepare("openai", std::move(plain), "k", "", "");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->model, "gpt-4o");
}

// Hostile bodies: valid bodies of each content type with random pieces the parsers look for inserted,
// and bodies made of those pieces alone. Every answer is an error, no model, or a model that passed
// validation; nothing reads out of bounds (run under ASan in the sanitizer build).
TEST(ExtractModel, SurvivesMutatedBodies) {
  const std::vector<std::string> pieces = {"--XyZ", "\r\n", "\n", "Content-Disposition: form-data; ",
                                           "name=\"model\"", "name=model", "\r\n\r\n", "gpt-4o", "../",
                                           "--", "{", "}", "\"model\"", ":", ",", "\"", "=", "&", "%2", "%41",
                                           "model", "filename=\"x\"", ";", " "};
  struct Seed {
    std::string content_type;
    std::string body;
  };
  const std::vector<Seed> seeds = {
      {std::string(kMultipartType), Multipart({{"file", "RIFF"}, {"model", "whisper-1"}})},
      {"application/json", R"({"model":"gpt-4o","messages":[]})"},
      {"application/x-www-form-urlencoded", "model=gpt-4o&x=1"},
      {"text/plain", R"({"model":"gpt-4o"})"}};
  const ProviderSpec& openai = *FindProvider("openai");
  std::mt19937 rng(4242);  // fixed seed: failures reproduce
  std::uniform_int_distribution<size_t> pick(0, pieces.size() - 1);
  std::uniform_int_distribution<int> mutations(0, 4);
  int found = 0;
  for (int i = 0; i < 20000; ++i) {
    const Seed& seed = seeds[static_cast<size_t>(i) % seeds.size()];
    std::string body = (i / 4) % 5 == 0 ? "" : seed.body;
    for (int n = body.empty() ? 12 : mutations(rng); n > 0; --n) {
      size_t at = std::uniform_int_distribution<size_t>(0, body.size())(rng);
      body.insert(at, pieces[pick(rng)]);
    }
    std::vector<http::HeaderField> headers = {{"content-type", seed.content_type}};
    absl::StatusOr<std::optional<std::string>> model =
        ExtractModel(openai, "/v1/audio/transcriptions", "", headers, body);
    if (model.ok() && model->has_value()) {
      ++found;
      ASSERT_THAT(ValidateModelName(**model), IsOk()) << body;
    }
  }
  EXPECT_GT(found, 1000);
}

}  // namespace
}  // namespace byok::relay
