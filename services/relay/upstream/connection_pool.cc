#include "services/relay/upstream/connection_pool.h"

#include <atomic>
#include <utility>

namespace byok::relay::upstream {
namespace {

std::atomic<PoolObserver*> observer{nullptr};

// Moves the pool's idle count by `delta` and reports it.
void Report(int& count, int delta) {
  if (delta == 0) return;
  count += delta;
  if (PoolObserver* o = CurrentPoolObserver()) o->IdleChanged(delta);
}

}  // namespace

void SetPoolObserver(PoolObserver* o) { observer.store(o, std::memory_order_release); }

PoolObserver* CurrentPoolObserver() { return observer.load(std::memory_order_acquire); }

void Connection::Close() {
  boost::beast::error_code ec;
  auto& socket = tcp().socket();
  socket.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
  socket.close(ec);
}

void Connection::ExpiresAfter(std::chrono::steady_clock::duration after) {
  if (tls) {
    tls->expires_after(after);
  } else {
    plain->expires_after(after);
  }
}

void Connection::ExpiresNever() {
  if (tls) {
    tls->expires_never();
  } else {
    plain->expires_never();
  }
}

std::unique_ptr<Connection> ConnectionPool::Take(const std::string& key) {
  auto it = idle_.find(key);
  if (it == idle_.end()) return nullptr;
  auto& stack = it->second;
  const auto now = std::chrono::steady_clock::now();
  while (!stack.empty()) {
    std::unique_ptr<Connection> connection = std::move(stack.back());
    stack.pop_back();
    Report(idle_count_, -1);
    // A connection idle for long may have been closed by the provider; drop it rather than risk it.
    if (now - connection->idle_since <= max_idle_ && connection->tcp().socket().is_open()) {
      if (stack.empty()) idle_.erase(it);
      if (PoolObserver* o = CurrentPoolObserver()) o->ConnectionReused();
      return connection;
    }
  }
  idle_.erase(it);
  return nullptr;
}

void ConnectionPool::Put(std::unique_ptr<Connection> connection) {
  auto& stack = idle_[connection->key];
  const auto now = std::chrono::steady_clock::now();
  // Drop the stale ones first, oldest at the front.
  size_t stale = 0;
  while (stale < stack.size() && now - stack[stale]->idle_since > max_idle_) ++stale;
  stack.erase(stack.begin(), stack.begin() + static_cast<std::ptrdiff_t>(stale));
  Report(idle_count_, -static_cast<int>(stale));
  if (static_cast<int>(stack.size()) >= max_per_key_) return;  // closed by its destructor
  connection->idle_since = now;
  stack.push_back(std::move(connection));
  Report(idle_count_, 1);
}

void ConnectionPool::Clear() {
  idle_.clear();
  Report(idle_count_, -idle_count_);
}

}  // namespace byok::relay::upstream
