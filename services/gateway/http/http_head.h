// The request head as the gateway accepts it (RFC 9112), checked in two steps around Beast's parser:
// the raw bytes before Beast sees them (line endings, obs-fold, NUL), and the framing Beast parsed (Host,
// Transfer-Encoding, Content-Length). Beast is lenient where a smuggling attack lives: it reads a body
// whose Transfer-Encoding does not end in chunked as empty, and joins folded lines. Pure functions: the
// session and the fuzz target call the same ones.
#ifndef BYOK_SERVICES_GATEWAY_HTTP_HTTP_HEAD_H_
#define BYOK_SERVICES_GATEWAY_HTTP_HTTP_HEAD_H_

#include <cstddef>
#include <optional>
#include <string_view>

#include <boost/beast/http/message.hpp>

namespace byok::gateway {

// Why a request is refused: the status the client gets and the text of its JSON error. The connection
// always closes after a refusal.
struct HeadRefusal {
  int status = 400;
  std::string_view message;
};

// What one look at the buffered bytes found.
struct HeadScan {
  enum class State { kIncomplete, kComplete, kRefused };
  State state = State::kIncomplete;
  std::size_t skip = 0;       // empty lines before the request line, to drop (RFC 9112 §2.2)
  std::size_t head_size = 0;  // the head after them, through the empty line that ends it
  HeadRefusal refusal;
};

// Finds the end of one request head in bytes that arrive piece by piece. Each call continues where the
// previous one stopped, so a head sent a byte at a time costs linear work. Refuses (400) a bare CR or LF,
// a NUL, and a line that begins with whitespace (obs-fold, or whitespace before the first field); 431
// when the head is longer than the limit. One scanner per request.
class RequestHeadScanner {
 public:
  explicit RequestHeadScanner(std::size_t header_limit) : limit_(header_limit) {}

  // `buffered` holds everything received for this request so far (it only grows between calls).
  HeadScan Scan(std::string_view buffered);

 private:
  std::size_t limit_;
  bool in_head_ = false;     // past the leading empty lines
  std::size_t head_start_ = 0;
  std::size_t line_start_ = 0;
  std::size_t pos_ = 0;      // the next byte to look at
};

// Checks the parsed head: the HTTP version (1.0 or 1.1), exactly one Host (required in HTTP/1.1), and
// a body framing with a single meaning: Transfer-Encoding only as exactly `chunked` in an HTTP/1.1
// request without Content-Length. Returns the refusal, or nothing when the head is acceptable.
std::optional<HeadRefusal> CheckRequestFraming(const boost::beast::http::request_header<>& head);

}  // namespace byok::gateway

#endif  // BYOK_SERVICES_GATEWAY_HTTP_HTTP_HEAD_H_
