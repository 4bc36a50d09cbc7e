#include "services/gateway/api/api.h"

#include <openssl/crypto.h>

#include <utility>

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/json/json_check.h"
#include "common/json/json_nesting.h"
#include "services/gateway/gateway_metrics.h"
#include "services/gateway/api/handlers_common.h"
#include "services/gateway/limits/limiter_factory.h"
#include "services/gateway/api/openapi.h"
#include "services/gateway/api/phrases.h"
#include "services/gateway/api/security_headers.h"

namespace byok::gateway {
namespace {

using byok::vault::v1::AuthenticateRequest;
using byok::vault::v1::AuthenticateResponse;

// Replaces headers of the same names in `into` with `headers` (case-insensitive names).
void MergeHeaders(HeaderList* into, const HeaderList& headers) {
  for (const auto& [name, value] : headers) {
    std::erase_if(*into, [&](const auto& h) { return absl::EqualsIgnoreCase(h.first, name); });
    into->emplace_back(name, value);
  }
}

// What a handler answers through: adds the chain's headers (which win over a handler's own) to whatever
// is sent, and drops the body of an answer to HEAD.
class ChainWriter : public ResponseWriter {
 public:
  ChainWriter(std::shared_ptr<ResponseWriter> inner, HeaderList headers, bool head_only)
      : inner_(std::move(inner)), headers_(std::move(headers)), head_only_(head_only) {}

  void AddHeaders(HeaderList headers) override { inner_->AddHeaders(std::move(headers)); }
  // A response starts once: the chain's headers are let go of then, not held while a stream lasts.
  void Send(HttpResponse response) override {
    MergeHeaders(&response.headers, std::exchange(headers_, {}));
    if (head_only_) response.body.clear();
    inner_->Send(std::move(response));
  }
  void StartStream(int status, HeaderList headers, std::string first_chunk,
                   std::function<void(bool)> done) override {
    MergeHeaders(&headers, std::exchange(headers_, {}));
    inner_->StartStream(status, std::move(headers), std::move(first_chunk), std::move(done));
  }
  void WriteChunk(std::string data, std::function<void(bool)> done) override {
    inner_->WriteChunk(std::move(data), std::move(done));
  }
  void FinishStream(std::string tail) override { inner_->FinishStream(std::move(tail)); }
  void AbortStream() override { inner_->AbortStream(); }
  void OnClientGone(std::function<void()> cancel) override { inner_->OnClientGone(std::move(cancel)); }

 private:
  std::shared_ptr<ResponseWriter> inner_;
  HeaderList headers_;
  const bool head_only_;
};

// The media type of a Content-Type value, lower-cased, without parameters.
std::string MediaType(absl::string_view content_type) {
  return absl::AsciiStrToLower(
      absl::StripAsciiWhitespace(content_type.substr(0, content_type.find(';'))));
}

// "Cannot <METHOD> <path>" names the path as the original's framework does: bytes outside printable
// ASCII percent-encoded.
std::string CannotMessage(absl::string_view method, absl::string_view path) {
  std::string out = absl::StrCat("Cannot ", method, " ");
  for (unsigned char c : path) {
    if (c > 0x20 && c < 0x7f && c != '"' && c != '<' && c != '>' && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppend(&out, "%", absl::AsciiStrToUpper(absl::StrCat(absl::Hex(c, absl::kZeroPad2))));
    }
  }
  return out;
}

// True when `a` equals `b`, in time that depends only on their lengths.
bool SecretEquals(absl::string_view a, absl::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

Api::Api(const GatewayConfig& config, Backends& backends)
    : config_(config),
      backends_(backends),
      started_(absl::Now()),
      openapi_json_(OpenApiDocument()),
      openapi_yaml_(OpenApiYaml()) {
  LimiterFactory limiters(config);
  global_limit_ = limiters.Make("global", config.rate_limit_global, absl::Minutes(1));
  deep_health_limit_ = limiters.Make("deep-health", config.rate_limit_deep_health, absl::Minutes(1));
  register_limit_ = limiters.Make("register", config.rate_limit_register, absl::Hours(1));
  relay_limit_ = limiters.Make("relay", config.rate_limit_relay, absl::Minutes(1));
}

void Api::Handle(HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
  // compat.md §1, in order.
  static constexpr Step kChain[] = {
      &Api::AddSecurityHeaders,  // helmet defaults on every response
      &Api::ApplyCors,           // grant headers; OPTIONS ends here (204)
      &Api::ReadBody,            // JSON (400 when malformed) or raw for /relay/*
      &Api::LimitGlobally,       // per client address
      &Api::ServeDemo,           // GET /demo/... when BYOK_DEMO=1
      &Api::FindRoute,           // 404 Cannot <METHOD> <path>
  };
  auto call = std::make_shared<Call>();
  call->observer = std::make_shared<RequestObserver>(std::move(writer), request);
  call->request = std::move(request);
  call->writer = call->observer;
  // Current while the chain runs here; each backend call carries it on (backends.h).
  trace::ScopedContext scope(&call->observer->context());
  for (Step step : kChain) {
    if (Outcome answer = (this->*step)(*call)) return Reply(*call, *std::move(answer));
  }
  RunGuards(std::move(call), 0);
}

void Api::Refuse(int status, std::string message, absl::string_view origin,
                 std::shared_ptr<ResponseWriter> writer) {
  HttpRequest unread;  // nothing of the request is trusted: no route, a new request id
  auto observer = std::make_shared<RequestObserver>(std::move(writer), unread);
  trace::ScopedContext scope(&observer->context());
  HttpResponse response = JsonError(status, message);
  MergeHeaders(&response.headers, RefusalHeaders(origin));
  observer->Send(std::move(response));
}

HeaderList Api::RefusalHeaders(absl::string_view origin) const {
  HeaderList headers = SecurityHeaders();
  MergeHeaders(&headers, config_.cors.ResponseHeaders(origin));
  return headers;
}

// --- Steps 1-5 -----------------------------------------------------------------------------------

Api::Outcome Api::AddSecurityHeaders(Call& call) {
  MergeHeaders(&call.headers, SecurityHeaders());
  return std::nullopt;
}

Api::Outcome Api::ApplyCors(Call& call) {
  absl::string_view origin = call.request.Header("origin");
  if (call.request.method == "OPTIONS") {
    // A preflight carries no credentials by design: answered before any limiter or route.
    HttpResponse preflight;
    preflight.status = 204;
    preflight.headers = config_.cors.PreflightHeaders(origin);
    return preflight;
  }
  MergeHeaders(&call.headers, config_.cors.ResponseHeaders(origin));
  return std::nullopt;
}

Api::Outcome Api::ReadBody(Call& call) {
  const HttpRequest& r = call.request;
  absl::string_view content_type = r.Header("content-type");
  // A provider body that is not JSON (audio, multipart) passes through as bytes.
  if (absl::StartsWith(r.path, "/relay/") && !absl::StrContains(content_type, "application/json")) {
    return std::nullopt;
  }
  // The relay routes send the bytes as received: they need the verdict on a JSON body, not its
  // document. (Routes match without regard to case, so this test does too.)
  const bool relay =
      absl::EqualsIgnoreCase(r.path, "/relay") || absl::StartsWithIgnoreCase(r.path, "/relay/");
  if (!relay) call.body = std::make_shared<nlohmann::json>(nlohmann::json::object());
  if (r.body.empty() || MediaType(content_type) != "application/json") return std::nullopt;
  // Strict, as the original's parser: an object or an array at the top. Bounded, so that nothing later
  // can recurse over an attacker's nesting.
  absl::string_view text = absl::StripLeadingAsciiWhitespace(r.body);
  if (text.empty() || (text.front() != '{' && text.front() != '[')) {
    return JsonError(400, phrase::kInvalidJson, "invalid_json");
  }
  if (relay) {
    absl::StatusOr<::byok::json::JsonShape> shape = ::byok::json::CheckJson(r.body);
    if (!shape.ok()) return JsonError(400, phrase::kInvalidJson, "invalid_json");
    call.json_shape = *shape;
    return std::nullopt;
  }
  std::optional<nlohmann::json> parsed = ::byok::json::ParseBounded(r.body);
  if (!parsed.has_value()) return JsonError(400, phrase::kInvalidJson, "invalid_json");
  call.json_shape =
      parsed->empty() ? ::byok::json::JsonShape::kEmpty : ::byok::json::JsonShape::kHasElements;
  *call.body = *std::move(parsed);
  return std::nullopt;
}

Api::Outcome Api::LimitGlobally(Call& call) {
  return Limit(*global_limit_, call.request.client_address, phrase::kGlobalLimit, call);
}

Api::Outcome Api::FindRoute(Call& call) {
  call.match = MatchRoute(call.request.method, call.request.path);
  switch (call.match.kind) {
    case RouteMatch::Kind::kFound:
      call.observer->SetRoute(call.match.route);
      return std::nullopt;
    case RouteMatch::Kind::kBadParam:
      return JsonError(400, absl::StrCat("Failed to decode param '", call.match.bad_param, "'"),
                       "bad_path_parameter");
    case RouteMatch::Kind::kNotFound:
      break;
  }
  return JsonError(404, CannotMessage(call.request.method, call.request.path), "not_found");
}

// --- Step 6: the route's guards ------------------------------------------------------------------

void Api::RunGuards(std::shared_ptr<Call> call, size_t next) {
  const GuardList& guards = call->match.route->guards;
  for (; next < guards.size(); ++next) {
    Guard guard = guards.begin()[next];
    if (guard == Guard::kVerifiedToken) {
      return VerifyToken(call, [this, call, next](Outcome refused) {
        if (refused) return Reply(*call, *std::move(refused));
        RunGuards(call, next + 1);
      });
    }
    if (Outcome answer = RunGuard(guard, *call)) return Reply(*call, *std::move(answer));
  }
  // The chain's headers move into the writer: nothing answers through Reply once the guards passed.
  call->writer = std::make_shared<ChainWriter>(std::move(call->writer), std::move(call->headers),
                                               call->request.method == "HEAD");
  Dispatch(std::move(*call));
}

Api::Outcome Api::RunGuard(Guard guard, Call& call) {
  switch (guard) {
    case Guard::kDeepHealthLimit:
      return LimitDeepHealth(call);
    case Guard::kAppSecret:
      return CheckAppSecret(call);
    case Guard::kRegisterLimit:
      return LimitRegistrations(call);
    case Guard::kToken:
    case Guard::kVerifiedToken:
      return RequireToken(call);
    case Guard::kRelayMethod:
      return ProviderRelayMethodCheck(call);
    case Guard::kPathPrecheck:
      return ProviderRelayPrecheck(call);
    case Guard::kRelayLimit:
      return LimitRelay(call);
  }
  return std::nullopt;
}

Api::Outcome Api::LimitDeepHealth(Call& call) {
  if (!IsDeepProbe(call.request)) return std::nullopt;
  std::string message = absl::StrCat("Deep health probe rate limit exceeded (",
                                     config_.rate_limit_deep_health, "/min).");
  return Limit(*deep_health_limit_, call.request.client_address, message.c_str(), call);
}

Api::Outcome Api::CheckAppSecret(Call& call) {
  if (!config_.app_secret.has_value()) return std::nullopt;
  // As the original: split on single spaces; "Bearer" exactly, then the secret; later parts ignored.
  std::vector<absl::string_view> parts = absl::StrSplit(call.request.Header("authorization"), ' ');
  if (parts.size() >= 2 && parts[0] == "Bearer" && SecretEquals(parts[1], *config_.app_secret)) {
    return std::nullopt;
  }
  return JsonError(401, phrase::kAppSecretRequired, "app_secret_required");
}

Api::Outcome Api::LimitRegistrations(Call& call) {
  return Limit(*register_limit_, call.request.client_address, phrase::kRegisterLimit, call);
}

Api::Outcome Api::RequireToken(Call& call) {
  call.token = RelayToken(call.request);
  if (call.token.empty()) return JsonError(401, phrase::kTokenRequired, "token_required");
  return std::nullopt;
}

void Api::VerifyToken(std::shared_ptr<Call> call, std::function<void(Outcome)> done) {
  if (Outcome missing = RequireToken(*call)) return done(std::move(missing));
  vault::CacheTicket ticket;
  if (token_cache_ != nullptr &&
      token_cache_->Find(call->token, &call->user_id, &call->app_id, &ticket)) {
    return done(std::nullopt);
  }
  AuthenticateRequest request;
  request.set_token(call->token);
  CallUnary<AuthenticateRequest, AuthenticateResponse>(
      backends_.vault(), backends_.calls(), config_.rpc_timeout, std::move(request),
      BYOK_VAULT_CALL(Authenticate),
      [cache = token_cache_, ticket, call, done = std::move(done)](RpcResult<AuthenticateResponse> result) {
        if (result.error) return done(ResponseForRpcError(*result.error));
        // Kept only if no change arrived since the lookup (the answer may predate it).
        if (cache != nullptr) cache->Insert(ticket, call->token, result.response);
        call->user_id = result.response.user_id();
        call->app_id = result.response.app_id();
        done(std::nullopt);
      });
}

Api::Outcome Api::LimitRelay(Call& call) {
  std::string message =
      absl::StrCat("AI request rate limit exceeded (", config_.rate_limit_relay, "/min).");
  // Keyed by a hash of the token: the token itself is never kept in memory longer than the request.
  return Limit(*relay_limit_, TokenRateKey(call.token), message.c_str(), call);
}

Api::Outcome Api::Limit(Limiter& limiter, const std::string& key, const char* message,
                        Call& call) {
  if (!limiter.enabled()) return std::nullopt;
  RateDecision decision = limiter.Acquire(key);
  // The last limiter's counts are the ones a response shows (a 429 shows only its own limiter's).
  std::erase_if(call.headers, [](const auto& h) {
    return absl::StartsWithIgnoreCase(h.first, "RateLimit-") ||
           absl::EqualsIgnoreCase(h.first, "Retry-After");
  });
  MergeHeaders(&call.headers, decision.Headers());
  if (decision.allowed) return std::nullopt;
  // RATE_LIMIT_REDIS_FAILURE=closed with Redis unreachable: the request is not over any limit.
  if (decision.unavailable) {
    return JsonError(503, "Rate limiting is unavailable; try again shortly.", "rate_limit_unavailable");
  }
  if (GatewayMetrics* m = GatewayMetrics::Get()) m->RateLimited(LimiterName(limiter));
  return JsonError(429, message, "rate_limited");
}

const char* Api::LimiterName(const Limiter& limiter) const {
  if (&limiter == global_limit_.get()) return "global";
  if (&limiter == deep_health_limit_.get()) return "deep_health";
  if (&limiter == register_limit_.get()) return "register";
  if (&limiter == relay_limit_.get()) return "relay";
  return "other";
}

void Api::Reply(Call& call, HttpResponse response) {
  ChainWriter(call.writer, call.headers, call.request.method == "HEAD").Send(std::move(response));
}

// --- Step 7 ----------------------------------------------------------------------------------------

void Api::Dispatch(Call call) {
  switch (call.match.route->id) {
    case RouteId::kHealth:
      return Health(std::move(call));
    case RouteId::kVersion:
      return Version(std::move(call));
    case RouteId::kOpenApiJson:
      return OpenApi(std::move(call), /*yaml=*/false);
    case RouteId::kOpenApiYaml:
      return OpenApi(std::move(call), /*yaml=*/true);
    case RouteId::kModels:
      return Models(std::move(call));
    case RouteId::kCreateUser:
      return CreateUser(std::move(call));
    case RouteId::kPutKey:
      return PutKey(std::move(call));
    case RouteId::kRotateKey:
      return RotateKey(std::move(call));
    case RouteId::kDeleteKey:
      return DeleteKey(std::move(call));
    case RouteId::kListKeys:
      return ListKeys(std::move(call));
    case RouteId::kRevokeToken:
      return RevokeToken(std::move(call));
    case RouteId::kDeleteUser:
      return DeleteUser(std::move(call));
    case RouteId::kUserStats:
      return Stats(std::move(call), /*app=*/false);
    case RouteId::kAppStats:
      return Stats(std::move(call), /*app=*/true);
    case RouteId::kUnifiedRelay:
      return UnifiedRelay(std::move(call));
    case RouteId::kProviderRelay:
      return ProviderRelay(std::move(call));
  }
}

}  // namespace byok::gateway
