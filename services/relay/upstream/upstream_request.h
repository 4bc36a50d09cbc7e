// The one request type between the relay's policy and its upstream client: the policy builds it once
// (PrepareRequest, PrepareKeyCheckRequest), the reactor adds its trace headers, and the upstream client
// takes it by move (the body is never copied on the way). Plain data: no Asio, no gRPC.
#ifndef BYOK_SERVICES_RELAY_UPSTREAM_UPSTREAM_REQUEST_H_
#define BYOK_SERVICES_RELAY_UPSTREAM_UPSTREAM_REQUEST_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/http/headers.h"

namespace byok::relay {

// Decides whether one resolved address may be connected to; returns a non-OK status (with a message
// fit for the client) to refuse it. Receives the address as text ("10.0.0.1", "::1").
using AddressGuard = std::function<absl::Status(const std::string& address)>;

// One request to a provider, fully prepared: key injected, headers chosen by the policy's closed list.
// Holds the provider key in `headers`: never log `headers` or the whole struct.
struct UpstreamRequest {
  // https when true, plain http otherwise.
  bool tls = true;
  // Host name or IP literal (IPv6 without brackets), and port.
  std::string host;
  uint16_t port = 443;
  // Host header value; empty: made from host and port.
  std::string host_header;
  // HTTP method and request target (base path + encoded forward path + query).
  std::string method;
  std::string target;
  // Headers to send besides Host and Content-Length, sent as they are (the policy chose them).
  std::vector<http::HeaderField> headers;
  std::string body;
  // When set (a client-chosen or key-bound host), every resolved address must pass it before any
  // connection is made, and the connection goes to a checked address (the name is never resolved again).
  AddressGuard address_guard;
  // With an address_guard: the status to end with when the name does not resolve (default UNAVAILABLE).
  absl::Status resolve_failure = absl::OkStatus();
};

}  // namespace byok::relay

#endif  // BYOK_SERVICES_RELAY_UPSTREAM_UPSTREAM_REQUEST_H_
