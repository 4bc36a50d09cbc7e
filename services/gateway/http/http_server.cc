#include "services/gateway/http/http_server.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <optional>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "common/thread_name.h"
#include "services/gateway/http/http_session.h"

namespace byok::gateway {

namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// When accept fails for want of resources (descriptors, memory), the listener waits before trying again,
// doubling the wait up to the maximum, instead of spinning on a connection it cannot take.
constexpr auto kFirstAcceptBackoff = std::chrono::milliseconds(50);
constexpr auto kMaxAcceptBackoff = std::chrono::seconds(1);
// An episode's first failure is logged at most this often: exhaustion that comes and goes with every
// freed descriptor must not flood the log either.
constexpr auto kAcceptLogInterval = std::chrono::seconds(10);

// True for accept errors that last until something is released: retrying at once cannot succeed.
bool IsResourceExhaustion(const beast::error_code& ec) {
  return ec == net::error::no_descriptors ||                                              // EMFILE
         ec == beast::error_code(ENFILE, beast::system_category()) ||                     // ENFILE
         ec == net::error::no_buffer_space || ec == net::error::no_memory;                // ENOBUFS, ENOMEM
}

// Accepts connections and starts a session, on its own strand, for each. The acceptor and the backoff
// state live on one strand.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& ioc, ServerState& state)
      : ioc_(ioc), strand_(net::make_strand(ioc)), acceptor_(strand_), backoff_timer_(strand_),
        state_(state) {}

  absl::Status Open(const tcp::endpoint& endpoint) {
    beast::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::UnavailableError(absl::StrCat("cannot listen on ", endpoint.address().to_string(),
                                                 ":", endpoint.port(), ": ", ec.message()));
    }
    return absl::OkStatus();
  }

  int port() const {
    beast::error_code ec;
    return acceptor_.local_endpoint(ec).port();
  }

  void Run() {
    net::dispatch(strand_, [self = shared_from_this()] { self->DoAccept(); });
  }

  void Stop() {
    net::post(strand_, [self = shared_from_this()] {
      beast::error_code ec;
      self->acceptor_.close(ec);
      self->backoff_timer_.cancel();
    });
  }

 private:
  using Clock = std::chrono::steady_clock;

  void DoAccept() {
    acceptor_.async_accept(net::make_strand(ioc_),
                           beast::bind_front_handler(&Listener::OnAccept, shared_from_this()));
  }

  void OnAccept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (IsResourceExhaustion(ec)) return BackOff(ec);
    if (backoff_ != Clock::duration::zero()) {
      // Resources came back: one line closes the episode its first line opened.
      if (episode_logged_) {
        log::Warn("gateway", "accepting connections again after %d failed accepts", failed_accepts_);
      }
      backoff_ = Clock::duration::zero();
      failed_accepts_ = 0;
    }
    if (ec) {
      // A connection that failed on its own (reset before it was accepted): the next one may succeed.
      log::Debug("gateway", "accept failed: %s", ec.message());
    } else {
      std::make_shared<HttpSession>(std::move(socket), state_)->Run();
    }
    DoAccept();
  }

  // Waits before the next accept; logs the first failure of an episode (at most once per interval),
  // never each retry.
  void BackOff(const beast::error_code& ec) {
    ++failed_accepts_;
    if (backoff_ == Clock::duration::zero()) {
      Clock::time_point now = Clock::now();
      episode_logged_ = !last_episode_log_ || now - *last_episode_log_ >= kAcceptLogInterval;
      if (episode_logged_) {
        last_episode_log_ = now;
        log::Warn("gateway", "accept failed: %s; retrying with backoff up to %d ms", ec.message(),
                  static_cast<int>(std::chrono::milliseconds(kMaxAcceptBackoff).count()));
      }
      backoff_ = kFirstAcceptBackoff;
    } else {
      backoff_ = std::min<Clock::duration>(backoff_ * 2, kMaxAcceptBackoff);
    }
    backoff_timer_.expires_after(backoff_);
    backoff_timer_.async_wait([self = shared_from_this()](beast::error_code wec) {
      if (wec || !self->acceptor_.is_open()) return;
      self->DoAccept();
    });
  }

  net::io_context& ioc_;
  net::strand<net::io_context::executor_type> strand_;
  tcp::acceptor acceptor_;
  net::steady_timer backoff_timer_;
  ServerState& state_;
  Clock::duration backoff_ = Clock::duration::zero();  // zero: not backing off
  int failed_accepts_ = 0;
  bool episode_logged_ = false;
  std::optional<Clock::time_point> last_episode_log_;
};

}  // namespace

struct HttpServer::Impl {
  Impl(const GatewayConfig& config, Api& api)
      : state(config, api), ioc(config.threads), work(ioc.get_executor()),
        listener(std::make_shared<Listener>(ioc, state)) {}

  // Declared before the io_context: sessions destroyed with the io_context still refer to it.
  ServerState state;
  net::io_context ioc;
  // The threads serve until Stop, even with nothing pending: once the acceptor is closed (shutdown), a
  // session may have no I/O pending while its request still waits for a backend call to end (a
  // cancelled relay call's OnDone comes on a gRPC thread, then posts the stream's end). Without this,
  // run() could return in between and that post would never run: WaitIdle waited out its grace.
  net::executor_work_guard<net::io_context::executor_type> work;
  std::shared_ptr<Listener> listener;
  std::vector<std::thread> threads;
  bool stopped = false;
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Stop(); }

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const GatewayConfig& config,
                                                              Api& api) {
  beast::error_code ec;
  auto address = net::ip::make_address(config.host, ec);
  if (ec) return absl::InvalidArgumentError("BYOK_GATEWAY_HOST must be an IP address");
  auto impl = std::make_unique<Impl>(config, api);
  absl::Status opened =
      impl->listener->Open(tcp::endpoint(address, static_cast<unsigned short>(config.port)));
  if (!opened.ok()) return opened;
  impl->listener->Run();
  for (int i = 0; i < config.threads; ++i) {
    impl->threads.push_back(StartNamedThread("gw-http", [ioc = &impl->ioc] { ioc->run(); }));
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

int HttpServer::port() const { return impl_->listener->port(); }

void HttpServer::StopAccepting() { impl_->listener->Stop(); }

bool HttpServer::WaitIdle(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  // Only at shutdown: a short poll keeps the request path free of any notification cost.
  while (impl_->state.active_requests.load() > 0) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

void HttpServer::Stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->work.reset();
  impl_->ioc.stop();
  for (std::thread& t : impl_->threads) t.join();
  impl_->threads.clear();
}

}  // namespace byok::gateway
