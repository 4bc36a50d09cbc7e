// One client connection of the fake provider: reads requests (keep-alive) and answers chat completions,
// non-streaming or as an SSE stream, while watching for the client closing mid-stream.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include "bench/fake_provider/stream_registry.h"

namespace byok::bench {

// State shared by every session of one fake provider. Thread-safe.
struct ProviderShared {
  std::string expected_key;  // when set, requests without "Authorization: Bearer <key>" get 401
  StreamRegistry registry;
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> streams{0};
  std::atomic<std::uint64_t> aborted{0};
  std::atomic<std::int64_t> open_connections{0};
};

// Starts serving `socket` (which must run on a strand) until the client leaves, over TLS when `tls`
// is set (a server context). `shared` and `tls` must outlive every session.
void StartProviderSession(boost::asio::ip::tcp::socket socket, ProviderShared& shared,
                          boost::asio::ssl::context* tls);

}  // namespace byok::bench
