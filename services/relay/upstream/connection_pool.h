// Internal to the upstream client: one provider connection (plain or TLS) and the per-thread pool of
// idle keep-alive connections. Each pool belongs to one I/O thread, so it needs no lock.
#ifndef BYOK_SERVICES_RELAY_UPSTREAM_CONNECTION_POOL_H_
#define BYOK_SERVICES_RELAY_UPSTREAM_CONNECTION_POOL_H_

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "services/relay/upstream/tls_socket.h"

namespace byok::relay::upstream {

// One connection to a provider: its TCP stream, and the TLS session over it for https.
struct Connection {
  std::optional<boost::beast::tcp_stream> plain;
  std::unique_ptr<TlsSocket> tls;
  // Bytes read from the socket but not parsed yet; kept with the connection across requests.
  boost::beast::flat_buffer buffer;
  // The pool key: scheme, host, port (and the checked address for guarded targets).
  std::string key;
  std::chrono::steady_clock::time_point idle_since;

  // Returns the TCP layer.
  boost::beast::tcp_stream& tcp() { return *plain; }
  // Closes the socket at once; pending operations complete with operation_aborted.
  void Close();
  // A deadline for the stream's next operations (they end with beast::error::timeout), or none.
  void ExpiresAfter(std::chrono::steady_clock::duration after);
  void ExpiresNever();

  // Runs `f` with the stream the HTTP exchange uses.
  template <class F>
  void WithStream(F&& f) {
    if (tls) {
      f(*tls);
    } else {
      f(*plain);
    }
  }
};

// What the pools report, for metrics (the relay's RelayMetrics implements it). Thread-safe.
class PoolObserver {
 public:
  virtual ~PoolObserver() = default;
  // A new connection to a provider is being opened (no idle one was reused).
  virtual void ConnectionOpened() = 0;
  // An idle connection was taken for a request.
  virtual void ConnectionReused() = 0;
  // `delta` connections joined (positive) or left (negative) the idle set.
  virtual void IdleChanged(int delta) = 0;
};

// Installs the process's observer (null: nothing is reported). Once, before requests are relayed.
void SetPoolObserver(PoolObserver* observer);
// The installed observer, or null.
PoolObserver* CurrentPoolObserver();

// Idle keep-alive connections by key, at most `max_per_key` each, none older than `max_idle`.
class ConnectionPool {
 public:
  ConnectionPool(int max_per_key, std::chrono::steady_clock::duration max_idle)
      : max_per_key_(max_per_key), max_idle_(max_idle) {}
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;
  ~ConnectionPool() { Clear(); }

  // Returns the most recently parked live connection for `key`, or null.
  std::unique_ptr<Connection> Take(const std::string& key);
  // Parks `connection` (whose response was read to the end) for reuse, or closes it when full.
  void Put(std::unique_ptr<Connection> connection);
  // Closes every idle connection.
  void Clear();
  // Idle connections held now.
  int idle() const { return idle_count_; }

 private:
  int max_per_key_;
  std::chrono::steady_clock::duration max_idle_;
  absl::flat_hash_map<std::string, std::vector<std::unique_ptr<Connection>>> idle_;
  int idle_count_ = 0;  // connections in idle_, reported to the observer as they change
};

}  // namespace byok::relay::upstream

#endif  // BYOK_SERVICES_RELAY_UPSTREAM_CONNECTION_POOL_H_
