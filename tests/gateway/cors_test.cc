#include "services/gateway/cors.h"

#include <gtest/gtest.h>

#include <map>

namespace byok::gateway {
namespace {

std::map<std::string, std::string> AsMap(const HeaderList& headers) {
  return std::map<std::string, std::string>(headers.begin(), headers.end());
}

TEST(CorsTest, StarAllowsAnyOriginWithoutEchoingIt) {
  auto policy = CorsPolicy::Parse("*");
  ASSERT_TRUE(policy.ok());
  auto h = AsMap(policy->ResponseHeaders("https://anything.example"));
  EXPECT_EQ(h["Access-Control-Allow-Origin"], "*");
  auto pre = AsMap(policy->PreflightHeaders("https://anything.example"));
  EXPECT_EQ(pre["Access-Control-Allow-Origin"], "*");
  EXPECT_NE(pre["Access-Control-Allow-Headers"].find("x-relay-token"), std::string::npos);
  EXPECT_NE(pre["Access-Control-Allow-Headers"].find("anthropic-beta"), std::string::npos);
  EXPECT_NE(pre["Access-Control-Allow-Headers"].find("anthropic-version"), std::string::npos);
  EXPECT_NE(pre["Access-Control-Allow-Headers"].find("x-relay-base-url"), std::string::npos);
  EXPECT_NE(pre["Access-Control-Allow-Headers"].find("content-type"), std::string::npos);
  EXPECT_NE(pre["Access-Control-Allow-Methods"].find("DELETE"), std::string::npos);
  EXPECT_EQ(pre["Access-Control-Max-Age"], "600");
  // No Origin: not a cross-origin request, nothing to grant.
  EXPECT_TRUE(policy->ResponseHeaders("").empty());
}

TEST(CorsTest, ListGrantsOnlyListedOrigins) {
  auto policy = CorsPolicy::Parse(" https://app.example.com , http://localhost:5173/ ");
  ASSERT_TRUE(policy.ok());
  EXPECT_TRUE(policy->Allows("https://app.example.com"));
  EXPECT_TRUE(policy->Allows("HTTPS://APP.example.com"));
  EXPECT_TRUE(policy->Allows("http://localhost:5173"));
  EXPECT_FALSE(policy->Allows("https://evil.example"));
  EXPECT_FALSE(policy->Allows("https://app.example.com.evil.example"));
  EXPECT_FALSE(policy->Allows("null"));

  auto granted = AsMap(policy->ResponseHeaders("http://localhost:5173"));
  EXPECT_EQ(granted["Access-Control-Allow-Origin"], "http://localhost:5173");
  EXPECT_EQ(granted["Vary"], "Origin");

  auto refused = AsMap(policy->PreflightHeaders("https://evil.example"));
  EXPECT_EQ(refused.count("Access-Control-Allow-Origin"), 0u);
  EXPECT_EQ(refused.count("Access-Control-Allow-Headers"), 0u);
  EXPECT_EQ(refused.count("Access-Control-Allow-Methods"), 0u);
  EXPECT_EQ(AsMap(policy->ResponseHeaders("https://evil.example")).count("Access-Control-Allow-Origin"),
            0u);
}

TEST(CorsTest, RejectsEntriesThatAreNotOrigins) {
  EXPECT_FALSE(CorsPolicy::Parse("app.example.com").ok());
  EXPECT_FALSE(CorsPolicy::Parse("https://app.example.com/path").ok());
  EXPECT_FALSE(CorsPolicy::Parse("ftp://x").ok());
  EXPECT_TRUE(CorsPolicy::Parse("").ok());
}

}  // namespace
}  // namespace byok::gateway
