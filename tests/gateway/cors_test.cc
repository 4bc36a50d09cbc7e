#include "services/gateway/api/cors.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "absl/strings/str_split.h"

namespace byok::gateway {
namespace {

std::map<std::string, std::string> AsMap(const HeaderList& headers) {
  return std::map<std::string, std::string>(headers.begin(), headers.end());
}

std::vector<std::string> List(absl::string_view comma_list) {
  return absl::StrSplit(comma_list, ',');
}

TEST(CorsTest, StarGrantsEveryResponseWithoutVary) {
  CorsPolicy policy = CorsPolicy::Parse("*");
  auto h = AsMap(policy.ResponseHeaders("https://anything.example"));
  EXPECT_EQ(h["Access-Control-Allow-Origin"], "*");
  EXPECT_EQ(h.count("Vary"), 0u);
  // As the original's cors package: the grant does not depend on an Origin header.
  EXPECT_EQ(AsMap(policy.ResponseHeaders(""))["Access-Control-Allow-Origin"], "*");
  auto pre = AsMap(policy.PreflightHeaders("https://anything.example"));
  EXPECT_EQ(pre["Access-Control-Allow-Origin"], "*");
  EXPECT_EQ(pre["Access-Control-Allow-Methods"], "GET,POST,DELETE,OPTIONS");
  EXPECT_EQ(pre.count("Access-Control-Max-Age"), 0u);
  EXPECT_EQ(pre.count("Access-Control-Allow-Credentials"), 0u);
  // Unset, empty, and a list holding "*" all mean every origin.
  EXPECT_TRUE(CorsPolicy::Parse("").Allows("https://x.example"));
  EXPECT_TRUE(CorsPolicy::Parse(" https://a.example , * ").Allows("https://x.example"));
}

TEST(CorsTest, AllowedHeadersAreTheOriginalsListThenTheAdditions) {
  std::vector<std::string> allowed = List(CorsPolicy::kAllowedHeaders);
  const std::vector<std::string> original = {
      "Content-Type", "Authorization",    "x-relay-token",  "anthropic-version",
      "x-relay-base-url", "x-relay-referer", "x-title",     "http-referer",
      "x-relay-e2e-base-url-token", "xi-api-key"};
  ASSERT_GE(allowed.size(), original.size());
  EXPECT_EQ(std::vector<std::string>(allowed.begin(), allowed.begin() + original.size()), original);
  for (const char* extra : {"anthropic-beta", "traceparent", "tracestate", "x-request-id",
                            "anthropic-dangerous-direct-browser-access", "x-stainless-os",
                            "x-stainless-retry-count", "openai-organization", "openai-project"}) {
    EXPECT_NE(std::find(allowed.begin(), allowed.end(), extra), allowed.end()) << extra;
  }
  std::vector<std::string> exposed = List(CorsPolicy::kExposedHeaders);
  for (const char* name : {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy",
                           "Retry-After", "x-request-id", "request-id", "x-ratelimit-remaining-requests",
                           "anthropic-ratelimit-requests-remaining"}) {
    EXPECT_NE(std::find(exposed.begin(), exposed.end(), name), exposed.end()) << name;
  }
}

TEST(CorsTest, ListReflectsListedOriginsAndAlwaysVaries) {
  CorsPolicy policy = CorsPolicy::Parse(" https://app.example.com , http://localhost:5173/ ");
  EXPECT_TRUE(policy.Allows("https://app.example.com"));
  EXPECT_TRUE(policy.Allows("http://localhost:5173"));
  EXPECT_FALSE(policy.Allows("https://evil.example"));
  EXPECT_FALSE(policy.Allows("https://app.example.com.evil.example"));
  EXPECT_FALSE(policy.Allows("null"));

  auto granted = AsMap(policy.ResponseHeaders("http://localhost:5173"));
  EXPECT_EQ(granted["Access-Control-Allow-Origin"], "http://localhost:5173");
  EXPECT_EQ(granted["Vary"], "Origin");
  EXPECT_FALSE(granted["Access-Control-Expose-Headers"].empty());

  // A refused origin gets no grant but still Vary; its request is served (the browser blocks it).
  auto refused = AsMap(policy.ResponseHeaders("https://evil.example"));
  EXPECT_EQ(refused.count("Access-Control-Allow-Origin"), 0u);
  EXPECT_EQ(refused["Vary"], "Origin");
  auto refused_pre = AsMap(policy.PreflightHeaders("https://evil.example"));
  EXPECT_EQ(refused_pre.count("Access-Control-Allow-Origin"), 0u);
  EXPECT_EQ(AsMap(policy.ResponseHeaders(""))["Vary"], "Origin");
}

TEST(CorsTest, EveryValueIsAcceptedAndNonOriginsAreReported) {
  CorsPolicy policy = CorsPolicy::Parse("app.example.com, https://ok.example, ftp://x");
  EXPECT_EQ(policy.NonOrigins(), (std::vector<std::string>{"app.example.com", "ftp://x"}));
  EXPECT_TRUE(policy.Allows("https://ok.example"));
  EXPECT_TRUE(CorsPolicy::Parse("https://ok.example").NonOrigins().empty());
}

}  // namespace
}  // namespace byok::gateway
