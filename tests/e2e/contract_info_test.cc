// Contract, compat.md §3.1-3.4: /health (plain and deep), /version, /openapi.json, /openapi.yaml and
// /models, field by field.
#include <gmock/gmock.h>

#include "tests/e2e/contract_helpers.h"

namespace byok::testing {
namespace {

using ::testing::MatchesRegex;

constexpr char kIsoMillis[] = "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z";

class ContractInfoTest : public ContractTest {
 protected:
  static void SetUpTestSuite() { StartSuite(); }
};

TEST_F(ContractInfoTest, HealthHasTheOriginalsFieldsAndOurStatus) {
  TestResponse r = Call("GET", "/health", "");
  ASSERT_EQ(r.status, 200) << r.body;
  nlohmann::json h = Json(r);
  EXPECT_EQ(h["ok"], true);
  EXPECT_EQ(h["status"], "ok");
  EXPECT_TRUE(h["version"].is_string());
  EXPECT_TRUE(h["commit"].is_null());
  EXPECT_THAT(h["buildTime"].get<std::string>(), MatchesRegex(kIsoMillis));
  EXPECT_TRUE(h["uptime"].is_number_integer());
  EXPECT_THAT(h["timestamp"].get<std::string>(), MatchesRegex(kIsoMillis));
  ASSERT_TRUE(h["providers"].is_array());
  EXPECT_NE(std::find(h["providers"].begin(), h["providers"].end(), "openai"), h["providers"].end());
  EXPECT_EQ(h["checks"]["db"], nlohmann::json({{"ok", true}}));
  EXPECT_EQ(h["checks"]["config"], nlohmann::json({{"ok", true},
                                                    {"encryption_key_set", true},
                                                    {"registration_gated", true},
                                                    {"model_allowlist_restricted", false}}));
  EXPECT_FALSE(h["checks"].contains("upstream"));
  EXPECT_FALSE(h.contains("warnings"));
  const std::vector<std::string> order = {"ok", "version", "commit", "buildTime", "uptime",
                                          "timestamp", "providers", "checks"};
  std::vector<std::string> keys = KeysInOrder(r.body);
  ASSERT_GE(keys.size(), order.size());
  EXPECT_EQ(std::vector<std::string>(keys.begin(), keys.begin() + order.size()), order);
}

TEST_F(ContractInfoTest, DeepHealthPingsAProviderAndIsLimited) {
  auto port = suite_->StartExtraGateway({{"COMMIT_SHA", "abc123"}});
  ASSERT_TRUE(port.ok()) << port.status();
  TestResponse r = Call("GET", "/health?deep=1", "", "", {}, *port);
  ASSERT_EQ(r.status, 200) << r.body;
  nlohmann::json up = Json(r)["checks"]["upstream"];
  EXPECT_EQ(up["provider"], "openai");
  EXPECT_EQ(up["ok"], true) << r.body;
  EXPECT_TRUE(up["statusCode"].is_number_integer()) << r.body;
  EXPECT_EQ(Json(r)["commit"], "abc123");
  EXPECT_EQ(r.Header("ratelimit-policy"), "10;w=60");

  r = Call("GET", "/health?deep=TRUE&provider=nope", "", "", {}, *port);
  EXPECT_EQ(Json(r)["checks"]["upstream"], nlohmann::json({{"ok", false}, {"error", "Unknown provider 'nope'"}}));
  EXPECT_FALSE(Json(r).contains("warnings"));
  r = Call("GET", "/health?deep=true&provider=openai-compatible", "", "", {}, *port);
  EXPECT_EQ(Json(r)["checks"]["upstream"],
            nlohmann::json({{"ok", false}, {"provider", "openai-compatible"}, {"error", "Ping failed"}}));
  EXPECT_EQ(Json(r)["warnings"], nlohmann::json({"Provider openai-compatible unreachable"}));

  // Ten deep probes a minute; plain probes (deep=yes is plain) are not counted by it.
  for (int i = 3; i < 10; ++i) ASSERT_EQ(Call("GET", "/health?deep=1&provider=nope", "", "", {}, *port).status, 200);
  r = Call("GET", "/health?deep=1", "", "", {}, *port);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(Error(r), "Deep health probe rate limit exceeded (10/min).");
  EXPECT_EQ(r.Header("ratelimit-limit"), "10");
  EXPECT_FALSE(r.Header("retry-after").empty());
  r = Call("GET", "/health?deep=yes", "", "", {}, *port);
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(Json(r)["checks"].contains("upstream"));
}

TEST_F(ContractInfoTest, VersionNamesTheBuild) {
  TestResponse r = Call("GET", "/version", "");
  ASSERT_EQ(r.status, 200);
  nlohmann::json v = Json(r);
  EXPECT_EQ(KeysInOrder(r.body),
            (std::vector<std::string>{"version", "commit", "buildTime", "repoUrl", "attestationUrl"}));
  EXPECT_TRUE(v["commit"].is_null());
  EXPECT_TRUE(v["attestationUrl"].is_null());
  auto port = suite_->StartExtraGateway({{"COMMIT_SHA", "abc123"}, {"BUILD_TIME", "2026-01-02T03:04:05.000Z"},
                                         {"BYOK_REPO_URL", "https://example.org/byok"}});
  ASSERT_TRUE(port.ok()) << port.status();
  v = Json(Call("GET", "/version", "", "", {}, *port));
  EXPECT_EQ(v["commit"], "abc123");
  EXPECT_EQ(v["buildTime"], "2026-01-02T03:04:05.000Z");
  EXPECT_EQ(v["repoUrl"], "https://example.org/byok");
  EXPECT_EQ(v["attestationUrl"], "https://example.org/byok/tree/abc123");
}

TEST_F(ContractInfoTest, OpenApiComesAsJsonAndYaml) {
  TestResponse json = Call("GET", "/openapi.json", "");
  ASSERT_EQ(json.status, 200);
  EXPECT_EQ(json.Header("content-type"), "application/json; charset=utf-8");
  nlohmann::json doc = Json(json);
  for (const char* path : {"/health", "/version", "/models", "/users", "/keys", "/keys/{provider}",
                           "/keys/{provider}/rotate", "/tokens/revoke", "/stats", "/stats/{app_id}", "/relay",
                           "/relay/{provider}/{path}", "/openapi.yaml"}) {
    EXPECT_TRUE(doc["paths"].contains(path)) << path;
  }
  TestResponse yaml = Call("GET", "/openapi.yaml", "");
  ASSERT_EQ(yaml.status, 200);
  EXPECT_EQ(yaml.Header("content-type"), "text/yaml; charset=utf-8");
  EXPECT_EQ(yaml.body.rfind("\"openapi\": \"3.0.3\"\n", 0), 0u);
}

TEST_F(ContractInfoTest, ModelsDescribesRoutingInTheOriginalsShape) {
  TestResponse r = Call("GET", "/models", "");
  ASSERT_EQ(r.status, 200) << r.body;
  nlohmann::json m = Json(r);
  EXPECT_EQ(KeysInOrder(r.body), (std::vector<std::string>{"providers", "providerPrefixes", "patterns", "restricted",
                                               "message", "usage", "examples"}));
  EXPECT_EQ(m["restricted"], false);
  EXPECT_EQ(m["message"], "All models are permitted on this relay.");
  EXPECT_EQ(m["usage"], "POST /relay with { model: \"provider/model-name\", ...providerBody }");
  EXPECT_EQ(m["examples"].size(), 3u);
  for (const char* p : {"openai", "anthropic", "google", "groq", "openrouter", "mistral"}) {
    EXPECT_NE(std::find(m["providerPrefixes"].begin(), m["providerPrefixes"].end(), p),
              m["providerPrefixes"].end())
        << p;
  }
  ASSERT_FALSE(m["patterns"].empty());
  for (const auto& p : m["patterns"]) {
    EXPECT_TRUE(p["pattern"].is_string());
    EXPECT_EQ(p["flags"], "i");
    EXPECT_TRUE(p["provider"].is_string());
  }
}

TEST(ContractInfoAllowlistTest, RestrictedModelsAreListed) {
  SuiteOptions options;
  options.relay_env["ALLOWED_MODELS"] = "gpt-4o-mini, anthropic/claude-3-5-haiku*";
  auto suite = Suite::Start(options);
  ASSERT_TRUE(suite.ok()) << suite.status();
  auto m = Fetch((*suite)->port(), "GET", "/models");
  ASSERT_TRUE(m.ok());
  nlohmann::json body = Json(*m);
  EXPECT_EQ(body["restricted"], true);
  EXPECT_EQ(body["allowed_models"], nlohmann::json({"gpt-4o-mini", "anthropic/claude-3-5-haiku*"}));
  EXPECT_FALSE(body.contains("message"));
  auto h = Fetch((*suite)->port(), "GET", "/health");
  ASSERT_TRUE(h.ok());
  nlohmann::json config = Json(*h)["checks"]["config"];
  EXPECT_EQ(config["model_allowlist_restricted"], true);
  EXPECT_EQ(config["allowed_models"], nlohmann::json({"gpt-4o-mini", "anthropic/claude-3-5-haiku*"}));
}

}  // namespace
}  // namespace byok::testing
