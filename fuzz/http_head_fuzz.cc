// Bytes from a browser as the gateway's session reads a request: the head scanner (line endings,
// obs-fold, limit) fed in pieces as a socket would, Beast's request parser with the session's limits,
// the framing checks (Host, Transfer-Encoding, Content-Length), then the body (chunked or by length).
// The first input byte chooses how the rest is cut into reads.
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstdlib>
#include <string_view>

#include "services/gateway/http/http_head.h"

namespace http = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t piece = 1 + data[0] % 64;
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  // Small limits reach the limit paths with small inputs; the session uses the configured ones.
  const size_t header_limit = 1024;
  const uint64_t body_limit = 4096;

  byok::gateway::RequestHeadScanner scanner(header_limit);
  byok::gateway::HeadScan scan;
  size_t received = 0;
  while (true) {
    received = std::min(input.size(), received + piece);
    scan = scanner.Scan(input.substr(0, received));
    if (scan.state != byok::gateway::HeadScan::State::kIncomplete || received == input.size()) break;
  }
  if (scan.state != byok::gateway::HeadScan::State::kComplete) return 0;
  if (scan.skip + scan.head_size > received || scan.head_size > header_limit) std::abort();

  http::request_parser<http::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(header_limit));
  parser.body_limit(body_limit);
  boost::beast::error_code ec;
  std::string_view rest = input.substr(scan.skip);
  size_t used = parser.put(boost::asio::buffer(rest.data(), scan.head_size), ec);
  if (ec || !parser.is_header_done()) return 0;
  if (used != scan.head_size) std::abort();
  if (byok::gateway::CheckRequestFraming(parser.get())) return 0;
  // Accepted framing has one meaning: chunked, or a length, or no body.
  if (parser.chunked() && parser.content_length()) std::abort();
  rest.remove_prefix(used);
  while (!parser.is_done() && !rest.empty()) {
    size_t n = parser.put(boost::asio::buffer(rest.data(), std::min(rest.size(), piece)), ec);
    if (ec == http::error::need_more) {
      if (rest.size() <= piece) break;
      ec = {};
      n = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
      if (ec == http::error::need_more) break;
    }
    if (ec || n == 0) break;
    rest.remove_prefix(n);
  }
  if (parser.is_done() && parser.get().body().size() > body_limit) std::abort();
  return 0;
}
