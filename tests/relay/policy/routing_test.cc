// Unified routing against compat.md §3.14: the pattern table, prefix rules, the exact 400 texts.
#include "services/relay/policy/routing.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/testing/status_matchers.h"

namespace byok::relay {
namespace {

using ::byok::testing::IsOk;
using ::byok::testing::StatusIs;
using nlohmann::json;

const char kCannotRouteTail[] =
    "\". Use \"provider/model-name\" format or a recognised model name. Supported providers: anthropic, "
    "openai, google, groq, openrouter, mistral, elevenlabs, huggingface, deepgram, openai-compatible. See "
    "GET /models for the full routing table.";

struct RouteCase {
  json body;
  const char* provider;
  const char* name;
  const char* path;
};

TEST(RouteUnified, RoutesAsTheOriginal) {
  for (const RouteCase& c : {
           RouteCase{{{"model", "gpt-4o"}}, "openai", "gpt-4o", "/v1/chat/completions"},
           RouteCase{{{"model", "GPT-4o"}}, "openai", "GPT-4o", "/v1/chat/completions"},
           RouteCase{{{"model", "o1-mini"}}, "openai", "o1-mini", "/v1/chat/completions"},
           RouteCase{{{"model", "o1 preview"}}, "openai", "o1 preview", "/v1/chat/completions"},
           RouteCase{{{"model", "chatgpt-4o-latest"}}, "openai", "chatgpt-4o-latest", "/v1/chat/completions"},
           RouteCase{{{"model", "text-embedding-3-small"}}, "openai", "text-embedding-3-small", "/v1/embeddings"},
           RouteCase{{{"model", "claude-3-5-haiku"}}, "anthropic", "claude-3-5-haiku", "/v1/messages"},
           RouteCase{{{"model", "gemini-2.0-flash"}}, "google", "gemini-2.0-flash",
                     "/v1beta/models/gemini-2.0-flash:generateContent"},
           RouteCase{{{"model", "gemini-2.0-flash"}, {"stream", true}}, "google", "gemini-2.0-flash",
                     "/v1beta/models/gemini-2.0-flash:streamGenerateContent"},
           RouteCase{{{"model", "gemini-2.0-flash"}, {"stream", "true"}}, "google", "gemini-2.0-flash",
                     "/v1beta/models/gemini-2.0-flash:generateContent"},  // only the boolean counts
           RouteCase{{{"model", "llama-3.3-70b"}}, "groq", "llama-3.3-70b", "/openai/v1/chat/completions"},
           RouteCase{{{"model", "llama3-8b"}}, "groq", "llama3-8b", "/openai/v1/chat/completions"},
           RouteCase{{{"model", "llama_x"}}, "groq", "llama_x", "/openai/v1/chat/completions"},
           RouteCase{{{"model", "llama-2_x"}}, "groq", "llama-2_x", "/openai/v1/chat/completions"},
           RouteCase{{{"model", "mixtral-8x7b"}}, "groq", "mixtral-8x7b", "/openai/v1/chat/completions"},
           RouteCase{{{"model", "gemma-7b"}}, "groq", "gemma-7b", "/openai/v1/chat/completions"},
           RouteCase{{{"model", "qwen-2"}}, "groq", "qwen-2", "/openai/v1/chat/completions"},
           RouteCase{{{"model", "mistral-large"}}, "mistral", "mistral-large", "/v1/chat/completions"},
           RouteCase{{{"model", "codestral-latest"}}, "mistral", "codestral-latest", "/v1/chat/completions"},
           RouteCase{{{"model", "open-mistral-nemo"}}, "mistral", "open-mistral-nemo", "/v1/chat/completions"},
           RouteCase{{{"model", "anthropic/claude-3-5-haiku"}}, "anthropic", "claude-3-5-haiku", "/v1/messages"},
           RouteCase{{{"model", "Anthropic/ claude-x "}}, "anthropic", "claude-x", "/v1/messages"},
           RouteCase{{{"model", "openrouter/meta/llama"}}, "openrouter", "meta/llama", "/api/v1/chat/completions"},
           RouteCase{{{"model", "groq/anything"}}, "groq", "anything", "/openai/v1/chat/completions"},
           RouteCase{{{"model", "mistral/x"}}, "mistral", "x", "/v1/chat/completions"},
           RouteCase{{{"model", "openai/o3"}}, "openai", "o3", "/v1/chat/completions"},
           RouteCase{{{"model", "google/gemini-pro"}, {"stream", true}}, "google", "gemini-pro",
                     "/v1beta/models/gemini-pro:streamGenerateContent"},
       }) {
    absl::StatusOr<UnifiedRoute> r = RouteUnified(c.body);
    ASSERT_THAT(r, IsOk()) << c.body.dump();
    EXPECT_EQ(r->provider, c.provider) << c.body.dump();
    EXPECT_EQ(r->name, c.name) << c.body.dump();
    EXPECT_EQ(r->path, c.path) << c.body.dump();
  }
}

TEST(RouteUnified, FalsyModelIsRequired) {
  for (const json& body : {json::object(), json{{"model", ""}}, json{{"model", nullptr}}, json{{"model", false}},
                           json{{"model", 0}}, json{{"model", 0.0}}}) {
    absl::StatusOr<UnifiedRoute> r = RouteUnified(body);
    ASSERT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument)) << body.dump();
    EXPECT_EQ(r.status().message(), kModelRequired) << body.dump();
  }
  EXPECT_EQ(std::string(kModelRequired),
            "model field is required. Use \"provider/model-name\" (e.g. \"anthropic/claude-3-5-haiku\") or a "
            "recognised model name (e.g. \"gpt-4o\"). See GET /models for the full routing table.");
}

TEST(RouteUnified, UnroutableModelsGetTheOriginalsText) {
  struct Case {
    json model;
    const char* shown;
  };
  for (const Case& c : {
           Case{"o3", "o3"},                                   // verified on the original
           Case{"unknown-model", "unknown-model"},
           Case{"openai-compatible/x", "openai-compatible/x"},  // not routable
           Case{"elevenlabs/x", "elevenlabs/x"},
           Case{"huggingface/x", "huggingface/x"},
           Case{"deepgram/nova", "deepgram/nova"},
           Case{"foo/gpt-4o", "foo/gpt-4o"},                   // an unknown prefix is not retried
           Case{"openai/", "openai/"},
           Case{"openai/   ", "openai/   "},
           Case{" gpt-4o", " gpt-4o"},                         // patterns match from the start
           Case{json::array({"gpt-4o"}), "gpt-4o"},           // rendered as JavaScript text
           Case{json::array({"a", json::array({"b", nullptr})}), "a,b,"},
           Case{json{{"a", 1}}, "[object Object]"},
           Case{true, "true"},
           Case{42, "42"},
       }) {
    absl::StatusOr<UnifiedRoute> r = RouteUnified(json{{"model", c.model}});
    ASSERT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument)) << c.model.dump();
    EXPECT_EQ(r.status().message(), std::string("Cannot route model \"") + c.shown + kCannotRouteTail)
        << c.model.dump();
  }
}

TEST(RouteUnified, GeminiNamesCannotLeaveTheirPathSegment) {
  for (const char* m : {"google/a/../../v1/files", "google/x?y", "google/x%2F", "gemini-x?alt=json"}) {
    EXPECT_THAT(RouteUnified(json{{"model", m}}), StatusIs(absl::StatusCode::kInvalidArgument)) << m;
  }
}

TEST(ModelPatterns, AreTheOriginalsTableInOrder) {
  std::vector<std::string> sources;
  for (const ModelPattern& p : ModelPatterns()) sources.emplace_back(p.source);
  EXPECT_EQ(sources, (std::vector<std::string>{"^(gpt-|o[1-9][-\\s]|chatgpt-)", "^text-embedding-", "^claude-",
                                               "^gemini-", "^(llama-?[23]?[-_]|llama3?[-_])", "^mixtral-",
                                               "^gemma-", "^qwen-", "^(mistral-|codestral-|open-mistral)"}));
  auto llama = ModelPatterns()[4].matches;
  // "llama" then '-' or '_' always matches (the optional parts backtrack), so "llama-4-x" routes too.
  for (const char* yes : {"llama-x", "llama_x", "llama2-x", "llama3_x", "llama-2-x", "llama-3_x", "llama--x",
                          "LLAMA-X", "llama-4-x", "llama-"}) {
    EXPECT_TRUE(llama(yes)) << yes;
  }
  for (const char* no : {"llama", "llama4-x", "llamax", "llama2x", "llama5_x", "xllama-"}) {
    EXPECT_FALSE(llama(no)) << no;
  }
  auto openai = ModelPatterns()[0].matches;
  EXPECT_TRUE(openai("o9\tx"));
  EXPECT_FALSE(openai("o0-x"));
  EXPECT_FALSE(openai("o1"));
}

TEST(JsText, IsBoundedAndIterative) {
  json deep = json::array();
  json* cursor = &deep;
  for (int i = 0; i < 50; ++i) {
    cursor->push_back(json::array());
    cursor = &cursor->back();
  }
  EXPECT_EQ(JsText(deep, 100), "");
  EXPECT_EQ(JsText(json(std::string(5000, 'x')), 10), std::string(10, 'x'));
}

}  // namespace
}  // namespace byok::relay
