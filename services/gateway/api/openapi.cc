#include "services/gateway/api/openapi.h"

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/version.h"
#include "services/gateway/api/route_table.h"

namespace byok::gateway {
namespace {

using nlohmann::ordered_json;

ordered_json Ref(const char* name) {
  return {{"$ref", absl::StrCat("#/components/schemas/", name)}};
}

ordered_json JsonContent(ordered_json schema) {
  return {{"application/json", {{"schema", std::move(schema)}}}};
}

ordered_json ErrorResponse(const char* description) {
  return {{"description", description}, {"content", JsonContent(Ref("Error"))}};
}

// The success schema of each route (compat.md §3).
ordered_json SuccessSchema(RouteId id) {
  switch (id) {
    case RouteId::kHealth:
      return Ref("Health");
    case RouteId::kVersion:
      return Ref("Version");
    case RouteId::kModels:
      return Ref("Models");
    case RouteId::kCreateUser:
      return Ref("TokenResponse");
    case RouteId::kPutKey:
      return {{"type", "object"},
              {"properties", {{"ok", {{"type", "boolean"}}}, {"provider", {{"type", "string"}}}}}};
    case RouteId::kRotateKey:
      return {{"type", "object"},
              {"properties",
               {{"ok", {{"type", "boolean"}}},
                {"provider", {{"type", "string"}}},
                {"rotated", {{"type", "boolean"}}}}}};
    case RouteId::kListKeys:
      return {{"type", "object"},
              {"properties",
               {{"providers", {{"type", "array"}, {"items", {{"type", "string"}}}}}}}};
    case RouteId::kDeleteKey:
    case RouteId::kRevokeToken:
    case RouteId::kDeleteUser:
      return {{"type", "object"},
              {"properties", {{"ok", {{"type", "boolean"}}}, {"message", {{"type", "string"}}}}}};
    case RouteId::kUserStats:
    case RouteId::kAppStats:
      return Ref("Stats");
    default:
      return {{"type", "object"}};
  }
}

// The JSON request body of each route that takes one.
std::optional<ordered_json> RequestSchema(RouteId id) {
  switch (id) {
    case RouteId::kCreateUser:
      return ordered_json{{"type", "object"},
                          {"required", {"app_id"}},
                          {"properties", {{"app_id", {{"type", "string"}}}}}};
    case RouteId::kPutKey:
    case RouteId::kRotateKey:
      return ordered_json{
          {"type", "object"},
          {"properties",
           {{"key", {{"type", "string"}, {"minLength", 10}}},
            {"api_key", {{"type", "string"}, {"description", "alias of key"}}},
            {"base_url", {{"type", "string"}, {"description", "openai-compatible only: binds the key"}}}}}};
    case RouteId::kUnifiedRelay:
      return ordered_json{{"type", "object"},
                          {"required", {"model"}},
                          {"properties",
                           {{"model", {{"type", "string"}, {"example", "anthropic/claude-3-5-haiku"}}},
                            {"stream", {{"type", "boolean"}}}}}};
    default:
      return std::nullopt;
  }
}

ordered_json Operation(const Route& route) {
  ordered_json op = {{"summary", route.summary},
                     {"operationId", absl::StrCat(absl::AsciiStrToLower(route.method),
                                                  absl::StrReplaceAll(std::string(route.pattern),
                                                                      {{"/", "_"}, {"{", ""}, {"}", ""}, {".", ""}}))}};
  ordered_json params = ordered_json::array();
  for (absl::string_view segment : absl::StrSplit(route.pattern, '/')) {
    if (!absl::StartsWith(segment, "{")) continue;
    bool rest = absl::EndsWith(segment, "...}");
    std::string name(segment.substr(1, segment.size() - (rest ? 5 : 2)));
    params.push_back({{"name", name},
                      {"in", "path"},
                      {"required", true},
                      {"schema", {{"type", "string"}}},
                      {"description", rest ? "the rest of the path (several segments), passed to the "
                                             "provider with the query string"
                                           : "one path segment"}});
  }
  if (route.id == RouteId::kHealth) {
    params.push_back({{"name", "deep"},
                      {"in", "query"},
                      {"required", false},
                      {"schema", {{"type", "string"}, {"enum", {"1", "true"}}}},
                      {"description", "also ping a provider (10 per minute per address)"}});
    params.push_back({{"name", "provider"},
                      {"in", "query"},
                      {"required", false},
                      {"schema", {{"type", "string"}, {"default", "openai"}}},
                      {"description", "the provider a deep probe pings"}});
  }
  if (NeedsToken(route)) {
    op["security"] = ordered_json::array({{{"relayToken", ordered_json::array()}},
                                          {{"bearerToken", ordered_json::array()}}});
  } else if (NeedsAppSecret(route)) {
    op["security"] = ordered_json::array({{{"appSecret", ordered_json::array()}}, ordered_json::object()});
  }
  if (!params.empty()) op["parameters"] = params;
  if (std::optional<ordered_json> schema = RequestSchema(route.id)) {
    op["requestBody"] = {{"required", true}, {"content", JsonContent(*schema)}};
  } else if (route.id == RouteId::kProviderRelay && absl::string_view(route.method) == "POST") {
    op["requestBody"] = {{"required", false},
                         {"content",
                          {{"application/json", {{"schema", {{"type", "object"}}}}},
                           {"*/*", {{"schema", {{"type", "string"}, {"format", "binary"}}}}}}}};
  }
  ordered_json responses = {
      {"200", {{"description", "success"}, {"content", JsonContent(SuccessSchema(route.id))}}},
      {"400", ErrorResponse("bad input, or a body that is not valid JSON")},
      {"404", ErrorResponse("unknown route or method: Cannot <METHOD> <path>")},
      {"413", ErrorResponse("body too large")},
      {"429", ErrorResponse("rate limited (Retry-After and RateLimit-* headers)")},
      {"503", ErrorResponse("a backing service is down")},
  };
  if (route.id == RouteId::kOpenApiYaml) {
    responses["200"]["content"] = {{"text/yaml", {{"schema", {{"type", "string"}}}}}};
  }
  if (NeedsToken(route) || NeedsAppSecret(route)) {
    responses["401"] = ErrorResponse("missing or invalid credentials");
  }
  if (route.id == RouteId::kRotateKey) responses["422"] = ErrorResponse("key rejected by provider");
  if (route.id == RouteId::kUnifiedRelay || route.id == RouteId::kProviderRelay) {
    responses["200"] = {{"description",
                         "the provider's response with its status, streamed as it arrives (SSE passes "
                         "through as text/event-stream)"}};
    responses["403"] = ErrorResponse("path or model not allowed");
    responses["502"] = ErrorResponse("Failed to reach AI provider");
    responses["504"] = ErrorResponse("AI provider timed out");
  }
  op["responses"] = responses;
  return op;
}

ordered_json Schemas() {
  ordered_json str = {{"type", "string"}};
  ordered_json integer = {{"type", "integer"}};
  ordered_json nullable_str = {{"type", "string"}, {"nullable", true}};
  return {
      {"Error",
       {{"type", "object"},
        {"required", {"error"}},
        {"properties", {{"error", str}, {"code", str}, {"hint", str}}}}},
      {"TokenResponse",
       {{"type", "object"},
        {"properties",
         {{"token", str},
          {"expires_at",
           {{"type", "integer"}, {"nullable", true}, {"description", "ms since the Unix epoch"}}}}}}},
      {"Version",
       {{"type", "object"},
        {"properties",
         {{"version", str}, {"commit", nullable_str}, {"buildTime", str}, {"repoUrl", str},
          {"attestationUrl", nullable_str}}}}},
      {"Health",
       {{"type", "object"},
        {"properties",
         {{"ok", {{"type", "boolean"}}},
          {"status", {{"type", "string"}, {"enum", {"ok", "degraded"}}}},
          {"version", str},
          {"commit", nullable_str},
          {"buildTime", str},
          {"uptime", integer},
          {"timestamp", str},
          {"providers", {{"type", "array"}, {"items", str}}},
          {"checks", {{"type", "object"}}},
          {"warnings", {{"type", "array"}, {"items", str}}}}}}},
      {"Models",
       {{"type", "object"},
        {"properties",
         {{"providers", {{"type", "array"}, {"items", str}}},
          {"providerPrefixes", {{"type", "array"}, {"items", str}}},
          {"patterns", {{"type", "array"}, {"items", {{"type", "object"}}}}},
          {"restricted", {{"type", "boolean"}}},
          {"allowed_models", {{"type", "array"}, {"items", str}}},
          {"message", str},
          {"usage", str},
          {"examples", {{"type", "array"}, {"items", str}}}}}}},
      {"Stats",
       {{"type", "object"},
        {"properties",
         {{"app_id", str},
          {"user_count", integer},
          {"total", integer},
          {"last_7d", integer},
          {"last_30d", integer},
          {"error_count", integer},
          {"error_rate", {{"type", "number"}}},
          {"providers", {{"type", "object"}}},
          {"top_models", {{"type", "array"}, {"items", {{"type", "object"}}}}},
          {"last_request", nullable_str},
          {"input_tokens", integer},
          {"output_tokens", integer},
          {"daily", {{"type", "array"}, {"items", {{"type", "object"}}}}}}}}},
  };
}

ordered_json Document() {
  ordered_json paths = ordered_json::object();
  for (const Route& route : Routes()) {
    paths[OpenApiPath(route.pattern)][absl::AsciiStrToLower(route.method)] = Operation(route);
  }
  return {
      {"openapi", "3.0.3"},
      {"info",
       {{"title", kProductName},
        {"version", kVersion},
        {"description", "Bring-your-own-key relay for AI providers: users store their own provider "
                        "keys, encrypted; browser apps relay requests with a token."}}},
      {"paths", paths},
      {"components",
       {{"schemas", Schemas()},
        {"securitySchemes",
         {{"relayToken", {{"type", "apiKey"}, {"in", "header"}, {"name", "x-relay-token"}}},
          {"bearerToken",
           {{"type", "http"}, {"scheme", "bearer"}, {"description", "the relay token, when x-relay-token is absent"}}},
          {"appSecret", {{"type", "http"}, {"scheme", "bearer"}, {"description", "APP_SECRET"}}}}}}},
  };
}

// YAML for a scalar: JSON's spelling is valid YAML for numbers, booleans, null and quoted strings.
std::string YamlScalar(const ordered_json& value) { return value.dump(); }

// Appends `value` as YAML at `indent`. The document is ours (a few levels deep), not input.
void AppendYaml(const ordered_json& value, int indent, std::string* out) {
  const std::string pad(static_cast<size_t>(indent), ' ');
  if (value.is_object()) {
    for (const auto& [key, item] : value.items()) {
      absl::StrAppend(out, pad, ordered_json(key).dump(), ":");
      if ((item.is_object() || item.is_array()) && !item.empty()) {
        absl::StrAppend(out, "\n");
        AppendYaml(item, indent + 2, out);
      } else {
        absl::StrAppend(out, " ", item.is_object() ? "{}" : item.is_array() ? "[]" : YamlScalar(item), "\n");
      }
    }
  } else if (value.is_array()) {
    for (const auto& item : value) {
      if ((item.is_object() || item.is_array()) && !item.empty()) {
        absl::StrAppend(out, pad, "-\n");
        AppendYaml(item, indent + 2, out);
      } else {
        absl::StrAppend(out, pad, "- ", item.is_object() ? "{}" : item.is_array() ? "[]" : YamlScalar(item),
                        "\n");
      }
    }
  }
}

}  // namespace

std::string OpenApiPath(absl::string_view pattern) {
  return absl::StrReplaceAll(pattern, {{"...}", "}"}});
}

std::string OpenApiDocument() { return Document().dump(2); }

std::string OpenApiYaml() {
  std::string out;
  AppendYaml(Document(), 0, &out);
  return out;
}

}  // namespace byok::gateway
