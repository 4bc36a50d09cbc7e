#include "common/http/headers.h"

#include <gtest/gtest.h>

#include <string>

namespace byok::http {
namespace {

TEST(HeaderName, AcceptsTokensOnly) {
  for (const char* ok : {"content-type", "X-Api-Key", "anthropic-beta", "a", "x_y", "!#$%&'*+-.^_`|~"}) {
    EXPECT_TRUE(IsValidHeaderName(ok)) << ok;
  }
  for (const char* bad : {"", "content type", "x:y", "a\r\nb", "a\tb", "(x)", "a/b", "\"q\"", "é"}) {
    EXPECT_FALSE(IsValidHeaderName(bad)) << bad;
  }
  EXPECT_FALSE(IsValidHeaderName(std::string("a\0b", 3)));
}

TEST(HeaderValue, RefusesLineBreaksAndControls) {
  EXPECT_TRUE(IsValidHeaderValue("application/json; charset=utf-8"));
  EXPECT_TRUE(IsValidHeaderValue(""));
  EXPECT_TRUE(IsValidHeaderValue("a\tb"));
  EXPECT_TRUE(IsValidHeaderValue("caf\xc3\xa9"));
  for (std::string bad : {std::string("a\rb"), std::string("a\nb"), std::string("a\r\nX-Evil: 1"),
                          std::string("a\0b", 3), std::string("\x1b[31m"), std::string("\x7f")}) {
    EXPECT_FALSE(IsValidHeaderValue(bad));
  }
}

TEST(HeaderName, ComparesCaseInsensitively) {
  EXPECT_TRUE(HeaderNameEquals("Authorization", "authorization"));
  EXPECT_TRUE(HeaderNameEquals("X-API-KEY", "x-api-key"));
  EXPECT_FALSE(HeaderNameEquals("x-api-key", "x-api-keys"));
  EXPECT_TRUE(HeaderNameMatches("x-ratelimit-*", "X-RateLimit-Remaining-Requests"));
  EXPECT_FALSE(HeaderNameMatches("x-ratelimit-*", "x-ratelimit-"));
  EXPECT_FALSE(HeaderNameMatches("x-ratelimit-*", "x-ratelimi"));
  EXPECT_TRUE(HeaderNameMatches("retry-after", "Retry-After"));
}

TEST(HeaderName, KnowsHopByHop) {
  for (const char* h : {"Connection", "keep-alive", "TE", "trailer", "Transfer-Encoding", "upgrade",
                        "proxy-authorization", "Proxy-Connection"}) {
    EXPECT_TRUE(IsHopByHopHeader(h)) << h;
  }
  EXPECT_FALSE(IsHopByHopHeader("content-type"));
}

TEST(HeaderName, ConnectionOptionsNameMoreHopByHopHeaders) {
  std::vector<HeaderField> headers = {{"Connection", "keep-alive, X-Private"},
                                      {"content-type", "a"},
                                      {"connection", " Anthropic-Beta ,close"}};
  const std::string options = ConnectionOptions(headers);
  EXPECT_TRUE(ListsToken(options, "x-private"));
  EXPECT_TRUE(ListsToken(options, "anthropic-beta"));
  EXPECT_TRUE(ListsToken(options, "close"));
  EXPECT_FALSE(ListsToken(options, "content-type"));
  EXPECT_FALSE(ListsToken(options, "anthropic"));  // whole elements only
  EXPECT_FALSE(ListsToken("", "x-private"));
}

TEST(FindHeader, ReturnsFirstMatch) {
  std::vector<HeaderField> headers = {{"Content-Type", "a"}, {"content-type", "b"}};
  ASSERT_NE(FindHeader(headers, "CONTENT-TYPE"), nullptr);
  EXPECT_EQ(*FindHeader(headers, "CONTENT-TYPE"), "a");
  EXPECT_EQ(FindHeader(headers, "accept"), nullptr);
}

}  // namespace
}  // namespace byok::http
