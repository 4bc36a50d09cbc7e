// Models: ALLOWED_MODELS and where a request names its model (compat.md §3.14, §3.15, §9).
#ifndef BYOK_SERVICES_RELAY_POLICY_MODEL_POLICY_H_
#define BYOK_SERVICES_RELAY_POLICY_MODEL_POLICY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "services/relay/policy/provider_table.h"

namespace byok::relay {

// Trailing metadata of a Relay call refused for its model: ALLOWED_MODELS as a JSON array, which the
// gateway shows as the 403's `allowed_models`.
inline constexpr char kAllowedModelsTrailer[] = "byok-allowed-models";

// Returns true when `text` matches `pattern` as a whole, ASCII case-insensitively, where '*' matches
// any run of characters (including none) and everything else is literal. Linear, no recursion.
bool WildcardMatch(absl::string_view pattern, absl::string_view text);

// The 403 text for a refused model: `Model "<model>" is not permitted on this relay.`
std::string NotPermittedMessage(absl::string_view model);

// The ALLOWED_MODELS allowlist. Empty means every model is allowed.
class ModelAllowlist {
 public:
  ModelAllowlist() = default;
  explicit ModelAllowlist(std::vector<std::string> patterns) : patterns_(std::move(patterns)) {}

  // Splits a comma list; entries trimmed, empty ones dropped. Every string is accepted (the original
  // accepts any).
  static ModelAllowlist Parse(absl::string_view comma_list);

  bool empty() const { return patterns_.empty(); }
  const std::vector<std::string>& patterns() const { return patterns_; }

  // True when some pattern matches `text`.
  bool Matches(absl::string_view text) const;

  // POST /relay/{provider}/*: allowed when the list is empty, the model is unknown (nullopt), the model
  // matches, or it has no '/' and "<provider>/<model>" matches.
  bool AllowsProviderModel(absl::string_view provider, const std::optional<std::string>& model) const;

  // POST /relay: the raw client string must match (when the list is set).
  bool AllowsUnifiedModel(absl::string_view raw_model) const;

 private:
  std::vector<std::string> patterns_;
};

// What the relay reads from a JSON request body.
struct JsonBodyFacts {
  // Top-level "model" when it is a string.
  std::optional<std::string> model;
  // Top-level "stream" is exactly the boolean true.
  bool stream = false;
};

// Reads `body` as JSON (bounded depth); a body that is not a JSON object yields no facts.
JsonBodyFacts ReadJsonBody(absl::string_view body);

// Gemini's model from a forward path /v1beta/models/<name> or /v1/models/<name>, optionally followed
// by :generateContent or :streamGenerateContent, then '/', '?' or the end. nullopt otherwise (other
// actions such as :countTokens name no model here).
std::optional<std::string> ModelFromGeminiPath(absl::string_view forward_path);

}  // namespace byok::relay

#endif  // BYOK_SERVICES_RELAY_POLICY_MODEL_POLICY_H_
