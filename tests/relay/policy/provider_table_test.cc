// The provider table against compat.md §4: every row's allowed prefixes, prefix matching, key
// placement, GET endpoints, the closed client header list and passed response headers.
#include "services/relay/policy/provider_table.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/providers/providers.h"

namespace byok::relay {
namespace {

TEST(ProviderTable, HasEveryProviderInTheOriginalsOrder) {
  std::vector<std::string> names;
  for (const ProviderSpec& p : Providers()) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"anthropic", "openai", "google", "groq", "openrouter", "mistral",
                                             "elevenlabs", "huggingface", "deepgram", "openai-compatible"}));
  EXPECT_EQ(FindProvider("OpenAI"), nullptr);  // exact, case-sensitive
  EXPECT_EQ(FindProvider("my-ollama"), nullptr);
}

TEST(ProviderTable, AllowedPrefixesAreTheOriginals) {
  auto prefixes = [](const char* name) { return FindProvider(name)->allowed_prefixes; };
  using V = std::vector<std::string>;
  EXPECT_EQ(prefixes("anthropic"), (V{"/v1/messages", "/v1/complete"}));
  EXPECT_EQ(prefixes("openai"), (V{"/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses"}));
  EXPECT_EQ(prefixes("google"), (V{"/v1beta/models", "/v1/models"}));
  EXPECT_EQ(prefixes("groq"),
            (V{"/openai/v1/chat/completions", "/openai/v1/completions", "/openai/v1/embeddings"}));
  EXPECT_EQ(prefixes("openrouter"),
            (V{"/api/v1/chat/completions", "/api/v1/completions", "/api/v1/embeddings"}));
  EXPECT_EQ(prefixes("mistral"),
            (V{"/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/fim/completions"}));
  EXPECT_EQ(prefixes("elevenlabs"), (V{"/v1/text-to-speech", "/v1/speech-to-speech", "/v1/sound-generation",
                                       "/v1/audio-isolation", "/v1/voice-generation", "/v1/voices"}));
  EXPECT_EQ(prefixes("huggingface"), (V{"/models"}));
  EXPECT_EQ(prefixes("deepgram"), (V{"/v1/listen", "/v1/speak", "/v1/read"}));
  EXPECT_EQ(prefixes("openai-compatible"),
            (V{"/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/messages", "/v1/responses",
               "/api/v1/chat/completions", "/api/v1/completions", "/api/v1/embeddings",
               "/openai/v1/chat/completions", "/openai/v1/completions", "/openai/v1/embeddings"}));
}

TEST(ProviderTable, BaseUrlsAndKeysAreTheOriginalsExceptGeminisHeader) {
  struct Row {
    const char* name;
    const char* base;
    const char* header;
    const char* prefix;
  };
  for (const Row& r : {Row{"anthropic", "https://api.anthropic.com", "x-api-key", ""},
                       Row{"openai", "https://api.openai.com", "authorization", "Bearer "},
                       Row{"google", "https://generativelanguage.googleapis.com", "x-goog-api-key", ""},
                       Row{"groq", "https://api.groq.com", "authorization", "Bearer "},
                       Row{"openrouter", "https://openrouter.ai", "authorization", "Bearer "},
                       Row{"mistral", "https://api.mistral.ai", "authorization", "Bearer "},
                       Row{"elevenlabs", "https://api.elevenlabs.io", "xi-api-key", ""},
                       Row{"huggingface", "https://api-inference.huggingface.co", "authorization", "Bearer "},
                       Row{"deepgram", "https://api.deepgram.com", "authorization", "Token "},
                       Row{"openai-compatible", "", "authorization", "Bearer "}}) {
    const ProviderSpec* p = FindProvider(r.name);
    ASSERT_NE(p, nullptr) << r.name;
    EXPECT_EQ(p->default_base_url, r.base) << r.name;
    EXPECT_EQ(p->key_header, r.header) << r.name;
    EXPECT_EQ(p->key_prefix, r.prefix) << r.name;
  }
  EXPECT_TRUE(FindProvider("openai-compatible")->base_url_from_request);
  for (const char* binary : {"elevenlabs", "huggingface", "deepgram"}) {
    EXPECT_TRUE(FindProvider(binary)->binary_responses) << binary;
    EXPECT_TRUE(FindProvider(binary)->client_content_type) << binary;
  }
  EXPECT_FALSE(FindProvider("openai")->binary_responses);
}

TEST(PathHasPrefix, EqualOrFollowedBySlashOrQuestionMark) {
  EXPECT_TRUE(PathHasPrefix("/v1/messages", "/v1/messages"));
  EXPECT_TRUE(PathHasPrefix("/v1/messages/", "/v1/messages"));
  EXPECT_TRUE(PathHasPrefix("/v1/messages/count_tokens", "/v1/messages"));
  EXPECT_TRUE(PathHasPrefix("/v1/messages?beta=true", "/v1/messages"));
  EXPECT_FALSE(PathHasPrefix("/v1/messagesX", "/v1/messages"));
  EXPECT_FALSE(PathHasPrefix("/v1/message", "/v1/messages"));
  EXPECT_FALSE(PathHasPrefix("/V1/messages", "/v1/messages"));  // case-sensitive
  EXPECT_FALSE(PathHasPrefix("/x/v1/messages", "/v1/messages"));
}

TEST(PathAllowed, RefusesWhatTheOriginalRefuses) {
  const ProviderSpec& anthropic = *FindProvider("anthropic");
  EXPECT_TRUE(PathAllowed(anthropic.allowed_prefixes, "/v1/messages"));
  EXPECT_FALSE(PathAllowed(anthropic.allowed_prefixes, "/v1/models"));
  EXPECT_FALSE(PathAllowed(anthropic.allowed_prefixes, "/"));
  const ProviderSpec& groq = *FindProvider("groq");
  EXPECT_TRUE(PathAllowed(groq.allowed_prefixes, "/openai/v1/chat/completions"));
  EXPECT_FALSE(PathAllowed(groq.allowed_prefixes, "/v1/chat/completions"));
  EXPECT_FALSE(PathAllowed(groq.allowed_prefixes, "/openai/v1/models"));
  const ProviderSpec& google = *FindProvider("google");
  EXPECT_TRUE(PathAllowed(google.allowed_prefixes, "/v1beta/models/gemini-2.0-flash:generateContent"));
  EXPECT_TRUE(PathAllowed(google.allowed_prefixes, "/v1beta/models"));
  EXPECT_FALSE(PathAllowed(google.allowed_prefixes, "/v1beta/modelsX"));
  EXPECT_FALSE(PathAllowed(google.allowed_prefixes, "/v1beta/files"));
}

TEST(ForwardPathAllowed, RefusesWhatAServerCouldReadAsAnotherPath) {
  const ProviderSpec& openai = *FindProvider("openai");
  EXPECT_TRUE(ForwardPathAllowed(openai, "/v1/chat/completions"));
  EXPECT_TRUE(ForwardPathAllowed(openai, "/v1/chat/completions?x=%"));
  EXPECT_FALSE(ForwardPathAllowed(openai, "/v1/chat/completions/..\\..\\files"));
  EXPECT_FALSE(ForwardPathAllowed(openai, "/v1/chat/completions/%2e%2e/%2e%2e/files"));
  EXPECT_FALSE(ForwardPathAllowed(openai, "/v1/chat/completions\r\nX: y"));
  EXPECT_FALSE(ForwardPathAllowed(openai, "/v1/models"));
}

TEST(MethodAllowed, PostAlwaysGetOnlyOnGetEndpoints) {
  const ProviderSpec& elevenlabs = *FindProvider("elevenlabs");
  EXPECT_TRUE(MethodAllowed(elevenlabs, "POST", "/v1/text-to-speech/abc"));
  EXPECT_TRUE(MethodAllowed(elevenlabs, "GET", "/v1/voices"));
  EXPECT_TRUE(MethodAllowed(elevenlabs, "GET", "/v1/voices/abc"));
  EXPECT_FALSE(MethodAllowed(elevenlabs, "GET", "/v1/text-to-speech/abc"));
  EXPECT_TRUE(MethodAllowed(*FindProvider("google"), "GET", "/v1beta/models"));
  const ProviderSpec& openai = *FindProvider("openai");
  for (const char* m : {"GET", "PUT", "PATCH", "DELETE", "HEAD"}) {
    EXPECT_FALSE(MethodAllowed(openai, m, "/v1/chat/completions")) << m;
  }
}

TEST(IsReadClientHeader, IsTheClosedList) {
  for (const char* read : {"content-type", "anthropic-version", "anthropic-beta", "http-referer",
                           "x-relay-referer", "x-title"}) {
    EXPECT_TRUE(IsReadClientHeader(read)) << read;
  }
  for (const char* dropped : {"authorization", "xi-api-key", "x-api-key", "x-goog-api-key", "cookie", "host",
                              "x-relay-token", "anthropic-dangerous-direct-browser-access", "openai-organization",
                              "accept", "user-agent", "x-forwarded-for"}) {
    EXPECT_FALSE(IsReadClientHeader(dropped)) << dropped;
  }
}

TEST(IsPassedResponseHeader, RateLimitsAndRequestIdsPassBack) {
  const ProviderSpec& openai = *FindProvider("openai");
  for (const char* passed : {"retry-after", "x-ratelimit-remaining-requests", "x-request-id", "request-id",
                             "openai-processing-ms"}) {
    EXPECT_TRUE(IsPassedResponseHeader(openai, passed)) << passed;
  }
  EXPECT_TRUE(IsPassedResponseHeader(*FindProvider("anthropic"), "anthropic-ratelimit-requests-remaining"));
  for (const char* kept : {"set-cookie", "content-length", "access-control-allow-origin", "connection",
                           "transfer-encoding", "content-type", "server"}) {
    EXPECT_FALSE(IsPassedResponseHeader(openai, kept)) << kept;
  }
}

TEST(BaseUrlEnvName, NamesTheOverride) {
  EXPECT_EQ(BaseUrlEnvName("openai-compatible"), "BYOK_PROVIDER_OPENAI_COMPATIBLE_BASE_URL");
}

}  // namespace
}  // namespace byok::relay
