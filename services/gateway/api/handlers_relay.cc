// The relay routes: POST /relay/{provider}/{path...} and the unified POST /relay (compat.md §3.14,
// §3.15). The provider route's path allowlist is checked here before the relay limiter (so a refused
// path costs no relay quota). The unified route's body goes to the relay as the client sent it: the
// relay routes it. Both end in one streamed Relay RPC (relay_call.cc), where the relay runs the
// remaining checks in the original's order.
#include "absl/strings/str_cat.h"
#include "common/http/headers.h"
#include "services/gateway/api/api.h"
#include "services/gateway/api/handlers_common.h"
#include "services/gateway/backends/relay_call.h"
#include "services/relay/policy/forward_path.h"
#include "services/relay/policy/prepared_request.h"
#include "services/relay/policy/provider_table.h"

namespace byok::gateway {
namespace {

using byok::relay::v1::RelayRequest;

// Fills what every relayed request carries: token, method, the headers the relay reads, base URL.
RelayRequest BaseRelayRequest(const HttpRequest& http, const std::string& token) {
  RelayRequest request;
  request.set_token(token);
  request.set_method(http.method);
  // The browser's Connection options name more hop-by-hop headers: they stay behind.
  const std::string connection = ::byok::http::ConnectionOptions(http.headers);
  for (const auto& [name, value] : http.headers) {
    if (!PassRequestHeader(name) || ::byok::http::ListsToken(connection, name)) continue;
    auto* header = request.add_headers();
    header->set_name(name);
    header->set_value(value);
  }
  request.set_base_url(std::string(http.Header("x-relay-base-url")));
  return request;
}

std::string Param(const RouteMatch& match, const char* name) {
  auto it = match.params.find(name);
  return it == match.params.end() ? std::string() : it->second;
}

}  // namespace

namespace {

const relay::ProviderSpec* RouteProvider(const RouteMatch& match) {
  std::optional<std::string> provider = DecodeSegment(Param(match, "provider"));
  return provider.has_value() ? relay::FindProvider(*provider) : nullptr;
}

}  // namespace

std::optional<HttpResponse> Api::ProviderRelayMethodCheck(const Call& call) {
  // POST, or GET on a provider's GET endpoints; anything else is no route, as in the original (where
  // only POST exists), so it is 404 before the token is looked at.
  const relay::ProviderSpec* spec = RouteProvider(call.match);
  const std::string forward = relay::ComputeForwardPath(Param(call.match, "path"));
  const bool method_ok = call.request.method == "POST" ||
                         (spec != nullptr && relay::MethodAllowed(*spec, call.request.method, forward));
  if (!method_ok) return JsonError(404, absl::StrCat("Cannot ", call.request.method, " ", call.request.path));
  return std::nullopt;
}

std::optional<HttpResponse> Api::ProviderRelayPrecheck(const Call& call) {
  const relay::ProviderSpec* spec = RouteProvider(call.match);
  const std::string forward = relay::ComputeForwardPath(Param(call.match, "path"));
  // An unknown provider is refused by the relay, after the limiter (400 "Unsupported provider").
  if (spec == nullptr) return std::nullopt;
  if (!relay::ForwardPathAllowed(*spec, forward)) {
    return JsonError(403, relay::PathNotPermittedMessage(forward, spec->name));
  }
  return std::nullopt;
}

void Api::ProviderRelay(Call call) {
  std::optional<std::string> provider = DecodeSegment(Param(call.match, "provider"));
  if (!provider.has_value()) {
    return call.writer->Send(JsonError(400, relay::UnsupportedProviderMessage(Param(call.match, "provider"))));
  }
  RelayRequest request = BaseRelayRequest(call.request, call.token);
  request.set_provider(*provider);
  // Still percent-encoded: the relay computes the forward path with the same function as the check above.
  request.set_path(Param(call.match, "path"));
  request.set_query(call.request.query);
  request.set_body(std::move(call.request.body));
  StartRelayCall(backends_, std::move(request), call.writer);
}

void Api::UnifiedRelay(Call call) {
  RelayRequest request = BaseRelayRequest(call.request, call.token);
  request.set_unified(true);  // no provider, path or model: the relay routes the body
  // ReadBody's verdict: a body it did not read as JSON (another content type, none) counts as {}, as
  // the original's (compat.md §3.14: hence the 400 for the missing model). A JSON body it checked
  // (it is valid: malformed JSON was refused before the token) goes as sent; an empty one is {} too.
  if (call.json_shape == ::byok::json::JsonShape::kHasElements) {
    request.set_body(std::move(call.request.body));
  } else {
    request.set_body("{}");
  }
  StartRelayCall(backends_, std::move(request), call.writer);
}

}  // namespace byok::gateway
