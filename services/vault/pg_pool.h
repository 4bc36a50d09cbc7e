// A bounded pool of PostgreSQL connections. A caller leases one connection for one operation (a
// statement or a transaction) and the lease gives it back on destruction; a connection that broke or
// was left inside a transaction is closed instead, and a new one is opened on demand.
#ifndef BYOK_SERVICES_VAULT_PG_POOL_H_
#define BYOK_SERVICES_VAULT_PG_POOL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/vault/pg_connection.h"

namespace byok::vault {

struct PgPoolOptions {
  std::string url;
  // At most this many connections are open at once.
  int size = 8;
  // How long a caller waits for a free connection before Unavailable.
  absl::Duration acquire_timeout = absl::Seconds(5);
  PgTimeouts timeouts;
};

// Thread-safe.
class PgPool {
 public:
  explicit PgPool(PgPoolOptions options) : options_(std::move(options)) {}
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  // One leased connection. Move-only; returns it to the pool on destruction.
  class Lease {
   public:
    Lease(PgPool* pool, std::unique_ptr<PgConnection> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() {
      if (conn_ != nullptr) pool_->Release(std::move(conn_));
    }
    PgConnection& operator*() { return *conn_; }
    PgConnection* operator->() { return conn_.get(); }

   private:
    PgPool* pool_;
    std::unique_ptr<PgConnection> conn_;
  };

  // Returns an idle connection, opens one while fewer than `size` are open, or waits for one to come
  // back. Unavailable when none comes within acquire_timeout or a new connection fails.
  absl::StatusOr<Lease> Acquire();

  // Connections open now (leased and idle), for tests.
  int open() const;

 private:
  void Release(std::unique_ptr<PgConnection> conn);

  const PgPoolOptions options_;
  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<PgConnection>> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace byok::vault

#endif  // BYOK_SERVICES_VAULT_PG_POOL_H_
