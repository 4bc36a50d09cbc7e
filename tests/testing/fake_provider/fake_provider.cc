#include "tests/testing/fake_provider/fake_provider.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <chrono>
#include <deque>
#include <exception>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "tests/testing/fake_provider/fake_responses.h"

namespace byok::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace {

constexpr uint64_t kRequestBodyLimit = 64 * 1024 * 1024;

// A stream the fake keeps open on purpose (hold, stall, slow): its timer is cancelled to wake the
// writer when the client leaves or the test releases it.
struct WatchedStream {
  explicit WatchedStream(net::any_io_executor ex) : timer(ex) {}
  net::steady_timer timer;
  bool client_closed = false;
  bool finished = false;
};

template <class Stream>
void CloseStream(Stream& stream) {
  beast::error_code ec;
  auto& socket = beast::get_lowest_layer(stream).socket();
  socket.shutdown(tcp::socket::shutdown_both, ec);
  socket.close(ec);
}

}  // namespace

std::optional<std::string> RecordedRequest::Header(absl::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (absl::EqualsIgnoreCase(n, name)) return v;
  }
  return std::nullopt;
}

int RecordedRequest::HeaderCount(absl::string_view name) const {
  int count = 0;
  for (const auto& [n, v] : headers) count += absl::EqualsIgnoreCase(n, name) ? 1 : 0;
  return count;
}

class FakeProvider::Impl {
 public:
  Impl() : acceptor_(ioc_) {}

  absl::Status Listen(const FakeProviderOptions& options);
  void Stop();

  uint16_t port() const { return port_; }
  const std::string& base_url() const { return base_url_; }

  void SetAcceptedKeys(std::vector<std::string> keys) {
    absl::MutexLock lock(&mu_);
    accepted_keys_ = std::move(keys);
  }
  std::optional<RecordedRequest> WaitForRequest(absl::Duration timeout);
  std::vector<RecordedRequest> Requests() const {
    absl::MutexLock lock(&mu_);
    return requests_;
  }
  std::optional<absl::Time> WaitForClientClosed(absl::Duration timeout);
  bool WaitForStreamsStarted(int n, absl::Duration timeout);
  void Release();
  int connections_accepted() const {
    absl::MutexLock lock(&mu_);
    return connections_;
  }

 private:
  net::awaitable<void> Accept();
  template <class Stream>
  net::awaitable<void> Serve(std::shared_ptr<Stream> stream);
  net::awaitable<void> ServeTls(std::shared_ptr<beast::ssl_stream<beast::tcp_stream>> stream);
  template <class Stream>
  net::awaitable<bool> Respond(std::shared_ptr<Stream> stream, const fake::ResponsePlan& plan,
                               bool keep_alive);
  template <class Stream>
  std::shared_ptr<WatchedStream> Watch(std::shared_ptr<Stream> stream);
  // Waits until `deadline`, the client leaving, or (when `until_released`) Release(). Returns false
  // when the client left.
  net::awaitable<bool> Wait(std::shared_ptr<WatchedStream> state,
                            std::chrono::steady_clock::time_point deadline, bool until_released);

  bool Accepts(const std::string& key) {
    absl::MutexLock lock(&mu_);
    if (key.empty()) return false;
    if (accepted_keys_.empty()) return true;
    for (const auto& k : accepted_keys_) {
      if (k == key) return true;
    }
    return false;
  }

  // Declared first: destroyed last, after every I/O object that uses it.
  net::io_context ioc_{1};
  tcp::acceptor acceptor_;
  std::optional<ssl::context> tls_;
  std::thread thread_;
  uint16_t port_ = 0;
  std::string base_url_;

  // I/O thread only.
  bool released_ = false;
  std::vector<std::weak_ptr<WatchedStream>> watched_;

  mutable absl::Mutex mu_;
  std::vector<std::string> accepted_keys_ ABSL_GUARDED_BY(mu_);
  std::vector<RecordedRequest> requests_ ABSL_GUARDED_BY(mu_);
  size_t next_request_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<absl::Time> closes_ ABSL_GUARDED_BY(mu_);
  int streams_started_ ABSL_GUARDED_BY(mu_) = 0;
  int connections_ ABSL_GUARDED_BY(mu_) = 0;
};

absl::Status FakeProvider::Impl::Listen(const FakeProviderOptions& options) {
  accepted_keys_ = options.accepted_keys;
  beast::error_code ec;
  if (!options.tls_cert_pem.empty() || !options.tls_key_pem.empty()) {
    tls_.emplace(ssl::context::tls_server);
    tls_->use_certificate_chain(net::buffer(options.tls_cert_pem), ec);
    if (!ec) tls_->use_private_key(net::buffer(options.tls_key_pem), ssl::context::pem, ec);
    if (ec) return absl::InvalidArgumentError("fake provider: bad TLS certificate or key");
  }
  auto address = net::ip::make_address(options.address, ec);
  if (ec) return absl::InvalidArgumentError("fake provider: bad listen address");
  tcp::endpoint endpoint(address, options.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("fake provider: cannot listen: ", ec.message()));
  port_ = acceptor_.local_endpoint().port();
  std::string host = address.is_v6() ? absl::StrCat("[", options.address, "]") : options.address;
  base_url_ = absl::StrCat(tls_ ? "https://" : "http://", host, ":", port_);

  net::co_spawn(ioc_, Accept(), [](std::exception_ptr) {});
  thread_ = std::thread([this] { ioc_.run(); });
  return absl::OkStatus();
}

void FakeProvider::Impl::Stop() {
  net::post(ioc_, [this] {
    beast::error_code ec;
    acceptor_.close(ec);
  });
  ioc_.stop();
  if (thread_.joinable()) thread_.join();
}

net::awaitable<void> FakeProvider::Impl::Accept() {
  for (;;) {
    beast::error_code ec;
    tcp::socket socket =
        co_await acceptor_.async_accept(net::redirect_error(net::use_awaitable, ec));
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) co_return;
    if (ec) continue;
    socket.set_option(tcp::no_delay(true), ec);
    {
      absl::MutexLock lock(&mu_);
      ++connections_;
    }
    if (tls_) {
      auto stream = std::make_shared<beast::ssl_stream<beast::tcp_stream>>(std::move(socket), *tls_);
      net::co_spawn(ioc_, ServeTls(std::move(stream)), [](std::exception_ptr) {});
    } else {
      auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
      net::co_spawn(ioc_, Serve(std::move(stream)), [](std::exception_ptr) {});
    }
  }
}

net::awaitable<void> FakeProvider::Impl::ServeTls(
    std::shared_ptr<beast::ssl_stream<beast::tcp_stream>> stream) {
  beast::error_code ec;
  co_await stream->async_handshake(ssl::stream_base::server,
                                   net::redirect_error(net::use_awaitable, ec));
  if (ec) {
    CloseStream(*stream);
    co_return;
  }
  co_await Serve(std::move(stream));
}

template <class Stream>
net::awaitable<void> FakeProvider::Impl::Serve(std::shared_ptr<Stream> stream) {
  beast::flat_buffer buffer;
  for (;;) {
    beast::error_code ec;
    http::request_parser<http::string_body> parser;
    parser.body_limit(kRequestBodyLimit);
    co_await http::async_read(*stream, buffer, parser, net::redirect_error(net::use_awaitable, ec));
    if (ec) break;
    const auto& req = parser.get();
    RecordedRequest record;
    record.method = std::string(req.method_string());
    record.target = std::string(req.target());
    for (const auto& field : req) {
      record.headers.emplace_back(absl::AsciiStrToLower(std::string(field.name_string())),
                                  std::string(field.value()));
    }
    record.body = req.body();
    std::string key = fake::ExtractKey([&](const char* name) {
      auto v = record.Header(name);
      return v ? *v : std::string();
    });
    fake::ResponsePlan plan = Accepts(key)
                                  ? fake::PlanResponse(record.method, record.target, record.body)
                                  : fake::PlanUnauthorized();
    {
      absl::MutexLock lock(&mu_);
      requests_.push_back(std::move(record));
    }
    bool keep_alive = co_await Respond(stream, plan, req.keep_alive());
    if (!keep_alive) break;
  }
  CloseStream(*stream);
}

template <class Stream>
net::awaitable<bool> FakeProvider::Impl::Respond(std::shared_ptr<Stream> stream,
                                                 const fake::ResponsePlan& plan,
                                                 bool keep_alive) {
  using Kind = fake::Scenario::Kind;
  beast::error_code ec;
  auto token = net::redirect_error(net::use_awaitable, ec);
  const Kind kind = plan.scenario.kind;
  if (!plan.streaming) {
    http::response<http::string_body> res{static_cast<http::status>(plan.status), 11};
    for (const auto& [name, value] : plan.headers) res.set(name, value);
    res.keep_alive(keep_alive);
    res.body() = plan.body;
    res.prepare_payload();
    co_await http::async_write(*stream, res, token);
    co_return !ec && keep_alive;
  }
  const auto forever = std::chrono::steady_clock::time_point::max();
  if (kind == Kind::kStallHeaders) {
    co_await Wait(Watch(stream), forever, false);
    co_return false;
  }
  const bool watched = kind != Kind::kNormal;
  http::response<http::empty_body> res{static_cast<http::status>(plan.status), 11};
  for (const auto& [name, value] : plan.headers) res.set(name, value);
  res.keep_alive(keep_alive && !watched);
  res.chunked(true);
  http::response_serializer<http::empty_body> serializer{res};
  co_await http::async_write_header(*stream, serializer, token);
  if (ec) co_return false;

  if (kind == Kind::kBurst) {
    // Every event and the body's end in one write: the relay reads the last piece with the end.
    std::string burst;
    for (const std::string& piece : plan.pieces) {
      absl::StrAppend(&burst, absl::Hex(piece.size()), "\r\n", piece, "\r\n");
    }
    burst.append("0\r\n\r\n");
    co_await net::async_write(*stream, net::buffer(burst), token);
    {
      absl::MutexLock lock(&mu_);
      ++streams_started_;
    }
    co_return false;  // not kept alive (a scenario)
  }
  std::shared_ptr<WatchedStream> state;
  for (size_t i = 0; i < plan.pieces.size(); ++i) {
    if (i > 0 && watched) {
      bool client_here = true;
      if (kind == Kind::kBreak && i == 2) {
        state->finished = true;
        CloseStream(*stream);
        co_return false;
      }
      if (kind == Kind::kStallBody && i == 1) client_here = co_await Wait(state, forever, false);
      if (kind == Kind::kHold && i == 1) client_here = co_await Wait(state, forever, true);
      if (kind == Kind::kSlow) {
        auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(plan.scenario.interval_ms);
        client_here = co_await Wait(state, deadline, false);
      }
      if (!client_here) co_return false;
    }
    co_await net::async_write(*stream, http::make_chunk(net::buffer(plan.pieces[i])), token);
    if (ec) co_return false;
    if (i == 0) {
      if (watched) state = Watch(stream);
      absl::MutexLock lock(&mu_);
      ++streams_started_;
    }
  }
  co_await net::async_write(*stream, http::make_chunk_last(), token);
  if (state) state->finished = true;
  co_return !ec && keep_alive && !watched;
}

template <class Stream>
std::shared_ptr<WatchedStream> FakeProvider::Impl::Watch(std::shared_ptr<Stream> stream) {
  auto state = std::make_shared<WatchedStream>(ioc_.get_executor());
  auto byte = std::make_shared<char>();
  stream->async_read_some(
      net::buffer(byte.get(), 1), [this, state, stream, byte](beast::error_code ec, size_t) {
        // Bytes from the client mid-stream are not expected; only its leaving matters.
        if (!ec || state->finished) return;
        state->client_closed = true;
        {
          absl::MutexLock lock(&mu_);
          closes_.push_back(absl::Now());
        }
        state->timer.cancel();
      });
  watched_.push_back(state);
  return state;
}

net::awaitable<bool> FakeProvider::Impl::Wait(std::shared_ptr<WatchedStream> state,
                                              std::chrono::steady_clock::time_point deadline,
                                              bool until_released) {
  while (!state->client_closed && !(until_released && released_)) {
    if (std::chrono::steady_clock::now() >= deadline) break;
    state->timer.expires_at(deadline);
    beast::error_code ec;
    co_await state->timer.async_wait(net::redirect_error(net::use_awaitable, ec));
  }
  co_return !state->client_closed;
}

void FakeProvider::Impl::Release() {
  net::post(ioc_, [this] {
    released_ = true;
    for (auto& weak : watched_) {
      if (auto state = weak.lock()) state->timer.cancel();
    }
  });
}

std::optional<RecordedRequest> FakeProvider::Impl::WaitForRequest(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto arrived = [this]() {
    return next_request_ < requests_.size();
  };
  if (!mu_.AwaitWithTimeout(absl::Condition(&arrived), timeout)) return std::nullopt;
  return requests_[next_request_++];
}

std::optional<absl::Time> FakeProvider::Impl::WaitForClientClosed(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto closed = [this]() { return !closes_.empty(); };
  if (!mu_.AwaitWithTimeout(absl::Condition(&closed), timeout)) return std::nullopt;
  absl::Time when = closes_.front();
  closes_.pop_front();
  return when;
}

bool FakeProvider::Impl::WaitForStreamsStarted(int n, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto started = [this, n]() { return streams_started_ >= n; };
  return mu_.AwaitWithTimeout(absl::Condition(&started), timeout);
}

absl::StatusOr<std::unique_ptr<FakeProvider>> FakeProvider::Start(FakeProviderOptions options) {
  auto impl = std::make_unique<Impl>();
  if (absl::Status s = impl->Listen(options); !s.ok()) return s;
  return std::unique_ptr<FakeProvider>(new FakeProvider(std::move(impl)));
}

FakeProvider::FakeProvider(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FakeProvider::~FakeProvider() { impl_->Stop(); }

uint16_t FakeProvider::port() const { return impl_->port(); }
std::string FakeProvider::base_url() const { return impl_->base_url(); }
void FakeProvider::SetAcceptedKeys(std::vector<std::string> keys) {
  impl_->SetAcceptedKeys(std::move(keys));
}
std::optional<RecordedRequest> FakeProvider::WaitForRequest(absl::Duration timeout) {
  return impl_->WaitForRequest(timeout);
}
std::vector<RecordedRequest> FakeProvider::Requests() const { return impl_->Requests(); }
std::optional<absl::Time> FakeProvider::WaitForClientClosed(absl::Duration timeout) {
  return impl_->WaitForClientClosed(timeout);
}
bool FakeProvider::WaitForStreamsStarted(int n, absl::Duration timeout) {
  return impl_->WaitForStreamsStarted(n, timeout);
}
void FakeProvider::Release() { impl_->Release(); }
int FakeProvider::connections_accepted() const { return impl_->connections_accepted(); }

}  // namespace byok::testing
