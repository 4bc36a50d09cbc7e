// Internal to the upstream client: one request/response exchange with a provider, as a chain of
// do_x/on_x steps that read like the protocol. Everything runs on one I/O thread (its worker's event
// loop), so the exchange needs no lock; Next() and Cancel() post onto that thread.
#ifndef BYOK_SERVICES_RELAY_UPSTREAM_UPSTREAM_EXCHANGE_H_
#define BYOK_SERVICES_RELAY_UPSTREAM_UPSTREAM_EXCHANGE_H_

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/string_body.hpp>

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "services/relay/upstream/connection_pool.h"
#include "services/relay/upstream/upstream_client.h"

namespace byok::relay::upstream {

// What one I/O thread owns: its event loop and its pool. Shared by the exchanges it runs.
struct Worker {
  Worker(const UpstreamOptions& opts, boost::asio::ssl::context& tls_context,
         std::atomic<int64_t>& opened)
      : options(opts),
        tls(tls_context),
        pool(opts.max_idle_per_origin, absl::ToChronoNanoseconds(opts.max_idle_time)),
        connections_opened(opened) {}

  boost::asio::io_context ioc{1};
  const UpstreamOptions& options;
  boost::asio::ssl::context& tls;
  ConnectionPool pool;
  std::atomic<int64_t>& connections_opened;
};

// One call. Owned through shared_ptr by the caller's handle and by every pending completion handler.
class Exchange : public UpstreamCall, public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(Worker& worker, UpstreamRequest request, UpstreamHandler* handler);

  // Starts the exchange on the worker's thread.
  void Start();
  void Next() override;
  void Cancel() override;

 private:
  // kWaitingReadable: between body pieces, waiting for the provider with no piece buffer.
  enum class State {
    kConnecting,
    kSending,
    kWaitingConsumer,
    kReadingBody,
    kWaitingReadable,
    kDone
  };
  // Why the call is being stopped from outside its own I/O. The socket is closed, the pending operation
  // completes with an error, and its handler ends the call with this reason instead of that error. A
  // cancellation overrides a timeout; a timeout never overrides a cancellation.
  enum class Stop { kNone, kCancelled, kConnectTimeout, kIdleTimeout };

  void DoStart();
  void DoResolve();
  void OnResolve(boost::beast::error_code ec, boost::asio::ip::tcp::resolver::results_type results);
  void DoConnect();
  void OnConnect(boost::beast::error_code ec, const boost::asio::ip::tcp::endpoint& endpoint);
  void OnHandshake(boost::beast::error_code ec);
  void OnConnectTimer(boost::beast::error_code ec);
  void DoWrite();
  void OnWrite(boost::beast::error_code ec, size_t bytes);
  void DoReadHeader();
  void OnReadHeader(boost::beast::error_code ec, size_t bytes);
  void DoNext();
  void DoReadBody();
  void OnIdleTimer(boost::beast::error_code ec);
  // Parses bytes already read (and what the socket or TLS holds), delivers what they complete.
  void ParseBuffered();
  // Waits, holding no piece buffer, until the provider sends something.
  void DoWaitReadable();
  void OnReadable(boost::beast::error_code ec);
  // Points the parser's body at `piece_`.
  void SetBodyBuffer();
  void DoReadPiece();
  void OnReadBody(boost::beast::error_code ec, size_t bytes);
  // Parses on, into the same piece, what has arrived beyond the element just parsed.
  void ParseAhead();
  // Whether the read buffer begins like the body's last chunk (size zero). Mid-chunk, body bytes can
  // look so too: that only ends a piece early.
  bool AtLastChunk();
  // Moves what can be read without waiting (up to a piece) into the read buffer: the bytes the socket
  // holds, through TLS for https; how many. `error` (if given) gets why nothing came: would_block, or
  // what broke the connection.
  size_t TakeWaiting(boost::beast::error_code* error = nullptr);
  absl::Status IdleTimeoutError() const;
  // The status a stopped call ends with (stop_ is not kNone).
  absl::Status StopStatus() const;
  void DoCancel();

  // Retries once on a fresh connection when a reused one turned out closed before any response byte.
  bool RetryOnFreshConnection(boost::beast::error_code ec);
  // Ends the call: returns the connection to the pool when `reusable`, tells the handler.
  void Finish(absl::Status status, bool reusable = false);
  std::string OriginKey() const;

  Worker& worker_;
  UpstreamRequest request_;
  UpstreamHandler* handler_;
  State state_ = State::kConnecting;
  Stop stop_ = Stop::kNone;
  // The connection came from the pool (a closed one may be retried once on a fresh connection).
  bool reused_ = false;

  boost::asio::ip::tcp::resolver resolver_;
  // Bounds the connect phase, then the quiet waits between body pieces.
  boost::asio::steady_timer connect_timer_;
  boost::asio::ip::tcp::resolver::results_type endpoints_;
  std::unique_ptr<Connection> connection_;
  boost::beast::http::request<boost::beast::http::string_body> http_request_;
  std::optional<boost::beast::http::response_parser<boost::beast::http::buffer_body>> parser_;
  std::string piece_;
};

}  // namespace byok::relay::upstream

#endif  // BYOK_SERVICES_RELAY_UPSTREAM_UPSTREAM_EXCHANGE_H_
