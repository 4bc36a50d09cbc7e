#include "services/gateway/api/route_table.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "services/gateway/api/openapi.h"

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
      {"GET", "/openapi.json", RouteId::kOpenApiJson},
      {"GET", "/openapi.yaml", RouteId::kOpenApiYaml},
      {"GET", "/models", RouteId::kModels},
      {"POST", "/users", RouteId::kCreateUser},
      {"POST", "/keys/openai", RouteId::kPutKey},
      {"POST", "/keys/openai/rotate", RouteId::kRotateKey},
      {"GET", "/keys", RouteId::kListKeys},
      {"DELETE", "/keys/anthropic", RouteId::kDeleteKey},
      {"POST", "/tokens/revoke", RouteId::kRevokeToken},
      {"DELETE", "/users", RouteId::kDeleteUser},
      {"GET", "/stats", RouteId::kUserStats},
      {"GET", "/stats/my-app", RouteId::kAppStats},
      {"POST", "/relay", RouteId::kUnifiedRelay},
      {"POST", "/relay/openai/v1/chat/completions", RouteId::kProviderRelay},
      {"GET", "/relay/openai/v1/models", RouteId::kProviderRelay},
  };
  for (const Case& c : cases) {
    RouteMatch m = MatchRoute(c.method, c.path);
    ASSERT_EQ(m.kind, RouteMatch::Kind::kFound) << c.method << " " << c.path;
    EXPECT_EQ(m.route->id, c.id) << c.method << " " << c.path;
  }
}

TEST(RouteTableTest, MatchesAsTheOriginalsFramework) {
  // Literal segments in any case, one trailing slash tolerated; parameters keep their case.
  RouteMatch m = MatchRoute("GET", "/KEYS");
  ASSERT_EQ(m.kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(m.route->id, RouteId::kListKeys);
  EXPECT_EQ(MatchRoute("GET", "/keys/").route->id, RouteId::kListKeys);
  EXPECT_EQ(MatchRoute("POST", "/Relay/").route->id, RouteId::kUnifiedRelay);
  m = MatchRoute("POST", "/Keys/OpenAI/ROTATE/");
  ASSERT_EQ(m.kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(m.route->id, RouteId::kRotateKey);
  EXPECT_EQ(m.params["provider"], "OpenAI");
  // HEAD is answered by GET routes, not by the relay's.
  EXPECT_EQ(MatchRoute("HEAD", "/health").route->id, RouteId::kHealth);
  EXPECT_EQ(MatchRoute("HEAD", "/relay/openai/v1/models").kind, RouteMatch::Kind::kNotFound);
  // "/relay/<p>/" forwards "/" (the allowlist refuses it); "/relay/<p>" is no route.
  m = MatchRoute("POST", "/relay/openai/");
  ASSERT_EQ(m.kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(m.params["path"], "");
  EXPECT_EQ(MatchRoute("POST", "/relay/openai").kind, RouteMatch::Kind::kNotFound);
  // A parameter that does not percent-decode is the original's 400.
  m = MatchRoute("POST", "/keys/open%zzai");
  EXPECT_EQ(m.kind, RouteMatch::Kind::kBadParam);
  EXPECT_EQ(m.bad_param, "open%zzai");
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

TEST(RouteTableTest, UnknownPathsAndMethodsAreNotFound) {
  for (const char* path : {"/", "/nope", "/keys//", "/keys/a/b/c", "/relay/openai", "/users/x",
                           "//keys", "/stats/a/b", "/healthz"}) {
    EXPECT_EQ(MatchRoute("GET", path).kind, RouteMatch::Kind::kNotFound) << path;
  }
  // A known path with a method it does not answer is no route either (404, as the original).
  EXPECT_EQ(MatchRoute("GET", "/keys/openai").kind, RouteMatch::Kind::kNotFound);
  EXPECT_EQ(MatchRoute("PUT", "/users").kind, RouteMatch::Kind::kNotFound);
  for (const char* method : {"PUT", "PATCH", "DELETE", "HEAD", "TRACE"}) {
    EXPECT_EQ(MatchRoute(method, "/relay/openai/v1/chat/completions").kind,
              RouteMatch::Kind::kNotFound)
        << method;
  }
}

TEST(RouteTableTest, GuardsRunInTheOriginalsOrder) {
  auto guards = [](RouteId id) {
    for (const Route& r : Routes()) {
      if (r.id == id) return std::vector<Guard>(r.guards.begin(), r.guards.end());
    }
    return std::vector<Guard>();
  };
  EXPECT_EQ(guards(RouteId::kCreateUser), (std::vector<Guard>{Guard::kAppSecret, Guard::kRegisterLimit}));
  EXPECT_EQ(guards(RouteId::kProviderRelay),
            (std::vector<Guard>{Guard::kVerifiedToken, Guard::kPathPrecheck, Guard::kRelayLimit}));
  EXPECT_EQ(guards(RouteId::kUnifiedRelay), (std::vector<Guard>{Guard::kVerifiedToken, Guard::kRelayLimit}));
  EXPECT_EQ(guards(RouteId::kAppStats), (std::vector<Guard>{Guard::kAppSecret}));
  EXPECT_EQ(guards(RouteId::kListKeys), (std::vector<Guard>{Guard::kToken}));
  EXPECT_EQ(guards(RouteId::kVersion), (std::vector<Guard>{}));
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
    for (const char* method : {"GET", "POST", "DELETE"}) {
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
  EXPECT_EQ(doc["paths"]["/keys"]["get"]["security"][1].begin().key(), "bearerToken");
  EXPECT_EQ(doc["components"]["securitySchemes"]["relayToken"]["name"], "x-relay-token");
  EXPECT_FALSE(doc["paths"]["/health"]["get"].contains("security"));
  EXPECT_TRUE(doc["paths"]["/keys/{provider}/rotate"]["post"]["responses"].contains("422"));
  // Responses are described as the routes send them (compat.md §3).
  EXPECT_EQ(doc["components"]["schemas"]["TokenResponse"]["properties"]["expires_at"]["type"], "integer");
  EXPECT_EQ(doc["paths"]["/keys"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
               ["properties"]["providers"]["items"]["type"],
            "string");
}

TEST(OpenApiTest, YamlIsTheSameDocument) {
  std::string yaml = OpenApiYaml();
  EXPECT_EQ(yaml.rfind("\"openapi\": \"3.0.3\"\n", 0), 0u) << yaml.substr(0, 80);
  EXPECT_NE(yaml.find("\"/keys/{provider}/rotate\":\n"), std::string::npos);
  EXPECT_NE(yaml.find("    \"post\":\n"), std::string::npos);
  // Every path of the JSON document appears as a key of the YAML one.
  nlohmann::json doc = nlohmann::json::parse(OpenApiDocument());
  for (const auto& [path, item] : doc["paths"].items()) {
    EXPECT_NE(yaml.find(absl::StrCat("  \"", path, "\":\n")), std::string::npos) << path;
  }
}

}  // namespace
}  // namespace byok::gateway
