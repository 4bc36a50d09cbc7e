#include "services/relay/upstream/tls_socket.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <boost/asio/error.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>

#include <cerrno>

#include "absl/status/status.h"

namespace byok::relay::upstream {
namespace {

namespace net = boost::asio;
using boost::beast::error_code;

// The BIO reads the socket object, not a copy of its descriptor: once the socket is closed (a
// cancellation, a deadline) the BIO finds -1, never a descriptor number reused by another connection.
int SocketOf(BIO* bio) {
  return static_cast<net::ip::tcp::socket*>(BIO_get_data(bio))->native_handle();
}

// OpenSSL's own socket BIO writes with write(2), which raises SIGPIPE on a connection the provider
// closed; this one sends with MSG_NOSIGNAL, whatever the process does with the signal.
int SocketWrite(BIO* bio, const char* data, size_t size, size_t* wrote) {
  BIO_clear_retry_flags(bio);
  ssize_t n;
  do {
    n = ::send(SocketOf(bio), data, size, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n >= 0) {
    *wrote = static_cast<size_t>(n);
    return 1;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_write(bio);
  return 0;
}

int SocketRead(BIO* bio, char* data, size_t size, size_t* got) {
  BIO_clear_retry_flags(bio);
  ssize_t n;
  do {
    n = ::recv(SocketOf(bio), data, size, 0);
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    *got = static_cast<size_t>(n);
    return 1;
  }
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) BIO_set_retry_read(bio);
  return 0;  // 0 bytes: the provider closed its side
}

long SocketControl(BIO*, int command, long, void*) {  // NOLINT(runtime/int): OpenSSL's signature
  return command == BIO_CTRL_FLUSH ? 1 : 0;
}

BIO_METHOD* SocketMethod() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "byok socket");
    if (m != nullptr) {
      BIO_meth_set_write_ex(m, SocketWrite);
      BIO_meth_set_read_ex(m, SocketRead);
      BIO_meth_set_ctrl(m, SocketControl);
    }
    return m;
  }();
  return method;
}

// Sets the TLS server name (SNI). OpenSSL's macro casts the old way; keep that out of our warnings.
bool SetServerName(SSL* ssl, const std::string& host) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
  return SSL_set_tlsext_host_name(ssl, host.c_str()) == 1;
#pragma GCC diagnostic pop
}

bool IsIpLiteral(const std::string& host) {
  error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TlsSocket>> TlsSocket::Make(boost::beast::tcp_stream& tcp, SSL_CTX* ctx,
                                                           const std::string& host) {
  error_code ec;
  tcp.socket().non_blocking(true, ec);
  if (ec) return absl::InternalError("cannot make the provider's socket non-blocking");
  SSL* ssl = SSL_new(ctx);
  if (ssl == nullptr) return absl::InternalError("cannot start a TLS session");
  std::unique_ptr<TlsSocket> socket(new TlsSocket(tcp, ssl));
  BIO_METHOD* method = SocketMethod();
  BIO* bio = method == nullptr ? nullptr : BIO_new(method);
  if (bio == nullptr) return absl::InternalError("cannot start a TLS session");
  BIO_set_data(bio, &tcp.socket());
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl, bio, bio);  // the session owns it now
  // Write a piece at a time (Beast's writes are partial anyway), from a buffer that may move between
  // retries (an operation's own copy moves with it).
  SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // One read takes every record the socket holds (up to TLS's buffer), not a header and then a body.
  SSL_set_read_ahead(ssl, 1);
  SSL_set_connect_state(ssl);
  SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
  if (IsIpLiteral(host)) {
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) != 1) {
      return absl::InternalError("cannot set the provider's address for certificate checks");
    }
  } else if (SSL_set1_host(ssl, host.c_str()) != 1 || !SetServerName(ssl, host)) {
    return absl::InternalError("cannot set the TLS server name");
  }
  // As browsers match names: a wildcard stands for a whole label ("*.example.com"), never part of one.
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return socket;
}

TlsSocket::TlsSocket(boost::beast::tcp_stream& tcp, SSL* ssl)
    : tcp_(tcp), ssl_(ssl), deadline_(std::make_shared<Deadline>(tcp.get_executor())) {
  deadline_->socket = &tcp_.socket();
}

TlsSocket::~TlsSocket() {
  deadline_->socket = nullptr;
  deadline_->timer.cancel();
}

void TlsSocket::expires_after(std::chrono::steady_clock::duration after) {
  expiry_ = std::chrono::steady_clock::now() + after;
}

void TlsSocket::expires_never() { expiry_.reset(); }

error_code TlsSocket::EndWait(error_code ec) {
  Deadline& d = *deadline_;
  d.waiting = false;
  if (expiry_) d.timer.cancel();
  if (ec && d.timed_out) return boost::beast::error::timeout;
  return ec;
}

int TlsSocket::Handshake() {
  ERR_clear_error();
  errno = 0;
  return SSL_do_handshake(ssl_.get());
}

int TlsSocket::Read(net::mutable_buffer buffer, size_t& got) {
  ERR_clear_error();
  errno = 0;
  return SSL_read_ex(ssl_.get(), buffer.data(), buffer.size(), &got);
}

int TlsSocket::Write(net::const_buffer buffer, size_t& wrote) {
  ERR_clear_error();
  errno = 0;
  return SSL_write_ex(ssl_.get(), buffer.data(), buffer.size(), &wrote);
}

TlsSocket::Want TlsSocket::Interpret(int result, error_code& ec) {
  if (result == 1) {
    ec = {};
    return Want::kDone;
  }
  switch (SSL_get_error(ssl_.get(), result)) {
    case SSL_ERROR_WANT_READ:
      return Want::kRead;
    case SSL_ERROR_WANT_WRITE:
      return Want::kWrite;
    case SSL_ERROR_ZERO_RETURN:  // the provider ended the session (close_notify)
      ec = net::error::eof;
      return Want::kDone;
    case SSL_ERROR_SYSCALL: {
      const unsigned long queued = ERR_get_error();  // NOLINT(runtime/int): OpenSSL's type
      if (queued != 0) {
        ec = error_code(static_cast<int>(queued), net::error::get_ssl_category());
      } else if (errno != 0) {
        ec = error_code(errno, boost::system::system_category());
      } else {
        ec = net::ssl::error::stream_truncated;  // closed without ending the session
      }
      return Want::kDone;
    }
    default: {
      // Always an error: a failure OpenSSL queued no reason for must not read as success (a
      // handshake that "completed" would send the request, key and all, on an unverified session).
      const unsigned long queued = ERR_get_error();  // NOLINT(runtime/int): OpenSSL's type
      if (queued == 0) {
        ec = net::ssl::error::unexpected_result;
      } else if (ERR_GET_REASON(queued) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        ec = net::ssl::error::stream_truncated;
      } else {
        ec = error_code(static_cast<int>(queued), net::error::get_ssl_category());
      }
      return Want::kDone;
    }
  }
}

size_t TlsSocket::read_some(net::mutable_buffer buffer, error_code& ec) {
  ec = {};
  if (buffer.size() == 0) return 0;
  size_t got = 0;
  if (Interpret(Read(buffer, got), ec) != Want::kDone) {
    ec = net::error::would_block;
    return 0;
  }
  return ec ? 0 : got;
}

}  // namespace byok::relay::upstream
