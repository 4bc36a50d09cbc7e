// Request preparation: a client's relay request checked (compat.md §3.14/§3.15 order) and turned into
// the exact upstream request.
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
  // Unified route: the forward path routing chose.
  std::string path;
  // The client's query string without '?' (provider route); passed on (a fix: the original dropped it).
  std::string query;
  // True for POST /relay: `path` is final and `raw_model` is the client's model string.
  bool unified = false;
  std::string raw_model;
  // The client's headers; only the closed list of compat.md §4 is read.
  std::vector<http::HeaderField> headers;
  // The body, passed as bytes.
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

// Everything the I/O layer needs to send one upstream request. Holds the provider key in `headers`:
// never log `headers` or the whole struct.
struct PreparedRequest {
  std::string provider;
  bool tls = true;
  // Host to resolve and connect to (DNS name, dotted quad, or IPv6 text without brackets), port.
  std::string host;
  uint16_t port = 443;
  // Host header value.
  std::string host_header;
  std::string method;
  // Request target: base path + encoded forward path + query.
  std::string target;
  // Headers to send, key included (Host and Content-Length are set by the I/O layer).
  std::vector<http::HeaderField> headers;
  std::string body;
  // The provider's responses are always passed as bytes (elevenlabs, huggingface, deepgram).
  bool binary_provider = false;
  // The request asked to stream (JSON "stream": true): SSE when the provider omits Content-Type.
  bool stream = false;
  bool check_addresses = false;
  // Origin and path for logs (never the key or the query).
  std::string log_url;
};

// Builds the upstream request: key injected the provider's way, the closed header list of compat.md §4
// (CR, LF and NUL stripped from values), the target with the client's query. InvalidArgument when the
// stored key could not be sent in a header (the message never holds the key).
absl::StatusOr<PreparedRequest> PrepareRequest(const CheckedRequest& checked, const ResolvedBaseUrl& base,
                                               ClientRequest request, absl::string_view key);

// The provider's key verification GET (common/providers verify_path); FailedPrecondition when the
// provider has none (the key counts as accepted without a check).
absl::StatusOr<PreparedRequest> PrepareKeyCheckRequest(const ProviderSpec& provider,
                                                       const ResolvedBaseUrl& base, absl::string_view key);

// How a key-check response's status reads.
enum class KeyCheckVerdict { kValid, kInvalid, kUnknown };
// 2xx valid (the only accepted answer); 401 and 403 invalid; anything else unknown.
KeyCheckVerdict InterpretKeyCheckStatus(int http_status);

}  // namespace byok::relay

#endif  // BYOK_SERVICES_RELAY_POLICY_PREPARED_REQUEST_H_
