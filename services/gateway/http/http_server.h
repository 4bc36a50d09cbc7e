// The HTTP/1.1 side of the gateway (Boost.Beast, asynchronous): a listener, one session per connection
// on its own strand, a fixed pool of threads. Hands each complete request to the Api and writes what it
// answers, whole or streamed. Beast stays inside http_server.cc.
#ifndef BYOK_SERVICES_GATEWAY_HTTP_HTTP_SERVER_H_
#define BYOK_SERVICES_GATEWAY_HTTP_HTTP_SERVER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/gateway/api/api.h"
#include "services/gateway/gateway_config.h"

namespace byok::gateway {

// Serves HTTP on config.host:config.port. Thread-safe.
class HttpServer {
 public:
  // Binds and starts config.threads threads. `api` must outlive the server.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const GatewayConfig& config, Api& api);

  // Stops the threads (if Stop was not called) and closes every connection.
  ~HttpServer();

  // Returns the bound port.
  int port() const;

  // Stops accepting connections; running requests go on.
  void StopAccepting();

  // Waits until no request is being answered or `timeout` passes; true when none is left.
  bool WaitIdle(absl::Duration timeout);

  // Stops the threads; connections still open are closed when the server is destroyed.
  void Stop();

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace byok::gateway

#endif  // BYOK_SERVICES_GATEWAY_HTTP_HTTP_SERVER_H_
