#include "services/relay/upstream/connection_pool.h"

#include <utility>

namespace byok::relay::upstream {

void Connection::Close() {
  boost::beast::error_code ec;
  auto& socket = tcp().socket();
  socket.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
  socket.close(ec);
}

std::unique_ptr<Connection> ConnectionPool::Take(const std::string& key) {
  auto it = idle_.find(key);
  if (it == idle_.end()) return nullptr;
  auto& stack = it->second;
  const auto now = std::chrono::steady_clock::now();
  while (!stack.empty()) {
    std::unique_ptr<Connection> connection = std::move(stack.back());
    stack.pop_back();
    // A connection idle for long may have been closed by the provider; drop it rather than risk it.
    if (now - connection->idle_since <= max_idle_ && connection->tcp().socket().is_open()) {
      if (stack.empty()) idle_.erase(it);
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
  if (static_cast<int>(stack.size()) >= max_per_key_) return;  // closed by its destructor
  connection->idle_since = now;
  stack.push_back(std::move(connection));
}

}  // namespace byok::relay::upstream
