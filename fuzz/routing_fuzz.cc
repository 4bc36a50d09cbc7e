// JSON bodies from browsers as the unified route and the model policy read them: routing (with and
// without an allowlist), the body facts the relay reads, the splice that replaces only the model's bytes,
// the model of a Gemini path, and the forward path computed from the same bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/json/json_nesting.h"
#include "services/relay/policy/forward_path.h"
#include "services/relay/policy/json_splice.h"
#include "services/relay/policy/model_policy.h"
#include "services/relay/policy/routing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  static const byok::relay::ModelAllowlist kSome =
      byok::relay::ModelAllowlist::Parse("gpt-4o*, claude-*, openai/*");
  byok::relay::JsonBodyFacts facts = byok::relay::ReadJsonBody(body);
  (void)kSome.AllowsProviderModel("openai", facts.model);
  if (std::optional<nlohmann::json> doc = byok::json::ParseBounded(body); doc && doc->is_object()) {
    absl::StatusOr<byok::relay::UnifiedRoute> route = byok::relay::RouteUnified(*doc);
    if (route.ok()) {
      (void)byok::relay::ReplaceTopLevelValue(body, "model", nlohmann::json(route->name).dump());
      if (doc->at("model").is_string()) {
        (void)kSome.AllowsUnifiedModel(doc->at("model").get_ref<const std::string&>());
      }
    }
  }
  const std::string path = byok::relay::ComputeForwardPath(body);
  (void)byok::relay::ModelFromGeminiPath(path);
  return 0;
}
