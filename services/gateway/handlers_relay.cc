// The relay routes: ANY /relay/{provider}/{path...} and the unified POST /relay. Both end in a streamed
// Relay RPC (relay_call.cc); the unified route first asks the relay where the body's model goes.
#include "absl/strings/str_cat.h"
#include "common/http/headers.h"
#include "services/gateway/api.h"
#include "services/gateway/handlers_common.h"
#include "services/gateway/relay_call.h"

namespace byok::gateway {
namespace {

using byok::relay::v1::RelayRequest;
using byok::relay::v1::ResolveRouteRequest;
using byok::relay::v1::ResolveRouteResponse;

// Fills what every relayed request carries: token, method, the headers the relay may forward, base URL.
RelayRequest BaseRelayRequest(const HttpRequest& http, const std::string& token) {
  RelayRequest request;
  request.set_token(token);
  request.set_method(http.method);
  // The browser's Connection options name more hop-by-hop headers.
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

}  // namespace

void Api::ProviderRelay(Call call) {
  std::optional<std::string> provider = DecodeSegment(call.match.params["provider"]);
  if (!provider.has_value()) return call.writer->Send(JsonError(400, "malformed provider name"));
  RelayRequest request = BaseRelayRequest(call.request, call.token);
  request.set_provider(*provider);
  // The path stays as the client wrote it (still percent-encoded): the relay normalises it with the same
  // parser that builds the upstream URL, so what is checked is what is sent.
  std::string path = absl::StrCat("/", call.match.params["path"]);
  if (!call.request.query.empty()) absl::StrAppend(&path, "?", call.request.query);
  request.set_path(std::move(path));
  request.set_body(std::move(call.request.body));
  StartRelayCall(backends_, std::move(request), call.writer);
}

void Api::UnifiedRelay(Call call) {
  auto relay = std::make_shared<RelayRequest>(BaseRelayRequest(call.request, call.token));
  ResolveRouteRequest resolve;
  resolve.set_body(std::move(call.request.body));
  CallUnary<ResolveRouteRequest, ResolveRouteResponse>(
      backends_.relay(), backends_.calls(), config_.rpc_timeout, std::move(resolve),
      BYOK_RELAY_CALL(ResolveRoute),
      [this, writer = call.writer, relay](RpcResult<ResolveRouteResponse> result) {
        if (result.error) return writer->Send(ResponseForRpcError(*result.error));
        relay->set_provider(result.response.provider());
        relay->set_path(result.response.path());
        relay->set_model(result.response.model());
        relay->set_body(std::move(*result.response.mutable_body()));
        StartRelayCall(backends_, std::move(*relay), writer);
      });
}

}  // namespace byok::gateway
