// Request preparation: a client's relay request checked (compat.md §3.14/§3.15 order; the unified
// route is routed here too) and turned into the one upstream request (upstream/upstream_request.h).
#ifndef BYOK_SERVICES_RELAY_POLICY_PREPARED_REQUEST_H_
#define BYOK_SERVICES_RELAY_POLICY_PREPARED_REQUEST_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/http/headers.h"
#include "common/http/url.h"
#include "services/relay/policy/model_policy.h"
#include "services/relay/policy/provider_table.h"
#include "services/relay/upstream/upstream_request.h"

namespace byok::relay {

// A base URL chosen for one request.
struct ResolvedBaseUrl {
  http::BaseUrl url;
  // True when the URL came from the client or a key binding: the I/O layer must resolve the host once,
  // refuse it unless every address passes CheckAddress, and connect only to a checked address.
  bool check_addresses = false;
};

// A client request, as it reached the relay.
struct ClientRequest {
  // "POST", or "GET" where the provider allows it.
  std::string method;
  // Provider route: what followed "/relay/<provider>/", still percent-encoded, without the query.
  // Unified route, routed by the caller (the earlier RelayRequest form): the forward path it chose.
  // Unified route, routed here: empty.
  std::string path;
  // The client's query string without '?' (provider route); passed on (a fix: the original dropped it).
  std::string query;
  // True for POST /relay. `raw_model` is the client's model string (CheckUnifiedRequest fills it from
  // the body; a caller that routed the request itself sends it).
  bool unified = false;
  std::string raw_model;
  // The client's headers of the closed list (IsReadClientHeader), names in lower case.
  std::vector<http::HeaderField> headers;
  // The body, passed as bytes (moved along, never copied).
  std::string body;
};

// What the checks before the key lookup established.
struct CheckedRequest {
  const ProviderSpec* provider = nullptr;
  // The normalised forward path (what was checked, and what is sent).
  std::string forward_path;
  // The body is JSON (the client's Content-Type contains application/json, or the unified route).
  bool json_body = false;
  // The JSON body has "stream": true.
  bool stream = false;
  // The model written to usage records: the raw client string (unified), the JSON body's "model"
  // (provider route), or nullopt.
  std::optional<std::string> logged_model;
};

// The texts of the checks.
std::string UnsupportedProviderMessage(absl::string_view provider);
std::string PathNotPermittedMessage(absl::string_view forward_path, absl::string_view provider);
std::string NoKeyMessage(absl::string_view provider);

// The checks that need no key, in the original's order: provider known (InvalidArgument "Unsupported
// provider: <p>"), method and path allowed (PermissionDenied PathNotPermittedMessage; NotFound for a
// method the path does not take), model allowed (PermissionDenied NotPermittedMessage).
absl::StatusOr<CheckedRequest> CheckRequest(absl::string_view provider, const ClientRequest& request,
                                            const ModelAllowlist& allowed_models);

// The unified route's checks before the key, in the original's order (compat.md §3.14): the body is
// parsed once (bounded; empty means {}), "model" falsy is InvalidArgument kModelRequired, an unroutable
// one InvalidArgument CannotRouteMessage, a raw model string outside `allowed_models` PermissionDenied
// NotPermittedMessage. On success `request.raw_model` holds the client's string, `request.body` the
// routed model's bytes in place of the client's (every other byte kept), and the result names the routed
// provider and path. InvalidArgument when the body is not JSON (the gateway refuses that before).
absl::StatusOr<CheckedRequest> CheckUnifiedRequest(ClientRequest& request, const ModelAllowlist& allowed_models);

// Builds the upstream request: key injected the provider's way, the closed header list of compat.md §4
// (CR, LF and NUL stripped from values), the target with the client's query. InvalidArgument when the
// stored key could not be sent in a header (the message never holds the key). The body is moved from
// `request`. With `base.check_addresses`, the request carries the address guard (kBaseUrlResolvesPrivate,
// kBaseUrlUnresolved).
absl::StatusOr<UpstreamRequest> PrepareRequest(const CheckedRequest& checked, const ResolvedBaseUrl& base,
                                               ClientRequest request, absl::string_view key);

// The provider's key verification GET (common/providers verify_path); FailedPrecondition when the
// provider has none (the key counts as accepted without a check).
absl::StatusOr<UpstreamRequest> PrepareKeyCheckRequest(const ProviderSpec& provider,
                                                       const ResolvedBaseUrl& base, absl::string_view key);

// How a key-check response's status reads.
enum class KeyCheckVerdict { kValid, kInvalid, kUnknown };
// 2xx valid (the only accepted answer); 401 and 403 invalid; anything else unknown.
KeyCheckVerdict InterpretKeyCheckStatus(int http_status);

}  // namespace byok::relay

#endif  // BYOK_SERVICES_RELAY_POLICY_PREPARED_REQUEST_H_
