// Request preparation: turns a client's relay request into the exact upstream request, or refuses it.
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

// The HTTP methods a client may use (per provider, ProviderSpec::methods narrows them).
inline constexpr absl::string_view kAllowedMethods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};

// A base URL chosen for one request.
struct ResolvedBaseUrl {
  http::BaseUrl url;
  // True when the URL came from the client or a key binding: the I/O layer must resolve the host once,
  // pass every address through CheckAddresses, and connect only to a checked address.
  bool check_addresses = false;
};

// Everything the I/O layer needs to send one upstream request. Holds the provider key in `headers`:
// never log `headers` or the whole struct (use `key_header_index` to redact).
struct PreparedRequest {
  // Provider name.
  std::string provider;
  // TLS (https) or plain http.
  bool tls = true;
  // Host to resolve and connect to (DNS name, dotted quad, or IPv6 text without brackets).
  std::string host;
  uint16_t port = 443;
  // Server name for TLS SNI and certificate verification; empty when `host` is an IP literal.
  std::string sni;
  // Host header value (host, IPv6 bracketed, ":port" when not the default).
  std::string host_header;
  // Upper-case method.
  std::string method;
  // Request target: base path + normalised path, percent-encoded, plus "?query" when there is one.
  std::string target;
  // Headers to send, key included. Host, Content-Length, Connection and Transfer-Encoding are not in
  // this list: the I/O layer sets them.
  std::vector<http::HeaderField> headers;
  // Index in `headers` of the header carrying the key.
  size_t key_header_index = 0;
  // Request body, moved from the client request.
  std::string body;
  // Model the request is for, when known (validated).
  std::optional<std::string> model;
  // True when the response is binary (audio) rather than text or SSE.
  bool binary_response = false;
  // See ResolvedBaseUrl::check_addresses.
  bool check_addresses = false;
  // Origin and path for logs (scheme://authority + target without the query): never holds the key.
  std::string log_url;
};

// A client request, as it reached the relay.
struct ClientRequest {
  // Method, any case.
  std::string method;
  // Path with query below the provider's base URL, as the client sent it.
  std::string path_and_query;
  // The client's headers (all of them; only the provider's accepted ones are forwarded).
  std::vector<http::HeaderField> headers;
  // Body; moved into the prepared request.
  std::string body;
};

// Builds the upstream request for `provider` at `base`, injecting `key` the way the provider expects.
// Checks, in order: method; header syntax; path normalisation and the provider's allowlist; query
// syntax; model name and `allowed_models`. Refuses with InvalidArgument (malformed) or PermissionDenied
// (path or model not allowed); messages never contain the key. A client Authorization (or any other
// credential header) is dropped, never forwarded.
absl::StatusOr<PreparedRequest> PrepareRequest(const ProviderSpec& provider, const ResolvedBaseUrl& base,
                                               ClientRequest request, absl::string_view key,
                                               const ModelAllowlist& allowed_models);

// Builds the provider's key-check request (a cheap authenticated GET such as /v1/models).
absl::StatusOr<PreparedRequest> PrepareKeyCheckRequest(const ProviderSpec& provider,
                                                       const ResolvedBaseUrl& base,
                                                       absl::string_view key);

// How a key-check response's status reads.
enum class KeyCheckVerdict { kValid, kInvalid, kUnknown };
// 2xx valid; 401 and 403 invalid; anything else unknown (the provider could not say).
KeyCheckVerdict InterpretKeyCheckStatus(int http_status);

}  // namespace byok::relay

#endif  // BYOK_SERVICES_RELAY_POLICY_PREPARED_REQUEST_H_
