#include "services/relay/upstream/upstream_exchange.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace byok::relay::upstream {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace {

constexpr uint32_t kHeaderLimitBytes = 64 * 1024;
// What a connection's read buffer may hold beyond a piece: a response head, or chunk framing. Body
// bytes leave it for pieces as they are parsed; bytes that parse as nothing (a chunk header that never
// ends, which Beast's parser does not bound) fail the response instead of growing the buffer.
constexpr size_t kReadBufferSlackBytes = kHeaderLimitBytes;

int64_t Millis(absl::Duration d) { return absl::ToInt64Milliseconds(d); }

std::string HostHeader(const UpstreamRequest& r) {
  std::string host = r.host.find(':') != std::string::npos ? absl::StrCat("[", r.host, "]") : r.host;
  const bool default_port = (r.tls && r.port == 443) || (!r.tls && r.port == 80);
  return default_port ? host : absl::StrCat(host, ":", r.port);
}

// A reused keep-alive connection the provider had already closed fails this way.
bool IsClosedConnection(beast::error_code ec) {
  return ec == http::error::end_of_stream || ec == net::error::eof ||
         ec == net::error::connection_reset || ec == net::error::broken_pipe ||
         ec == ssl::error::stream_truncated;
}

}  // namespace

Exchange::Exchange(Worker& worker, UpstreamRequest request, UpstreamHandler* handler)
    : worker_(worker),
      request_(std::move(request)),
      handler_(handler),
      resolver_(worker.ioc),
      connect_timer_(worker.ioc) {
  http_request_.version(11);
  http::verb verb = http::string_to_verb(request_.method);
  if (verb == http::verb::unknown) {
    http_request_.method_string(request_.method);
  } else {
    http_request_.method(verb);
  }
  http_request_.target(request_.target);
  http_request_.set(http::field::host,
                    request_.host_header.empty() ? HostHeader(request_) : request_.host_header);
  for (const auto& [name, value] : request_.headers) http_request_.insert(name, value);
  http_request_.body() = std::move(request_.body);
  if (!http_request_.body().empty() || verb == http::verb::post || verb == http::verb::put ||
      verb == http::verb::patch) {
    http_request_.content_length(http_request_.body().size());
  }
  http_request_.keep_alive(true);
  // The message holds its own copies now: a long stream keeps no second set of headers (nor the key).
  std::vector<byok::http::HeaderField>().swap(request_.headers);
  std::string().swap(request_.target);
}

void Exchange::Start() {
  net::post(worker_.ioc, [self = shared_from_this()] { self->DoStart(); });
}

void Exchange::Next() {
  net::post(worker_.ioc, [self = shared_from_this()] { self->DoNext(); });
}

void Exchange::Cancel() {
  net::post(worker_.ioc, [self = shared_from_this()] { self->DoCancel(); });
}

std::string Exchange::OriginKey() const {
  return absl::StrCat(request_.tls ? "https://" : "http://", request_.host, ":", request_.port);
}

void Exchange::DoStart() {
  if (state_ == State::kDone) return;
  if (!request_.address_guard) {
    connection_ = worker_.pool.Take(OriginKey());
    if (connection_) {
      reused_ = true;
      return DoWrite();
    }
  }
  DoResolve();
}

void Exchange::DoResolve() {
  state_ = State::kConnecting;
  connect_timer_.expires_after(absl::ToChronoNanoseconds(worker_.options.connect_timeout));
  connect_timer_.async_wait(beast::bind_front_handler(&Exchange::OnConnectTimer, shared_from_this()));
  resolver_.async_resolve(request_.host, std::to_string(request_.port),
                          beast::bind_front_handler(&Exchange::OnResolve, shared_from_this()));
}

void Exchange::OnConnectTimer(beast::error_code ec) {
  if (ec || state_ != State::kConnecting) return;
  if (stop_ == Stop::kNone) stop_ = Stop::kConnectTimeout;
  resolver_.cancel();
  if (connection_) connection_->Close();
}

void Exchange::OnResolve(beast::error_code ec, tcp::resolver::results_type results) {
  if (stop_ != Stop::kNone) return Finish(StopStatus());
  if (ec || results.empty()) {
    if (request_.address_guard && !request_.resolve_failure.ok()) return Finish(request_.resolve_failure);
    return Finish(absl::UnavailableError("cannot resolve the provider's host name"));
  }
  if (request_.address_guard) {
    // Every address must pass: a name that also resolves to a private address is refused outright.
    for (const auto& entry : results) {
      absl::Status allowed = request_.address_guard(entry.endpoint().address().to_string());
      if (!allowed.ok()) return Finish(allowed);
    }
    for (const auto& entry : results) {
      connection_ = worker_.pool.Take(
          absl::StrCat(OriginKey(), "@", entry.endpoint().address().to_string()));
      if (connection_) {
        connect_timer_.cancel();
        endpoints_ = results;
        reused_ = true;
        return DoWrite();
      }
    }
  }
  endpoints_ = std::move(results);
  DoConnect();
}

void Exchange::DoConnect() {
  state_ = State::kConnecting;
  connection_ = std::make_unique<Connection>();
  connection_->buffer.max_size(kReadBufferSlackBytes + worker_.options.piece_bytes);
  if (PoolObserver* o = CurrentPoolObserver()) o->ConnectionOpened();
  connection_->plain.emplace(worker_.ioc);
  // Only ever the addresses resolved (and checked) above: the name is not resolved again.
  connection_->plain->async_connect(
      endpoints_, beast::bind_front_handler(&Exchange::OnConnect, shared_from_this()));
}

void Exchange::OnConnect(beast::error_code ec, const tcp::endpoint& endpoint) {
  if (stop_ != Stop::kNone) return Finish(StopStatus());
  if (ec) {
    return Finish(
        absl::UnavailableError(absl::StrCat("cannot connect to the provider: ", ec.message())));
  }
  worker_.connections_opened.fetch_add(1, std::memory_order_relaxed);
  connection_->plain->socket().set_option(tcp::no_delay(true), ec);
  connection_->key = request_.address_guard
                         ? absl::StrCat(OriginKey(), "@", endpoint.address().to_string())
                         : OriginKey();
  if (!request_.tls) {
    connect_timer_.cancel();
    return DoWrite();
  }
  absl::StatusOr<std::unique_ptr<TlsSocket>> tls =
      TlsSocket::Make(*connection_->plain, worker_.tls.native_handle(), request_.host);
  if (!tls.ok()) return Finish(tls.status());
  connection_->tls = *std::move(tls);
  connection_->tls->async_handshake(
                      beast::bind_front_handler(&Exchange::OnHandshake, shared_from_this()));
}

void Exchange::OnHandshake(beast::error_code ec) {
  connect_timer_.cancel();
  if (stop_ != Stop::kNone) return Finish(StopStatus());
  if (ec) {
    return Finish(absl::UnavailableError(
        absl::StrCat("TLS handshake with the provider failed: ", ec.message())));
  }
  DoWrite();
}

void Exchange::DoWrite() {
  state_ = State::kSending;
  // One deadline covers sending the request and receiving the response headers.
  connection_->ExpiresAfter(absl::ToChronoNanoseconds(worker_.options.headers_timeout));
  connection_->WithStream([this](auto& stream) {
    http::async_write(stream, http_request_,
                      beast::bind_front_handler(&Exchange::OnWrite, shared_from_this()));
  });
}

void Exchange::OnWrite(beast::error_code ec, size_t) {
  if (stop_ != Stop::kNone) return Finish(StopStatus());
  if (ec) {
    if (RetryOnFreshConnection(ec)) return;
    if (ec == beast::error::timeout) {
      return Finish(absl::DeadlineExceededError("sending the request to the provider timed out"));
    }
    return Finish(absl::UnavailableError(
        absl::StrCat("sending the request to the provider failed: ", ec.message())));
  }
  DoReadHeader();
}

void Exchange::DoReadHeader() {
  parser_.emplace();
  parser_->header_limit(kHeaderLimitBytes);
  // Bodies stream through and nothing is buffered whole, so no limit applies. (Beast 1.74 mishandles
  // boost::none for Content-Length bodies, hence the largest value.)
  parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
  connection_->WithStream([this](auto& stream) {
    http::async_read_header(stream, connection_->buffer, *parser_,
                            beast::bind_front_handler(&Exchange::OnReadHeader, shared_from_this()));
  });
}

void Exchange::OnReadHeader(beast::error_code ec, size_t) {
  if (stop_ != Stop::kNone) return Finish(StopStatus());
  if (ec) {
    if (RetryOnFreshConnection(ec)) return;
    if (ec == beast::error::timeout) {
      return Finish(absl::DeadlineExceededError(
          absl::StrCat("the provider sent no response headers within ",
                       Millis(worker_.options.headers_timeout), " ms")));
    }
    return Finish(absl::UnavailableError(
        absl::StrCat("no valid response from the provider: ", ec.message())));
  }
  // The request can no longer be sent again (no retry once a response began): a stream does not keep
  // its headers (the key among them) and body for its whole life.
  http_request_ = {};
  UpstreamHead head;
  head.status = static_cast<int>(parser_->get().result_int());
  for (const auto& field : parser_->get()) {
    head.headers.emplace_back(absl::AsciiStrToLower(std::string(field.name_string())),
                              std::string(field.value()));
  }
  state_ = State::kWaitingConsumer;
  handler_->OnUpstreamHead(std::move(head));
}

void Exchange::DoNext() {
  if (state_ != State::kWaitingConsumer) return;
  DoReadBody();
}

void Exchange::DoReadBody() {
  if (parser_->is_done()) {
    const bool reusable = parser_->keep_alive() && connection_->buffer.size() == 0;
    return Finish(absl::OkStatus(), reusable);
  }
  state_ = State::kReadingBody;
  // Parse what is already here (often only the CRLF that ends a chunk), then wait for the provider to
  // send more before taking a piece buffer, so a quiet stream (a model thinking) holds no body buffer
  // at all. Bytes TLS holds already are here too: a wait on the socket would not see them.
  if (connection_->buffer.size() > 0 || (connection_->tls && connection_->tls->has_pending())) {
    return ParseBuffered();
  }
  DoWaitReadable();
}

void Exchange::ParseBuffered() {
  for (;;) {
    // What the socket already holds joins the buffer first, unless the buffer holds the rest of a
    // body of known length (a small response read with its head), where the read would find nothing.
    // The piece can hold no more than what is buffered: size it so, and it travels without a copy.
    const boost::optional<uint64_t> remaining = parser_->content_length_remaining();
    beast::error_code taken;
    size_t took = 0;
    if (!remaining || *remaining > connection_->buffer.size()) took = TakeWaiting(&taken);
    piece_.resize(std::min(worker_.options.piece_bytes, connection_->buffer.size()));
    SetBodyBuffer();
    beast::error_code ec;
    const size_t used = parser_->put(connection_->buffer.data(), ec);
    connection_->buffer.consume(used);
    const size_t got = piece_.size() - parser_->get().body().size;
    if (got == 0 && (ec == http::error::need_more || (!ec && used == 0))) {
      // An incomplete chunk header or nothing usable yet. Bytes just taken may be followed by more
      // that TLS holds already (the end of one chunk and the next chunk's header come as records of
      // their own), which a wait on the socket would never see: take until nothing comes, then
      // wait. A connection that failed (closed, cut, a TLS error) is read once more, and that read
      // reports it.
      if (used > 0) return DoReadBody();
      if (took > 0) continue;
      return taken && taken != net::error::would_block ? DoReadPiece() : DoWaitReadable();
    }
    if (ec == http::error::need_more) ec = {};
    return OnReadBody(ec, used);
  }
}

void Exchange::DoWaitReadable() {
  std::string().swap(piece_);
  // Nor a read buffer: at most what waits in it (often the CRLF that ends the last chunk).
  connection_->buffer.shrink_to_fit();
  if (connection_->tls) connection_->tls->ReleaseBuffers();
  state_ = State::kWaitingReadable;
  connect_timer_.expires_after(absl::ToChronoNanoseconds(worker_.options.idle_timeout));
  connect_timer_.async_wait(beast::bind_front_handler(&Exchange::OnIdleTimer, shared_from_this()));
  connection_->tcp().socket().async_wait(
      tcp::socket::wait_read, beast::bind_front_handler(&Exchange::OnReadable, shared_from_this()));
}

void Exchange::OnIdleTimer(beast::error_code ec) {
  if (ec || state_ != State::kWaitingReadable) return;
  if (stop_ == Stop::kNone) stop_ = Stop::kIdleTimeout;
  connection_->Close();
}

void Exchange::OnReadable(beast::error_code ec) {
  state_ = State::kReadingBody;
  connect_timer_.cancel();
  if (stop_ != Stop::kNone) return Finish(StopStatus());
  if (ec) {
    return Finish(
        absl::AbortedError(absl::StrCat("the provider's response broke off: ", ec.message())));
  }
  // Over TLS, readable may mean records that carry no data (a session ticket): read what TLS gives
  // without waiting, and wait again holding nothing if that is nothing.
  if (connection_->tls) return ParseBuffered();
  DoReadPiece();
}

void Exchange::SetBodyBuffer() {
  parser_->get().body().data = piece_.data();
  parser_->get().body().size = piece_.size();
  parser_->get().body().more = true;
}

void Exchange::DoReadPiece() {
  if (piece_.size() != worker_.options.piece_bytes) piece_.resize(worker_.options.piece_bytes);
  SetBodyBuffer();
  connection_->ExpiresAfter(absl::ToChronoNanoseconds(worker_.options.idle_timeout));
  connection_->WithStream([this](auto& stream) {
    http::async_read_some(stream, connection_->buffer, *parser_,
                          beast::bind_front_handler(&Exchange::OnReadBody, shared_from_this()));
  });
}

absl::Status Exchange::IdleTimeoutError() const {
  return absl::DeadlineExceededError(
      absl::StrCat("the provider's response stalled: nothing arrived for ",
                   Millis(worker_.options.idle_timeout), " ms"));
}

absl::Status Exchange::StopStatus() const {
  switch (stop_) {
    case Stop::kConnectTimeout:
      return absl::DeadlineExceededError(absl::StrCat("connecting to the provider timed out after ",
                                                      Millis(worker_.options.connect_timeout), " ms"));
    case Stop::kIdleTimeout:
      return IdleTimeoutError();
    case Stop::kCancelled:
    case Stop::kNone:
      break;
  }
  return absl::CancelledError("cancelled");
}

void Exchange::OnReadBody(beast::error_code ec, size_t) {
  if (ec == http::error::need_buffer) ec = {};
  if (stop_ != Stop::kNone) return Finish(StopStatus());
  if (ec == beast::error::timeout) return Finish(IdleTimeoutError());
  if (ec) {
    return Finish(
        absl::AbortedError(absl::StrCat("the provider's response broke off: ", ec.message())));
  }
  ParseAhead();
  const size_t got = piece_.size() - parser_->get().body().size;
  if (got == 0) return DoReadBody();  // framing only (a chunk header); read on
  // A small piece (an SSE event) travels in a string of its own size and the read buffer stays for
  // the next read: a slow stream then holds a few hundred bytes between events, not a read buffer.
  std::string piece;
  if (got <= piece_.capacity() / 2) {
    piece.assign(piece_.data(), got);
  } else {
    piece_.resize(got);
    piece.swap(piece_);
  }
  state_ = State::kWaitingConsumer;
  const bool last = parser_->is_done();
  handler_->OnUpstreamBody(std::move(piece), last);
  // The whole body is here: end now rather than after a round trip through the consumer's Next().
  if (last && state_ == State::kWaitingConsumer) DoReadBody();
}

void Exchange::ParseAhead() {
  // Beast's parser stops after each chunk header and each chunk body, and eager parsing does not help
  // here (async_read_some would then wait on the socket for a chunk header cut in two instead of
  // delivering what it has). Parsing on by hand through what has arrived makes the SSE events that
  // came together one piece: one hand-off to the consumer and one message to the caller, not one per
  // event.
  while (!parser_->is_done() && parser_->get().body().size > 0) {
    if (connection_->buffer.size() == 0 && TakeWaiting() == 0) return;
    if (AtLastChunk()) return;  // the end is read on the next Next(), as a piece of its own would be
    beast::error_code ec;
    const size_t used = parser_->put(connection_->buffer.data(), ec);
    connection_->buffer.consume(used);
    if (ec == http::error::need_more) {
      if (TakeWaiting() == 0) return;  // the rest is still on its way
      continue;
    }
    // A malformed chunk leaves its bytes in the buffer and fails the next parse, which reports it.
    if (ec || used == 0) return;
  }
}

bool Exchange::AtLastChunk() {
  if (!parser_->chunked()) return false;
  absl::string_view rest(static_cast<const char*>(connection_->buffer.data().data()),
                         connection_->buffer.size());
  absl::ConsumePrefix(&rest, "\r\n");  // the end of the chunk before
  const size_t zeros = rest.find_first_not_of('0');
  return zeros > 0 && zeros != absl::string_view::npos && (rest[zeros] == '\r' || rest[zeros] == ';');
}

size_t Exchange::TakeWaiting(beast::error_code* error) {
  beast::error_code ec;
  size_t got = 0;
  const size_t room = std::min(worker_.options.piece_bytes,
                               connection_->buffer.max_size() - connection_->buffer.size());
  if (room == 0) {
    if (error != nullptr) *error = http::error::buffer_overflow;
    return 0;
  }
  if (connection_->tls) {
    // What TLS decrypted already, or records the socket holds; never a wait (the socket is
    // non-blocking, and TLS says would_block for half a record). Room for a full piece, as TLS may
    // have that much decrypted; DoWaitReadable gives it back if nothing came.
    got = connection_->tls->read_some(connection_->buffer.prepare(room), ec);
  } else {
    // One non-blocking read takes what the socket holds or finds nothing: one system call, where
    // asking first how much waits (FIONREAD) cost a second one for every read, most of the relay's
    // system calls on a stream. The socket's asynchronous operations do not change with the mode.
    auto& socket = connection_->tcp().socket();
    if (!socket.non_blocking()) socket.non_blocking(true, ec);
    if (ec) {
      if (error != nullptr) *error = ec;
      return 0;
    }
    got = socket.read_some(connection_->buffer.prepare(beast::read_size(connection_->buffer, room)), ec);
  }
  // Nothing there (would_block), or an error: the next asynchronous read finds the connection broken.
  if (error != nullptr) *error = ec;
  if (ec) return 0;
  connection_->buffer.commit(got);
  return got;
}

void Exchange::DoCancel() {
  if (state_ == State::kDone || stop_ == Stop::kCancelled) return;
  stop_ = Stop::kCancelled;
  connect_timer_.cancel();
  resolver_.cancel();
  if (connection_) connection_->Close();
  // Nothing is pending while the consumer holds a piece: end now. Otherwise the pending operation
  // completes with operation_aborted and ends the call.
  if (state_ == State::kWaitingConsumer) Finish(absl::CancelledError("cancelled"));
}

bool Exchange::RetryOnFreshConnection(beast::error_code ec) {
  if (!reused_ || stop_ != Stop::kNone || !IsClosedConnection(ec)) return false;
  reused_ = false;
  connection_->Close();
  connection_.reset();
  parser_.reset();
  if (request_.address_guard) {
    connect_timer_.expires_after(absl::ToChronoNanoseconds(worker_.options.connect_timeout));
    connect_timer_.async_wait(
        beast::bind_front_handler(&Exchange::OnConnectTimer, shared_from_this()));
    DoConnect();
  } else {
    DoResolve();
  }
  return true;
}

void Exchange::Finish(absl::Status status, bool reusable) {
  if (state_ == State::kDone) return;
  state_ = State::kDone;
  connect_timer_.cancel();
  if (connection_) {
    if (reusable && stop_ == Stop::kNone) {
      connection_->ExpiresNever();
      worker_.pool.Put(std::move(connection_));
    } else {
      connection_->Close();
    }
    connection_.reset();
  }
  UpstreamHandler* handler = handler_;
  handler_ = nullptr;
  handler->OnUpstreamDone(std::move(status));
}

}  // namespace byok::relay::upstream
