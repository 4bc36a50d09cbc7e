// The relay's HTTP client for AI providers: Boost.Beast over OpenSSL, asynchronous, with keep-alive
// connections pooled per origin, separate timeouts for connect, response headers and idle gaps in the
// body, and a response body delivered piece by piece under the consumer's flow control.
//
// This header keeps Asio and Beast out of its includers: the relay service sees only plain structs,
// a handler interface and a call handle.
#ifndef BYOK_SERVICES_RELAY_UPSTREAM_UPSTREAM_CLIENT_H_
#define BYOK_SERVICES_RELAY_UPSTREAM_UPSTREAM_CLIENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/relay/upstream/upstream_request.h"

namespace byok::relay {

// How the client behaves. Defaults match the documented defaults of the BYOK_UPSTREAM_* variables.
struct UpstreamOptions {
  // Resolve + TCP connect + TLS handshake must finish within this.
  absl::Duration connect_timeout = absl::Seconds(10);
  // From sending the request until the response's status line and headers have arrived.
  absl::Duration headers_timeout = absl::Seconds(30);
  // Longest silence between two pieces of the response body (a stalled stream is cut).
  absl::Duration idle_timeout = absl::Seconds(120);
  // Extra trusted CA certificates (PEM file), on top of the system store. Empty: none.
  std::string ca_file;
  // Trust the system's CA store (tests may turn it off to prove the CA file is what is trusted).
  bool use_system_roots = true;
  // I/O threads, each with its own event loop and connection pool.
  int threads = 2;
  // Idle keep-alive connections kept per origin and thread, and how long one may sit idle.
  int max_idle_per_origin = 64;
  absl::Duration max_idle_time = absl::Seconds(50);
  // Bytes read from the provider per body piece, at most.
  size_t piece_bytes = 16 * 1024;
};

// The provider's status line and headers (names in lower case).
struct UpstreamHead {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Receives one call's response. Calls arrive on the client's I/O threads, one at a time, never after
// OnUpstreamDone. After OnUpstreamHead and after each OnUpstreamBody but the last the call waits until
// the consumer calls UpstreamCall::Next(): a slow consumer slows the reads from the provider.
class UpstreamHandler {
 public:
  virtual ~UpstreamHandler() = default;
  // The response's head. Called at most once, first.
  virtual void OnUpstreamHead(UpstreamHead head) = 0;
  // One piece of the body, in order. `last`: the body is complete with it, and OnUpstreamDone(OK)
  // follows at once, without a Next() (so a consumer can send the piece and the end together).
  virtual void OnUpstreamBody(std::string piece, bool last) = 0;
  // The end: OK when the whole body arrived; otherwise why not (UNAVAILABLE unreachable,
  // DEADLINE_EXCEEDED timed out, ABORTED broke off mid-response, PERMISSION_DENIED refused address,
  // CANCELLED after Cancel()). Called exactly once.
  virtual void OnUpstreamDone(absl::Status status) = 0;
};

// A running call. Thread-safe.
class UpstreamCall {
 public:
  virtual ~UpstreamCall() = default;
  // Says the consumer has taken the last head or body piece; the next read may start.
  virtual void Next() = 0;
  // Closes the provider connection at once; OnUpstreamDone(CANCELLED) follows unless the call had
  // already ended.
  virtual void Cancel() = 0;
};

// The client. Thread-safe. Owns its I/O threads.
class UpstreamClient {
 public:
  // Creates the client and starts its threads. Fails when the CA file cannot be loaded.
  static absl::StatusOr<std::unique_ptr<UpstreamClient>> Create(UpstreamOptions options);

  // Stops the threads; calls still running are dropped without further handler calls.
  ~UpstreamClient();

  UpstreamClient(const UpstreamClient&) = delete;
  UpstreamClient& operator=(const UpstreamClient&) = delete;

  // Starts a call. `handler` must stay valid until its OnUpstreamDone has returned.
  std::shared_ptr<UpstreamCall> Start(UpstreamRequest request, UpstreamHandler* handler);

  // Returns how many connections were opened so far (to observe keep-alive reuse).
  int64_t connections_opened() const;

 private:
  class Impl;
  explicit UpstreamClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace byok::relay

#endif  // BYOK_SERVICES_RELAY_UPSTREAM_UPSTREAM_CLIENT_H_
