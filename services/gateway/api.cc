#include "services/gateway/api.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/json/json_nesting.h"
#include "services/gateway/openapi.h"

namespace byok::gateway {
namespace {

constexpr absl::string_view kBearer = "Bearer ";

// Compares two secrets in constant time, whatever their lengths, by comparing their digests.
bool SecretEquals(absl::string_view a, absl::string_view b) {
  unsigned char da[SHA256_DIGEST_LENGTH];
  unsigned char db[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(a.data()), a.size(), da);
  SHA256(reinterpret_cast<const unsigned char*>(b.data()), b.size(), db);
  return CRYPTO_memcmp(da, db, sizeof(da)) == 0;
}

bool IsRelayRoute(RouteId id) { return id == RouteId::kUnifiedRelay || id == RouteId::kProviderRelay; }

}  // namespace

Api::Api(const GatewayConfig& config, Backends& backends)
    : config_(config),
      backends_(backends),
      started_(absl::Now()),
      openapi_(OpenApiDocument()),
      global_limit_(config.rate_limit_global, absl::Minutes(1)),
      relay_limit_(config.rate_limit_relay, absl::Minutes(1)),
      register_limit_(config.rate_limit_register, absl::Hours(1)) {}

std::optional<HttpResponse> Api::CheckAppSecret(const HttpRequest& request) const {
  if (!config_.app_secret.has_value()) return std::nullopt;
  absl::string_view auth = request.Header("authorization");
  if (!absl::StartsWithIgnoreCase(auth, kBearer)) {
    return JsonError(401, "missing Authorization: Bearer <APP_SECRET>");
  }
  if (!SecretEquals(auth.substr(kBearer.size()), *config_.app_secret)) {
    return JsonError(401, "invalid app secret");
  }
  return std::nullopt;
}

void Api::Handle(HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
  absl::string_view origin = request.Header("origin");
  if (request.method == "OPTIONS") {
    // A preflight carries no credentials by design: answer it before any other check.
    HttpResponse preflight;
    preflight.status = 204;
    preflight.headers = config_.cors.PreflightHeaders(origin);
    writer->Send(std::move(preflight));
    return;
  }
  writer->AddHeaders(config_.cors.ResponseHeaders(origin));

  RouteMatch match = MatchRoute(request.method, request.path);
  if (match.kind == RouteMatch::Kind::kNotFound) {
    writer->Send(JsonError(404, absl::StrCat("no route for ", request.method, " ", request.path)));
    return;
  }
  if (match.kind == RouteMatch::Kind::kMethodNotAllowed) {
    HttpResponse response = JsonError(
        405, absl::StrCat("method ", request.method, " not allowed on ", request.path));
    response.headers.emplace_back("Allow", absl::StrJoin(match.allowed_methods, ", "));
    writer->Send(std::move(response));
    return;
  }
  const Route& route = *match.route;

  // Health probes come from the orchestrator, often many per minute: they are not rate limited.
  if (route.id != RouteId::kHealth) {
    RateDecision global = global_limit_.Acquire(request.client_address);
    if (!global.allowed) {
      HttpResponse response = JsonError(429, "too many requests, try again later");
      for (auto& h : global.Headers()) response.headers.push_back(std::move(h));
      writer->Send(std::move(response));
      return;
    }
    writer->AddHeaders(global.Headers());
  }

  // A JSON body sent to a provider is checked before any other step reads it (the original's body parser
  // runs first), bounded so that nothing later can recurse over an attacker's nesting.
  if (route.id == RouteId::kProviderRelay && !request.body.empty() &&
      absl::StrContains(absl::AsciiStrToLower(request.Header("content-type")), "application/json") &&
      (!::byok::json::CheckJsonNesting(request.body).ok() || !nlohmann::json::accept(request.body))) {
    writer->Send(JsonError(400, "request body is not valid JSON"));
    return;
  }

  Call call{std::move(request), std::move(writer), std::move(match), {}, nullptr};
  if (route.id == RouteId::kCreateUser) {
    RateDecision reg = register_limit_.Acquire(call.request.client_address);
    if (!reg.allowed) {
      HttpResponse response = JsonError(429, "too many registrations, try again later");
      for (auto& h : reg.Headers()) response.headers.push_back(std::move(h));
      call.writer->Send(std::move(response));
      return;
    }
  }
  if (route.auth == Auth::kAppSecret) {
    if (route.id == RouteId::kAppStats && !config_.app_secret.has_value()) {
      call.writer->Send(JsonError(403, "app statistics need APP_SECRET to be configured"));
      return;
    }
    if (std::optional<HttpResponse> refused = CheckAppSecret(call.request)) {
      call.writer->Send(*std::move(refused));
      return;
    }
  }
  if (route.auth == Auth::kToken) {
    call.token = std::string(call.request.Header("x-relay-token"));
    if (call.token.empty()) {
      call.writer->Send(JsonError(401, "missing x-relay-token header"));
      return;
    }
    if (route.id == RouteId::kProviderRelay) {
      if (std::optional<HttpResponse> refused = ProviderRelayPrecheck(call)) {
        call.writer->Send(*std::move(refused));
        return;
      }
    }
    if (IsRelayRoute(route.id)) {
      RateDecision relay = relay_limit_.Acquire(TokenRateKey(call.token));
      if (!relay.allowed) {
        HttpResponse response = JsonError(429, "too many relayed requests for this token");
        for (auto& h : relay.Headers()) response.headers.push_back(std::move(h));
        call.writer->Send(std::move(response));
        return;
      }
      // The tighter of the two limits is the one a client must watch.
      call.writer->AddHeaders(relay.Headers());
    }
  }
  if (route.json_body) {
    // Bounded: a body nested thousands deep would overflow the stack when serialised or destroyed.
    auto body = std::make_shared<nlohmann::json>(::byok::json::ParseBounded(call.request.body)
                                                     .value_or(nlohmann::json::value_t::discarded));
    if (call.request.body.empty() && route.id == RouteId::kCreateUser) {
      *body = nlohmann::json::object();
    }
    if (body->is_discarded()) {
      call.writer->Send(JsonError(400, "request body is not valid JSON"));
      return;
    }
    if (!body->is_object()) {
      call.writer->Send(JsonError(400, "request body must be a JSON object"));
      return;
    }
    call.body = std::move(body);
  }
  Dispatch(std::move(call));
}

void Api::Dispatch(Call call) {
  switch (call.match.route->id) {
    case RouteId::kHealth:
      return Health(std::move(call));
    case RouteId::kVersion:
      return Version(std::move(call));
    case RouteId::kOpenApi:
      call.writer->Send(JsonResponse(openapi_));
      return;
    case RouteId::kCreateUser:
      return CreateUser(std::move(call));
    case RouteId::kPutKey:
      return PutKey(std::move(call));
    case RouteId::kRotateKey:
      return RotateKey(std::move(call));
    case RouteId::kListKeys:
      return ListKeys(std::move(call));
    case RouteId::kDeleteKey:
      return DeleteKey(std::move(call));
    case RouteId::kRevokeToken:
      return RevokeToken(std::move(call));
    case RouteId::kDeleteUser:
      return DeleteUser(std::move(call));
    case RouteId::kUserStats:
      return Stats(std::move(call), /*app=*/false);
    case RouteId::kAppStats:
      return Stats(std::move(call), /*app=*/true);
    case RouteId::kModels:
      return Models(std::move(call));
    case RouteId::kUnifiedRelay:
      return UnifiedRelay(std::move(call));
    case RouteId::kProviderRelay:
      return ProviderRelay(std::move(call));
  }
}

}  // namespace byok::gateway
