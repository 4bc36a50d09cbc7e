#include "services/gateway/http/http_session.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/buffers_cat.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "services/gateway/http/client_address.h"

namespace byok::gateway {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using ::byok::http::BodyCoalescer;

namespace {

// After refusing a request whose body was not read, read (and drop) at most this much for at most this
// long before closing, so the client sees the answer instead of a reset.
constexpr std::size_t kMaxDrainBytes = 4 * 1024 * 1024;
// What one read takes of what a client sends while its response streams (or while it is drained).
constexpr std::size_t kWatchReadBytes = 512;
constexpr auto kDrainTime = std::chrono::seconds(1);
// Bytes asked of the socket per read while a request head is incomplete.
constexpr std::size_t kHeadReadBytes = 4096;

// Beast speaks std::string_view; this Abseil has its own string_view.
absl::string_view View(std::string_view s) { return absl::string_view(s.data(), s.size()); }

std::chrono::steady_clock::duration Chrono(absl::Duration d) {
  return absl::ToChronoMilliseconds(d);
}

}  // namespace

HttpSession::HttpSession(net::ip::tcp::socket&& socket, ServerState& state)
    : stream_(std::move(socket)), state_(state) {
  beast::error_code ec;
  // Stream pieces are small and must leave at once.
  stream_.socket().set_option(net::ip::tcp::no_delay(true), ec);
}

HttpSession::~HttpSession() {
  if (phase_ != Phase::kIdle) state_.active_requests.fetch_sub(1);
}

void HttpSession::Run() {
  net::dispatch(stream_.get_executor(),
                beast::bind_front_handler(&HttpSession::DoRead, shared_from_this()));
}

void HttpSession::DoRead() {
  parser_ = std::make_unique<http::request_parser<http::string_body>>();
  parser_->header_limit(state_.config.header_limit_bytes);
  parser_->body_limit(state_.config.body_limit_bytes);
  scanner_.emplace(state_.config.header_limit_bytes);
  // A slow or silent client cannot hold the connection: the whole head must arrive in time.
  stream_.expires_after(
      Chrono(first_request_ ? state_.config.header_timeout : state_.config.idle_timeout));
  ReadHead();
}

void HttpSession::ReadHead() {
  auto data = buffer_.data();
  HeadScan scan =
      scanner_->Scan(std::string_view(static_cast<const char*>(data.data()), data.size()));
  switch (scan.state) {
    case HeadScan::State::kRefused:
      return Refuse(scan.refusal.status, std::string(scan.refusal.message));
    case HeadScan::State::kIncomplete:
      // The scanner refuses a head past the limit, so the buffer stays within about twice the limit.
      stream_.async_read_some(
          buffer_.prepare(kHeadReadBytes),
          beast::bind_front_handler(&HttpSession::OnReadHeadSome, shared_from_this()));
      return;
    case HeadScan::State::kComplete:
      break;
  }
  buffer_.consume(scan.skip);
  beast::error_code ec;
  std::size_t used = parser_->put(net::buffer(buffer_.data().data(), scan.head_size), ec);
  buffer_.consume(used);
  if (!ec && !parser_->is_header_done()) ec = http::error::partial_message;
  OnHead(ec);
}

void HttpSession::OnReadHeadSome(beast::error_code ec, std::size_t bytes) {
  buffer_.commit(bytes);
  // End of stream, timeout, reset, shutdown: nothing to answer.
  if (ec) return DoClose();
  ReadHead();
}

void HttpSession::OnHead(beast::error_code ec) {
  if (ec == http::error::header_limit) return Refuse(431, "request header too large");
  // Content-Length above the limit is refused here, before a byte of the body is read.
  if (ec == http::error::body_limit) return Refuse(413, "request body too large");
  if (ec) return Refuse(400, "malformed HTTP request");
  first_request_ = false;
  const auto& req = parser_->get();
  if (auto refusal = CheckRequestFraming(req)) {
    return Refuse(refusal->status, std::string(refusal->message));
  }
  auto content_length = parser_->content_length();
  if (content_length && *content_length > state_.config.body_limit_bytes) {
    return Refuse(413, "request body too large");
  }
  if (absl::EqualsIgnoreCase(View(req[http::field::expect]), "100-continue") && !parser_->is_done()) {
    // The client waits for this before sending the body.
    static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
    stream_.expires_after(Chrono(state_.config.write_timeout));
    net::async_write(stream_, net::buffer(kContinue, sizeof(kContinue) - 1),
                     [self = shared_from_this()](beast::error_code wec, std::size_t) {
                       if (wec) return self->DoClose();
                       self->DoReadBody();
                     });
    return;
  }
  DoReadBody();
}

void HttpSession::DoReadBody() {
  stream_.expires_after(Chrono(state_.config.body_timeout));
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&HttpSession::OnReadBody, shared_from_this()));
}

void HttpSession::OnReadBody(beast::error_code ec, std::size_t) {
  // A chunked body is cut off as soon as it passes the limit.
  if (ec == http::error::body_limit) return Refuse(413, "request body too large");
  if (ec == beast::error::timeout || ec == net::error::operation_aborted ||
      ec == http::error::end_of_stream || ec == http::error::partial_message) {
    return DoClose();
  }
  if (ec) {
    if (ec.category() == http::make_error_code(http::error::body_limit).category()) {
      return Refuse(400, "malformed HTTP request");
    }
    return DoClose();
  }
  Dispatch();
}

void HttpSession::Dispatch() {
  http::request<http::string_body> req = parser_->release();
  parser_.reset();
  // The head's read buffer stays for the next request: taking 4 KiB again at each request costs the
  // allocator a consolidation of its small free chunks. A stream gives it back (DoStartStream).
  stream_.expires_never();

  HttpRequest request;
  request.method = std::string(req.method_string());
  request.target = std::string(req.target());
  size_t q = request.target.find('?');
  request.path = request.target.substr(0, q);
  if (q != std::string::npos) request.query = request.target.substr(q + 1);
  for (const auto& field : req) {
    request.headers.emplace_back(absl::AsciiStrToLower(View(field.name_string())),
                                 std::string(field.value()));
  }
  request.body = std::move(req.body());
  if (peer_.empty()) {
    beast::error_code ec;
    auto remote = stream_.socket().remote_endpoint(ec);
    peer_ = ec ? std::string("unknown") : remote.address().to_string();
  }
  request.client_address =
      ClientAddress(peer_, request.Header("x-forwarded-for"), state_.config.trust_proxy);

  keep_alive_ = req.keep_alive();
  version_ = req.version();
  ++request_id_;
  phase_ = Phase::kDispatched;
  close_after_ = false;
  client_gone_ = false;
  on_client_gone_ = nullptr;
  extra_headers_.clear();
  state_.active_requests.fetch_add(1);
  state_.api.Handle(std::move(request), std::make_shared<SessionWriter>(shared_from_this(), request_id_));
}

void HttpSession::Refuse(int status, const std::string& message) {
  first_request_ = false;
  ++request_id_;
  phase_ = Phase::kDispatched;
  close_after_ = true;
  keep_alive_ = false;
  extra_headers_.clear();
  state_.active_requests.fetch_add(1);
  // The CORS grant needs the Origin: known when the parser read it before it stopped (a 413 by
  // Content-Length stops at that field).
  std::string origin;
  if (parser_) origin = std::string(View(parser_->get()[http::field::origin]));
  state_.api.Refuse(status, message, origin,
                    std::make_shared<SessionWriter>(shared_from_this(), request_id_));
}

void HttpSession::AddHeaders(uint64_t id, HeaderList headers) {
  if (id != request_id_ || phase_ != Phase::kDispatched) return;
  for (auto& [name, value] : headers) {
    std::erase_if(extra_headers_,
                   [&](const auto& h) { return absl::EqualsIgnoreCase(h.first, name); });
    extra_headers_.emplace_back(std::move(name), std::move(value));
  }
}

void HttpSession::DoSend(uint64_t id, HttpResponse response) {
  if (id != request_id_ || phase_ != Phase::kDispatched) return;
  phase_ = Phase::kSending;
  auto res = std::make_shared<http::response<http::string_body>>(
      static_cast<http::status>(response.status), version_);
  for (auto& [name, value] : response.headers) res->insert(name, value);
  for (const auto& [name, value] : extra_headers_) res->set(name, value);
  res->body() = std::move(response.body);
  res->keep_alive(keep_alive_ && !close_after_);
  // HTTP/1.0 closes by default, but a client must not have to know that to see it.
  if (version_ < 11 && !res->keep_alive()) res->set(http::field::connection, "close");
  res->prepare_payload();
  response_ = res;
  stream_.expires_after(Chrono(state_.config.write_timeout));
  http::async_write(stream_, *res,
                    beast::bind_front_handler(&HttpSession::OnWrite, shared_from_this(),
                                              res->need_eof() || close_after_));
}

void HttpSession::OnWrite(bool close, beast::error_code ec, std::size_t) {
  response_.reset();
  EndRequest();
  if (ec) return DoClose();
  if (close_after_) {
    // The request's body was not read: drain a little so the client reads the answer.
    beast::error_code sec;
    stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, sec);
    drained_ = 0;
    drain_deadline_ = std::chrono::steady_clock::now() + kDrainTime;
    return DoDrain();
  }
  if (close) return DoClose();
  DoRead();
}

void HttpSession::DoStartStream(uint64_t id, int status, HeaderList headers, std::string first_chunk,
                                std::function<void(bool)> done) {
  if (id != request_id_ || phase_ != Phase::kDispatched) return done(false);
  phase_ = Phase::kStreaming;
  // The head's read buffer is not held while a stream lasts (it can last long), unless the client
  // already sent more.
  if (buffer_.size() == 0) buffer_.shrink_to_fit();
  http::response<http::empty_body> framing(static_cast<http::status>(status), version_);
  for (auto& [name, value] : headers) framing.insert(name, value);
  for (const auto& [name, value] : extra_headers_) framing.set(name, value);
  // RFC 9112 §6.1: no Transfer-Encoding to a client that did not say HTTP/1.1. Without a length, the
  // body of an HTTP/1.0 response ends when the connection closes.
  stream_chunked_ = version_ >= 11;
  if (stream_chunked_) {
    framing.chunked(true);
    framing.keep_alive(keep_alive_);
  } else {
    framing.erase(http::field::transfer_encoding);
    framing.erase(http::field::content_length);
    keep_alive_ = false;
    framing.keep_alive(false);
    framing.set(http::field::connection, "close");
  }
  // The head and the first chunk leave in one write (one packet, one wake-up of the client).
  http::fields::writer serialized(framing, framing.version(), framing.result_int());
  chunk_ = beast::buffers_to_string(serialized.get());
  stream_body_.emplace(kMaxHeldBytes);
  absl::StatusOr<BodyCoalescer::Step> first = stream_body_->Offer(std::move(first_chunk));
  if (first.ok() && first->write.has_value() && !first->write->empty()) {
    if (stream_chunked_) {
      absl::StrAppend(&chunk_, absl::Hex(first->write->size()), "\r\n", *first->write, "\r\n");
    } else {
      absl::StrAppend(&chunk_, *first->write);
    }
  }
  // The watch read has no deadline; each write gets the write timeout (set after the read started, so
  // it applies to the write only).
  stream_.expires_never();
  DoWatch();
  stream_.expires_after(Chrono(state_.config.write_timeout));
  net::async_write(stream_, net::buffer(chunk_),
                   beast::bind_front_handler(&HttpSession::OnStreamWrite, shared_from_this()));
  // The next piece may come while this is written.
  done(true);
}

void HttpSession::DoWriteChunk(uint64_t id, std::string data, std::function<void(bool)> done) {
  if (id != request_id_ || phase_ != Phase::kStreaming || client_gone_) return done(false);
  // An empty chunk would end the stream: there is nothing to write.
  if (data.empty()) return done(true);
  absl::StatusOr<BodyCoalescer::Step> step = stream_body_->Offer(std::move(data));
  if (!step.ok()) return done(false);
  if (step->write.has_value()) WriteStreamPiece(std::move(*step->write));
  if (step->more) return done(true);
  resume_producer_ = std::move(done);
}

void HttpSession::WriteStreamPiece(std::string data) {
  chunk_ = std::move(data);
  stream_.expires_after(Chrono(state_.config.write_timeout));
  auto written = beast::bind_front_handler(&HttpSession::OnStreamWrite, shared_from_this());
  if (stream_chunked_) {
    net::async_write(stream_, http::make_chunk(net::buffer(chunk_)), std::move(written));
  } else {
    net::async_write(stream_, net::buffer(chunk_), std::move(written));
  }
}

void HttpSession::OnStreamWrite(beast::error_code ec, std::size_t) {
  std::string().swap(chunk_);  // a stream waiting for its next piece keeps no write buffer
  if (ec) ClientGone();
  if (!streaming()) return;  // aborted meanwhile
  if (client_gone_) {
    if (phase_ == Phase::kEndingStream) DoAbortStream(request_id_);
    return;
  }
  // The end is known: what was held leaves with the last chunk, in one write.
  if (phase_ == Phase::kEndingStream) return WriteEnd(stream_body_->Close());
  absl::StatusOr<BodyCoalescer::Step> step = stream_body_->WriteDone();
  if (!step.ok()) {
    log::Error("gateway", "%s", step.status().message());
    return DoAbortStream(request_id_);
  }
  if (step->write.has_value()) WriteStreamPiece(std::move(*step->write));
  if (step->more && resume_producer_) std::exchange(resume_producer_, nullptr)(true);
}

void HttpSession::DoFinishStream(uint64_t id, std::string tail) {
  if (id != request_id_ || phase_ != Phase::kStreaming) return;
  if (client_gone_) return DoAbortStream(id);
  phase_ = Phase::kEndingStream;
  if (stream_body_->state() == BodyCoalescer::State::kIdle) return WriteEnd(std::move(tail));
  // A write is in flight: the tail is held, and OnStreamWrite writes what is held with the last chunk.
  if (!tail.empty()) (void)stream_body_->Offer(std::move(tail));
}

void HttpSession::WriteEnd(std::string tail) {
  stream_body_->Close();
  chunk_ = std::move(tail);
  auto ended = [self = shared_from_this()](beast::error_code ec, std::size_t) {
    std::string().swap(self->chunk_);
    self->EndRequest();
    // Without chunks the close is the end of the body.
    if (ec || !self->stream_chunked_ || !self->keep_alive_ || self->close_after_) return self->DoClose();
    self->ResumeAfterStream();
  };
  stream_.expires_after(Chrono(state_.config.write_timeout));
  if (!stream_chunked_) {
    if (chunk_.empty()) return ended({}, 0);
    return net::async_write(stream_, net::buffer(chunk_), std::move(ended));
  }
  // One write, so the client is woken once for the stream's last bytes and its end.
  if (chunk_.empty()) return net::async_write(stream_, http::make_chunk_last(), std::move(ended));
  net::async_write(stream_, beast::buffers_cat(http::make_chunk(net::buffer(chunk_)), http::make_chunk_last()),
                   std::move(ended));
}

void HttpSession::DoAbortStream(uint64_t id) {
  if (id != request_id_ || !streaming()) return;
  EndRequest();
  if (!stream_chunked_) {
    // Without chunks a clean close would read as a complete body: a reset says it is not.
    beast::error_code ec;
    stream_.socket().set_option(net::socket_base::linger(true, 0), ec);
    stream_.close();
    return;
  }
  DoClose();
}

void HttpSession::SetClientGone(uint64_t id, std::function<void()> cancel) {
  if (id != request_id_) return;
  on_client_gone_ = std::move(cancel);
  if (client_gone_ && on_client_gone_) ClientGone();
}

void HttpSession::DoWatch() {
  watch_ = Watch::kWatching;
  stream_.socket().async_wait(net::socket_base::wait_read,
                              beast::bind_front_handler(&HttpSession::OnWatch, shared_from_this()));
}

beast::error_code HttpSession::TakeWatched() {
  beast::error_code ec;
  auto& socket = stream_.socket();
  // Never blocks (the session's other reads and writes are asynchronous, which this does not change).
  if (!socket.non_blocking()) socket.non_blocking(true, ec);  // a system call each time it is set
  if (ec) return ec;
  const std::size_t bytes = socket.read_some(buffer_.prepare(kWatchReadBytes), ec);
  if (ec == net::error::would_block || ec == net::error::try_again) return {};  // woken for nothing
  if (ec) return ec;
  // The client's next request (pipelined) began while this response streamed: keep it for later,
  // within the header limit; beyond it the connection ends after this response.
  if (buffer_.size() + bytes > state_.config.header_limit_bytes) {
    close_after_ = true;
  } else {
    buffer_.commit(bytes);
  }
  return {};
}

void HttpSession::OnWatch(beast::error_code ec) {
  const Watch was = std::exchange(watch_, Watch::kOff);
  if (!ec) ec = TakeWatched();
  if (streaming()) {
    if (ec) return ClientGone();
    return DoWatch();
  }
  if (was == Watch::kResumeWhenDone) {
    if (ec && ec != net::error::operation_aborted) return DoClose();
    if (close_after_) return DoClose();
    DoRead();
  }
}

void HttpSession::ResumeAfterStream() {
  if (watch_ == Watch::kOff) return DoRead();
  // The watch read is still pending: cancel it and read the next request from its completion.
  watch_ = Watch::kResumeWhenDone;
  beast::error_code ec;
  stream_.socket().cancel(ec);
}

void HttpSession::ClientGone() {
  bool first = !client_gone_;
  client_gone_ = true;
  if (first) log::Debug("gateway", "client left during a streamed response");
  if (stream_body_.has_value()) stream_body_->Close();  // nothing more is written
  // A producer told to wait learns that nothing more is taken.
  if (resume_producer_) std::exchange(resume_producer_, nullptr)(false);
  if (on_client_gone_) {
    std::function<void()> cancel = std::move(on_client_gone_);
    on_client_gone_ = nullptr;
    cancel();
  }
}

void HttpSession::EndRequest() {
  if (phase_ == Phase::kIdle) return;
  phase_ = Phase::kIdle;
  if (stream_body_.has_value()) {
    stream_body_->Close();
    stream_body_.reset();
  }
  // A producer still waiting learns that nothing more is taken.
  if (resume_producer_) std::exchange(resume_producer_, nullptr)(false);
  state_.active_requests.fetch_sub(1);
}

void HttpSession::DoClose() {
  beast::error_code ec;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_both, ec);
  stream_.close();
}

void HttpSession::DoDrain() {
  stream_.expires_at(drain_deadline_);
  // What is drained is dropped: read into the session's buffer, never committed.
  stream_.async_read_some(buffer_.prepare(kWatchReadBytes),
                          beast::bind_front_handler(&HttpSession::OnDrain, shared_from_this()));
}

void HttpSession::OnDrain(beast::error_code ec, std::size_t bytes) {
  drained_ += bytes;
  if (ec || drained_ > kMaxDrainBytes) return DoClose();
  DoDrain();
}

void SessionWriter::AddHeaders(HeaderList headers) { session_->AddHeaders(id_, std::move(headers)); }

void SessionWriter::Send(HttpResponse response) {
  net::post(session_->executor(), [s = session_, id = id_, r = std::move(response)]() mutable {
    s->DoSend(id, std::move(r));
  });
}

void SessionWriter::StartStream(int status, HeaderList headers, std::string first_chunk,
                                std::function<void(bool)> done) {
  net::post(session_->executor(), [s = session_, id = id_, status, h = std::move(headers),
                                   f = std::move(first_chunk), d = std::move(done)]() mutable {
    s->DoStartStream(id, status, std::move(h), std::move(f), std::move(d));
  });
}

void SessionWriter::WriteChunk(std::string data, std::function<void(bool)> done) {
  net::post(session_->executor(),
            [s = session_, id = id_, data = std::move(data), d = std::move(done)]() mutable {
              s->DoWriteChunk(id, std::move(data), std::move(d));
            });
}

void SessionWriter::FinishStream(std::string tail) {
  net::post(session_->executor(), [s = session_, id = id_, t = std::move(tail)]() mutable {
    s->DoFinishStream(id, std::move(t));
  });
}

void SessionWriter::AbortStream() {
  net::post(session_->executor(), [s = session_, id = id_] { s->DoAbortStream(id); });
}

void SessionWriter::OnClientGone(std::function<void()> cancel) {
  net::post(session_->executor(), [s = session_, id = id_, c = std::move(cancel)]() mutable {
    s->SetClientGone(id, std::move(c));
  });
}

}  // namespace byok::gateway
