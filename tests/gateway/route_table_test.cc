#include "services/gateway/route_table.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_replace.h"
#include "services/gateway/openapi.h"

namespace byok::gateway {
namespace {

TEST(RouteTableTest, MatchesEveryDocumentedRoute) {
  struct Case {
    const char* method;
    const char* path;
    RouteId id;
  };
  const Case cases[] = {
      {"GET", "/health", RouteId::kHealth},
      {"GET", "/version", RouteId::kVersion},
      {"GET", "/openapi.json", RouteId::kOpenApi},
      {"POST", "/users", RouteId::kCreateUser},
      {"POST", "/keys/openai", RouteId::kPutKey},
      {"POST", "/keys/openai/rotate", RouteId::kRotateKey},
      {"GET", "/keys", RouteId::kListKeys},
      {"DELETE", "/keys/anthropic", RouteId::kDeleteKey},
      {"POST", "/tokens/revoke", RouteId::kRevokeToken},
      {"DELETE", "/users", RouteId::kDeleteUser},
      {"GET", "/stats", RouteId::kUserStats},
      {"GET", "/stats/my-app", RouteId::kAppStats},
      {"GET", "/models", RouteId::kModels},
      {"POST", "/relay", RouteId::kUnifiedRelay},
      {"POST", "/relay/openai/v1/chat/completions", RouteId::kProviderRelay},
      {"GET", "/relay/openai/v1/models", RouteId::kProviderRelay},
      {"DELETE", "/relay/openai/v1/files/x", RouteId::kProviderRelay},
  };
  for (const Case& c : cases) {
    RouteMatch m = MatchRoute(c.method, c.path);
    ASSERT_EQ(m.kind, RouteMatch::Kind::kFound) << c.method << " " << c.path;
    EXPECT_EQ(m.route->id, c.id) << c.method << " " << c.path;
  }
}

TEST(RouteTableTest, ExtractsParametersRaw) {
  RouteMatch m = MatchRoute("POST", "/relay/google/v1beta/models/gemini:streamGenerateContent");
  ASSERT_EQ(m.kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(m.params["provider"], "google");
  EXPECT_EQ(m.params["path"], "v1beta/models/gemini:streamGenerateContent");

  // Encoded bytes stay encoded: the relay normalises the path with the parser that builds the URL.
  m = MatchRoute("POST", "/relay/openai/v1/..%2F..%2Fadmin");
  ASSERT_EQ(m.kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(m.params["path"], "v1/..%2F..%2Fadmin");

  m = MatchRoute("POST", "/keys/openai-compatible/rotate");
  ASSERT_EQ(m.kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(m.params["provider"], "openai-compatible");
}

TEST(RouteTableTest, UnknownPathsAreNotFound) {
  for (const char* path : {"/", "/nope", "/keys/", "/keys/a/b/c", "/relay/openai", "/relay/openai/",
                           "/users/x", "//keys", "/stats/a/b", "/HEALTH"}) {
    EXPECT_EQ(MatchRoute("GET", path).kind, RouteMatch::Kind::kNotFound) << path;
  }
}

TEST(RouteTableTest, WrongMethodListsTheAllowedOnes) {
  RouteMatch m = MatchRoute("GET", "/keys/openai");
  ASSERT_EQ(m.kind, RouteMatch::Kind::kMethodNotAllowed);
  EXPECT_EQ(std::set<std::string>(m.allowed_methods.begin(), m.allowed_methods.end()),
            (std::set<std::string>{"POST", "DELETE"}));
  m = MatchRoute("PUT", "/users");
  ASSERT_EQ(m.kind, RouteMatch::Kind::kMethodNotAllowed);
  EXPECT_EQ(std::set<std::string>(m.allowed_methods.begin(), m.allowed_methods.end()),
            (std::set<std::string>{"POST", "DELETE"}));
  EXPECT_EQ(MatchRoute("TRACE", "/relay/openai/v1/x").kind, RouteMatch::Kind::kMethodNotAllowed);
}

// Replaces each {param} of an OpenAPI path with a sample value.
std::string Concrete(const std::string& path) {
  return absl::StrReplaceAll(path, {{"{provider}", "openai"},
                                    {"{app_id}", "my-app"},
                                    {"{path}", "v1/chat/completions"}});
}

TEST(OpenApiTest, DocumentAndRouterDescribeTheSameRoutes) {
  nlohmann::json doc = nlohmann::json::parse(OpenApiDocument());
  ASSERT_EQ(doc["openapi"], "3.0.3");
  const nlohmann::json& paths = doc["paths"];

  // Every route of the router is in the document, with each method it answers.
  std::set<std::pair<std::string, std::string>> from_router;
  for (const Route& route : Routes()) {
    std::string path = OpenApiPath(route.pattern);
    for (const char* method : {"GET", "POST", "PUT", "PATCH", "DELETE"}) {
      if (!RouteAcceptsMethod(route, method)) continue;
      from_router.emplace(path, method);
      ASSERT_TRUE(paths.contains(path)) << path;
      EXPECT_TRUE(paths[path].contains(absl::AsciiStrToLower(method))) << method << " " << path;
    }
  }

  // Every operation of the document is answered by the router, by the route with that pattern.
  std::set<std::pair<std::string, std::string>> from_doc;
  for (const auto& [path, item] : paths.items()) {
    for (const auto& [method, op] : item.items()) {
      std::string upper = absl::AsciiStrToUpper(method);
      from_doc.emplace(path, upper);
      RouteMatch m = MatchRoute(upper, Concrete(path));
      ASSERT_EQ(m.kind, RouteMatch::Kind::kFound) << upper << " " << path;
      EXPECT_EQ(OpenApiPath(m.route->pattern), path);
      EXPECT_TRUE(op.contains("responses"));
    }
  }
  EXPECT_EQ(from_router, from_doc);
}

TEST(OpenApiTest, TokenRoutesDeclareTheirCredential) {
  nlohmann::json doc = nlohmann::json::parse(OpenApiDocument());
  EXPECT_EQ(doc["paths"]["/keys"]["get"]["security"][0].begin().key(), "relayToken");
  EXPECT_EQ(doc["components"]["securitySchemes"]["relayToken"]["name"], "x-relay-token");
  EXPECT_FALSE(doc["paths"]["/health"]["get"].contains("security"));
  EXPECT_TRUE(doc["paths"]["/keys/{provider}/rotate"]["post"]["responses"].contains("422"));
}

}  // namespace
}  // namespace byok::gateway
