// Internal to the upstream client: client TLS run by OpenSSL straight on a connected, non-blocking
// socket. Asio's ssl::stream passes every byte through two 17 KiB transfer buffers and a 17 KiB BIO
// pair that each connection holds for its whole life, about 68 KiB per provider connection (so per
// held stream and per idle pooled connection). Here OpenSSL reads and writes the socket itself and the
// socket is waited on only when OpenSSL asks to; between reads a connection holds OpenSSL's session
// state alone (SSL_MODE_RELEASE_BUFFERS gives its record buffers back once they are empty).
//
// A Beast AsyncReadStream and AsyncWriteStream, used on its worker's one I/O thread only. Like Asio's
// streams, it must outlive the operations started on it.
#ifndef BYOK_SERVICES_RELAY_UPSTREAM_TLS_SOCKET_H_
#define BYOK_SERVICES_RELAY_UPSTREAM_TLS_SOCKET_H_

#include <openssl/ssl.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/buffers_prefix.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/statusor.h"

namespace byok::relay::upstream {

class TlsSocket {
 public:
  using executor_type = boost::beast::tcp_stream::executor_type;

  // Takes over `tcp`'s connected socket (which must outlive this object) for a TLS client session
  // that verifies the provider's certificate against `ctx`'s trust store and `host`: a name is sent
  // as the server name (SNI) and matched against the certificate's DNS names, an IP literal against
  // its IP addresses.
  static absl::StatusOr<std::unique_ptr<TlsSocket>> Make(boost::beast::tcp_stream& tcp, SSL_CTX* ctx,
                                                         const std::string& host);
  ~TlsSocket();
  TlsSocket(const TlsSocket&) = delete;
  TlsSocket& operator=(const TlsSocket&) = delete;

  executor_type get_executor() noexcept { return tcp_.get_executor(); }
  SSL* native_handle() { return ssl_.get(); }

  // A deadline for what the operations started from now on wait for, as beast::tcp_stream's: when it
  // passes, the socket is closed and the operation waiting completes with beast::error::timeout.
  void expires_after(std::chrono::steady_clock::duration after);
  void expires_never();

  // Handler: void(error_code).
  template <class Handler>
  auto async_handshake(Handler&& handler);
  // Handler: void(error_code, size_t). Reads into the first non-empty buffer.
  template <class MutableBuffers, class Handler>
  auto async_read_some(const MutableBuffers& buffers, Handler&& handler);
  // Handler: void(error_code, size_t). Small pieces are joined first (one TLS record, one write).
  template <class ConstBuffers, class Handler>
  auto async_write_some(const ConstBuffers& buffers, Handler&& handler);

  // Reads what is there without waiting: bytes TLS decrypted already, or a record the socket holds.
  // net::error::would_block when nothing is.
  size_t read_some(boost::asio::mutable_buffer buffer, boost::beast::error_code& ec);
  // Whether TLS holds bytes read from the socket (decrypted or not): a wait on the socket would not
  // see them.
  bool has_pending() const { return SSL_has_pending(ssl_.get()) == 1; }
  // Gives back TLS's record buffers when they hold nothing (before a long wait: records that carry
  // no data, such as session tickets, leave them allocated otherwise).
  void ReleaseBuffers() { static_cast<void>(SSL_free_buffers(ssl_.get())); }

 private:
  // What an OpenSSL call's result asks for next.
  enum class Want { kDone, kRead, kWrite };
  // The socket and what guards a wait; shared with the deadline timer's handler, which may run after
  // this object is gone.
  struct Deadline;
  template <class Attempt, bool kSized>
  struct Op;
  // Write pieces joined up to this size; larger ones go as they are.
  static constexpr size_t kJoinBytes = 16 * 1024;

  struct SslFree {
    void operator()(SSL* ssl) const { SSL_free(ssl); }
  };

  TlsSocket(boost::beast::tcp_stream& tcp, SSL* ssl);

  // Interprets `result` of an SSL_* call on this session (after `errno` was cleared): kDone with `ec`
  // set for a failure, else what must be waited for.
  Want Interpret(int result, boost::beast::error_code& ec);
  // Waits for the socket to be ready for `want` under the deadline; resumes `self` with the error.
  template <class Self>
  void Wait(Want want, Self&& self);
  // Called first when a wait ends: stops the deadline, and turns its closing the socket into timeout.
  boost::beast::error_code EndWait(boost::beast::error_code ec);
  int Handshake();
  int Read(boost::asio::mutable_buffer buffer, size_t& got);
  int Write(boost::asio::const_buffer buffer, size_t& wrote);

  boost::beast::tcp_stream& tcp_;
  std::unique_ptr<SSL, SslFree> ssl_;
  std::shared_ptr<Deadline> deadline_;
  std::optional<std::chrono::steady_clock::time_point> expiry_;
};

struct TlsSocket::Deadline {
  explicit Deadline(const executor_type& executor) : timer(executor) {}
  boost::asio::steady_timer timer;
  boost::asio::ip::tcp::socket* socket = nullptr;  // null once the TlsSocket is gone
  uint64_t waits = 0;                              // waits begun, to tell a stale expiry
  bool waiting = false;
  bool timed_out = false;
};

// One operation: retries its OpenSSL call (`attempt`, which sets the bytes moved) until it completes,
// waiting on the socket in between. A call that completes at once completes through the executor, as
// Asio's own sockets do, never inside the initiating call: Beast loops over writes and reads, and
// inline completions would nest one call per TLS record on the stack.
template <class Attempt, bool kSized>
struct TlsSocket::Op {
  Op(TlsSocket* s, Attempt a) : socket(s), attempt(std::move(a)) {}

  TlsSocket* socket;
  Attempt attempt;  // int(size_t& moved): one SSL_* call
  enum class Step { kStart, kWaited, kPosted } step = Step::kStart;
  boost::beast::error_code result;
  size_t moved = 0;

  template <class Self>
  void operator()(Self& self, boost::beast::error_code ec = {}) {
    if (step == Step::kPosted) return Complete(self);
    if (step == Step::kWaited && (result = socket->EndWait(ec))) return Complete(self);
    const Want want = socket->Interpret(attempt(moved), result);
    if (want != Want::kDone) {
      step = Step::kWaited;
      return socket->Wait(want, std::move(self));
    }
    if (step == Step::kStart) {
      step = Step::kPosted;
      return boost::asio::post(socket->get_executor(), std::move(self));
    }
    Complete(self);
  }

  template <class Self>
  void Complete(Self& self) {
    if constexpr (kSized) {
      self.complete(result, result ? 0 : moved);
    } else {
      self.complete(result);
    }
  }
};

// The first non-empty buffer of a sequence (empty if none is).
template <class Buffer, class Buffers>
Buffer FirstNonEmpty(const Buffers& buffers) {
  Buffer first;
  for (auto it = boost::asio::buffer_sequence_begin(buffers);
       it != boost::asio::buffer_sequence_end(buffers); ++it) {
    first = *it;
    if (first.size() > 0) break;
  }
  return first;
}

template <class Self>
void TlsSocket::Wait(Want want, Self&& self) {
  Deadline& d = *deadline_;
  ++d.waits;
  d.waiting = true;
  if (expiry_) {
    d.timer.expires_at(*expiry_);
    d.timer.async_wait([deadline = deadline_, wait = d.waits](boost::beast::error_code ec) {
      if (ec || !deadline->waiting || deadline->waits != wait || deadline->socket == nullptr) return;
      deadline->timed_out = true;
      deadline->socket->close(ec);
    });
  }
  tcp_.socket().async_wait(want == Want::kRead ? boost::asio::socket_base::wait_read
                                               : boost::asio::socket_base::wait_write,
                           std::forward<Self>(self));
}

template <class Handler>
auto TlsSocket::async_handshake(Handler&& handler) {
  auto attempt = [this](size_t&) { return Handshake(); };
  return boost::asio::async_compose<Handler, void(boost::beast::error_code)>(
      Op<decltype(attempt), false>(this, std::move(attempt)), handler, tcp_.socket());
}

template <class MutableBuffers, class Handler>
auto TlsSocket::async_read_some(const MutableBuffers& buffers, Handler&& handler) {
  auto attempt = [this, buffer = FirstNonEmpty<boost::asio::mutable_buffer>(buffers)](size_t& got) {
    return buffer.size() == 0 ? 1 : Read(buffer, got);
  };
  return boost::asio::async_compose<Handler, void(boost::beast::error_code, size_t)>(
      Op<decltype(attempt), true>(this, std::move(attempt)), handler, tcp_.socket());
}

template <class ConstBuffers, class Handler>
auto TlsSocket::async_write_some(const ConstBuffers& buffers, Handler&& handler) {
  const auto first = FirstNonEmpty<boost::asio::const_buffer>(buffers);
  // A small first piece followed by others (a request's head, then its body): joined, they leave as
  // one TLS record in one write rather than one each. The copy moves with the operation, so the
  // buffer is taken from it at each call, never kept as a pointer into it.
  std::string joined;
  if (first.size() < boost::asio::buffer_size(buffers) && first.size() < kJoinBytes) {
    const auto prefix = boost::beast::buffers_prefix(kJoinBytes, buffers);
    joined.resize(boost::asio::buffer_size(prefix));
    boost::asio::buffer_copy(boost::asio::buffer(joined), prefix);
  }
  auto attempt = [this, first, joined = std::move(joined)](size_t& wrote) {
    const boost::asio::const_buffer buffer = joined.empty() ? first : boost::asio::buffer(joined);
    return buffer.size() == 0 ? 1 : Write(buffer, wrote);
  };
  return boost::asio::async_compose<Handler, void(boost::beast::error_code, size_t)>(
      Op<decltype(attempt), true>(this, std::move(attempt)), handler, tcp_.socket());
}

}  // namespace byok::relay::upstream

#endif  // BYOK_SERVICES_RELAY_UPSTREAM_TLS_SOCKET_H_
