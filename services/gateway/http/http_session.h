// One browser connection (internal to the HTTP server): reads requests with limits and timeouts on every
// step, hands them to the Api, writes whole or chunked responses, and notices a client that leaves while
// a response streams.
#ifndef BYOK_SERVICES_GATEWAY_HTTP_HTTP_SESSION_H_
#define BYOK_SERVICES_GATEWAY_HTTP_HTTP_SESSION_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>

#include "common/http/body_coalescer.h"
#include "services/gateway/api/api.h"
#include "services/gateway/gateway_config.h"
#include "services/gateway/http/http_head.h"
#include "services/gateway/http/http_types.h"

namespace byok::gateway {

// What every session of one server shares. Outlives the sessions' I/O (the server stops its threads
// before destroying it).
struct ServerState {
  ServerState(const GatewayConfig& c, Api& a) : config(c), api(a) {}
  const GatewayConfig& config;
  Api& api;
  // Requests being answered (for graceful shutdown).
  std::atomic<int64_t> active_requests{0};
};

// One connection. Lives as long as a completion handler or a ResponseWriter refers to it. Every call
// that touches a member arrives on the connection's strand (SessionWriter posts there; completion
// handlers run there).
//
// A streamed response: a piece that finds no write in flight goes to the socket at once, and the
// producer is told at once that it may send the next; pieces that come while a write is in flight are
// joined and leave as one write (one chunk) when it completes. Past kMaxHeldBytes held, the producer is
// told to wait until a write has taken them: a slow client slows the relay, memory stays bounded.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  // Where the connection's current request is.
  enum class Phase {
    kIdle,          // no request: reading the next one, or closing
    kDispatched,    // handed to the Api, not answered yet
    kSending,       // a whole response is being written
    kStreaming,     // a streamed response: its head went out, pieces follow
    kEndingStream,  // the stream's end is known: what is held goes out with the last chunk
  };
  // Body bytes held while a write is in flight before the producer is asked to wait.
  static constexpr size_t kMaxHeldBytes = 64 * 1024;

  HttpSession(boost::asio::ip::tcp::socket&& socket, ServerState& state);
  ~HttpSession();

  // Starts reading the first request.
  void Run();

  // The ResponseWriter calls, on the strand; `id` names the request they answer, so a late call for a
  // finished request is ignored.
  void AddHeaders(uint64_t id, HeaderList headers);
  void DoSend(uint64_t id, HttpResponse response);
  void DoStartStream(uint64_t id, int status, HeaderList headers, std::string first_chunk,
                     std::function<void(bool)> done);
  void DoWriteChunk(uint64_t id, std::string data, std::function<void(bool)> done);
  void DoFinishStream(uint64_t id, std::string tail);
  void DoAbortStream(uint64_t id);
  void SetClientGone(uint64_t id, std::function<void()> cancel);

  // Returns the strand executor (for posting onto it).
  boost::beast::tcp_stream::executor_type executor() { return stream_.get_executor(); }

 private:
  void DoRead();
  // Reads until the buffer holds a whole request head (checked by the scanner), then parses it.
  void ReadHead();
  void OnReadHeadSome(boost::beast::error_code ec, std::size_t bytes);
  void OnHead(boost::beast::error_code ec);
  void DoReadBody();
  void OnReadBody(boost::beast::error_code ec, std::size_t bytes);
  void Dispatch();
  // Answers a request that could not be read (400, 413, 431) and closes after draining a little.
  void Refuse(int status, const std::string& message);
  void OnWrite(bool close, boost::beast::error_code ec, std::size_t bytes);
  // Waits, holding no buffer, for the client to send something or leave while a response streams.
  void DoWatch();
  void OnWatch(boost::beast::error_code ec);
  // Reads, without waiting, what woke the watch: the client's next request, kept within the header
  // limit, or its end (returned as the error).
  boost::beast::error_code TakeWatched();
  void ClientGone();
  bool streaming() const { return phase_ == Phase::kStreaming || phase_ == Phase::kEndingStream; }
  // Writes one streamed piece (framed as a chunk when chunked); OnStreamWrite follows.
  void WriteStreamPiece(std::string data);
  void OnStreamWrite(boost::beast::error_code ec, std::size_t bytes);
  // Ends a stream whose earlier pieces are all written: `tail` and the last chunk in one write (without
  // chunks: `tail`, then the close).
  void WriteEnd(std::string tail);
  // Reads the next request on a kept-alive connection once a streamed response ended.
  void ResumeAfterStream();
  void EndRequest();
  void DoClose();
  void DoDrain();
  void OnDrain(boost::beast::error_code ec, std::size_t bytes);

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  ServerState& state_;
  // Only while a request is read: a session whose response streams holds no parser.
  std::unique_ptr<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::optional<RequestHeadScanner> scanner_;

  // The client's address, asked of the socket once per connection, not once per request.
  std::string peer_;
  bool first_request_ = true;
  uint64_t request_id_ = 0;
  Phase phase_ = Phase::kIdle;
  bool close_after_ = false;  // the connection ends after this response
  bool keep_alive_ = false;
  unsigned version_ = 11;
  HeaderList extra_headers_;

  std::shared_ptr<boost::beast::http::response<boost::beast::http::string_body>> response_;
  std::string chunk_;  // what is being written of a stream (borrowed by the write)
  // The stream's pieces between the producer and the write in flight.
  std::optional<http::BodyCoalescer> stream_body_;
  // The producer told to wait (its piece's `done`), called once a write took what was held.
  std::function<void(bool)> resume_producer_;
  // How the streamed body is framed: chunked for HTTP/1.1; an HTTP/1.0 client cannot read chunks, so it
  // gets the bytes as they are and the end of the body is the end of the connection.
  bool stream_chunked_ = true;
  bool client_gone_ = false;
  // The read that notices a client leaving while a response streams.
  enum class Watch {
    kOff,             // none pending
    kWatching,        // pending
    kResumeWhenDone,  // pending and cancelled: its completion reads the next request
  };
  Watch watch_ = Watch::kOff;
  std::function<void()> on_client_gone_;
  std::size_t drained_ = 0;
  std::chrono::steady_clock::time_point drain_deadline_;
};

// The ResponseWriter handed to the Api for one request: posts each call onto the session's strand.
class SessionWriter : public ResponseWriter {
 public:
  SessionWriter(std::shared_ptr<HttpSession> session, uint64_t id)
      : session_(std::move(session)), id_(id) {}

  void AddHeaders(HeaderList headers) override;
  void Send(HttpResponse response) override;
  void StartStream(int status, HeaderList headers, std::string first_chunk,
                   std::function<void(bool ok)> done) override;
  void WriteChunk(std::string data, std::function<void(bool ok)> done) override;
  void FinishStream(std::string tail) override;
  void AbortStream() override;
  void OnClientGone(std::function<void()> cancel) override;

 private:
  std::shared_ptr<HttpSession> session_;
  uint64_t id_;
};

}  // namespace byok::gateway

#endif  // BYOK_SERVICES_GATEWAY_HTTP_HTTP_SESSION_H_
