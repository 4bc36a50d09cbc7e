#include "services/gateway/openapi.h"

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/version.h"
#include "services/gateway/route_table.h"

namespace byok::gateway {
namespace {

using nlohmann::json;

json ErrorResponse(const char* description) {
  return {{"description", description},
          {"content", {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}};
}

json Operation(const Route& route) {
  json op = {{"summary", route.summary},
             {"operationId", absl::StrReplaceAll(std::string(route.pattern), {{"/", "_"}})}};
  json params = json::array();
  for (absl::string_view segment : absl::StrSplit(route.pattern, '/')) {
    if (!absl::StartsWith(segment, "{")) continue;
    bool rest = absl::EndsWith(segment, "...}");
    std::string name(segment.substr(1, segment.size() - (rest ? 5 : 2)));
    params.push_back(
        {{"name", name},
         {"in", "path"},
         {"required", true},
         {"schema", {{"type", "string"}}},
         {"description", rest ? "the rest of the path, with several segments and the query string, "
                                "passed to the provider"
                              : "one path segment"}});
  }
  if (route.id == RouteId::kHealth) {
    // Accepted for compatibility; readiness of the vault and relay is always checked live.
    for (const char* name : {"deep", "provider"}) {
      params.push_back({{"name", name},
                        {"in", "query"},
                        {"required", false},
                        {"schema", {{"type", "string"}}},
                        {"description", "accepted for compatibility; the vault and relay are always "
                                        "checked live"}});
    }
  }
  if (route.auth == Auth::kToken) {
    op["security"] = json::array({{{"relayToken", json::array()}}});
  } else if (route.auth == Auth::kAppSecret) {
    op["security"] = json::array({{{"appSecret", json::array()}}, json::object()});
  }
  if (!params.empty()) op["parameters"] = params;
  if (route.json_body) {
    op["requestBody"] = {{"required", true},
                         {"content", {{"application/json", {{"schema", {{"type", "object"}}}}}}}};
  }
  json responses = {
      {"200", {{"description", "success"}}},
      {"400", ErrorResponse("bad input")},
      {"404", ErrorResponse("unknown route or resource")},
      {"413", ErrorResponse("body too large")},
      {"429", ErrorResponse("rate limited (Retry-After and RateLimit-* headers)")},
      {"503", ErrorResponse("a backing service is down")},
  };
  if (route.auth != Auth::kNone) responses["401"] = ErrorResponse("missing or invalid credentials");
  if (route.id == RouteId::kRotateKey) responses["422"] = ErrorResponse("key rejected by provider");
  if (route.id == RouteId::kUnifiedRelay || route.id == RouteId::kProviderRelay) {
    responses["200"]["description"] =
        "the provider's response, streamed (chunked; SSE passes through as text/event-stream)";
    responses["403"] = ErrorResponse("path or model not allowed");
    responses["502"] = ErrorResponse("provider unreachable");
    responses["504"] = ErrorResponse("provider timed out");
  }
  op["responses"] = responses;
  return op;
}

}  // namespace

std::string OpenApiPath(absl::string_view pattern) {
  return absl::StrReplaceAll(pattern, {{"...}", "}"}});
}

std::string OpenApiDocument() {
  json paths = json::object();
  for (const Route& route : Routes()) {
    json& item = paths[OpenApiPath(route.pattern)];
    if (absl::string_view(route.method) == "*") {
      for (const char* method : kAnyMethods) item[absl::AsciiStrToLower(method)] = Operation(route);
    } else {
      item[absl::AsciiStrToLower(route.method)] = Operation(route);
    }
  }
  json doc = {
      {"openapi", "3.0.3"},
      {"info",
       {{"title", kProductName},
        {"version", kVersion},
        {"description", "Bring-your-own-key relay for AI providers: users store their own provider "
                        "keys, encrypted; browser apps relay requests with a token."}}},
      {"paths", paths},
      {"components",
       {{"schemas",
         {{"Error",
           {{"type", "object"},
            {"required", {"error"}},
            {"properties", {{"error", {{"type", "string"}}}}}}}}},
        {"securitySchemes",
         {{"relayToken", {{"type", "apiKey"}, {"in", "header"}, {"name", "x-relay-token"}}},
          {"appSecret", {{"type", "http"}, {"scheme", "bearer"}}}}}}},
  };
  return doc.dump(2);
}

}  // namespace byok::gateway
