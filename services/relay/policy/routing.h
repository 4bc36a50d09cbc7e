// Unified routing (POST /relay with {"model": ...}), exactly as the original byok-relay (compat.md
// §3.14): "prefix/name" for the six routable prefixes, else the first matching name pattern.
#ifndef BYOK_SERVICES_RELAY_POLICY_ROUTING_H_
#define BYOK_SERVICES_RELAY_POLICY_ROUTING_H_

#include <string>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace byok::relay {

// One row of the routing table for names without a '/'.
struct ModelPattern {
  // The original's regex source, shown by GET /models with flags "i" (case-insensitive, whole string
  // from its start).
  absl::string_view source;
  absl::string_view provider;
  // Forward path; "" for google (dynamic: GooglePath).
  absl::string_view path;
  // The regex, hand-written (no regex engine on client input): true when `model` matches.
  bool (*matches)(absl::string_view model);
};

// The table, in the order patterns are tried.
absl::Span<const ModelPattern> ModelPatterns();

// The default forward path of a routable prefix (anthropic /v1/messages, groq
// /openai/v1/chat/completions, openrouter /api/v1/chat/completions, openai and mistral
// /v1/chat/completions, google GooglePath).
std::string DefaultUnifiedPath(absl::string_view provider, absl::string_view name, bool stream);

// Gemini's path: /v1beta/models/<name>:generateContent, or :streamGenerateContent when streaming.
std::string GooglePath(absl::string_view name, bool stream);

// Where a unified request goes.
struct UnifiedRoute {
  std::string provider;
  // The model name the provider gets (prefix removed, trimmed).
  std::string name;
  // Forward path below the provider's base URL.
  std::string path;
  // True when the body has "stream": true (exactly the boolean).
  bool stream = false;
};

// The exact 400 texts of steps 3 and 4 of compat.md §3.14.
inline constexpr absl::string_view kModelRequired =
    "model field is required. Use \"provider/model-name\" (e.g. \"anthropic/claude-3-5-haiku\") or a "
    "recognised model name (e.g. \"gpt-4o\"). See GET /models for the full routing table.";
std::string CannotRouteMessage(const nlohmann::json& model);

// Routes a unified request whose body is the JSON object `body`. InvalidArgument with kModelRequired
// when "model" is falsy (absent, null, false, 0, ""), or CannotRouteMessage when it cannot be routed.
absl::StatusOr<UnifiedRoute> RouteUnified(const nlohmann::json& body);

// The JavaScript String() of a JSON value (arrays joined with ',', objects "[object Object]"), as the
// original renders a model in its message; at most `limit` bytes. Iterative.
std::string JsText(const nlohmann::json& value, size_t limit);

}  // namespace byok::relay

#endif  // BYOK_SERVICES_RELAY_POLICY_ROUTING_H_
