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
#include <memory>
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

// Accepts connections and starts a session for each, on the event loops in turn (on a loop that several
// threads run, each session gets a strand of its own). The acceptor and the backoff state live on a
// strand of the first loop.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(std::vector<net::io_context*> loops, bool shared_loop, ServerState& state)
      : loops_(std::move(loops)), shared_loop_(shared_loop), strand_(net::make_strand(*loops_.front())),
        acceptor_(strand_), backoff_timer_(strand_), state_(state) {}

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
    net::io_context& loop = *loops_[next_loop_];
    next_loop_ = (next_loop_ + 1) % loops_.size();
    auto on_accept = beast::bind_front_handler(&Listener::OnAccept, shared_from_this());
    if (shared_loop_) {
      acceptor_.async_accept(net::make_strand(loop), std::move(on_accept));
    } else {
      acceptor_.async_accept(loop.get_executor(), std::move(on_accept));
    }
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

  const std::vector<net::io_context*> loops_;
  const bool shared_loop_;
  size_t next_loop_ = 0;
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

// One event loop per thread (BYOK_GATEWAY_THREADS), each connection staying on one of them: a request's
// steps are never handed between the gateway's threads (a loop shared by two threads cost 5.8 context
// switches per small request in those threads at one connection, 2.5 with a loop each). With the rate
// limits in Redis a request blocks its thread for a Redis round trip; then the threads share one loop,
// so that the others take up the waiting thread's connections.
struct HttpServer::Impl {
  Impl(const GatewayConfig& config, Api& api)
      : state(config, api),
        threads_count(std::max(config.threads, 1)),
        shared_loop(config.redis.has_value()) {
    const int loop_count = shared_loop ? 1 : threads_count;
    for (int i = 0; i < loop_count; ++i) {
      loops.push_back(std::make_unique<net::io_context>(shared_loop ? threads_count : 1));
      work.emplace_back(loops.back()->get_executor());
    }
    std::vector<net::io_context*> raw;
    for (auto& loop : loops) raw.push_back(loop.get());
    listener = std::make_shared<Listener>(std::move(raw), shared_loop, state);
  }

  // Declared before the loops: sessions destroyed with a loop still refer to it.
  ServerState state;
  const int threads_count;
  const bool shared_loop;
  std::vector<std::unique_ptr<net::io_context>> loops;
  // The threads serve until Stop, even with nothing pending: once the acceptor is closed (shutdown), a
  // session may have no I/O pending while its request still waits for a backend call to end (a
  // cancelled relay call's OnDone comes on a gRPC thread, then posts the stream's end). Without this,
  // run() could return in between and that post would never run: WaitIdle waited out its grace.
  std::vector<net::executor_work_guard<net::io_context::executor_type>> work;
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
  for (int i = 0; i < impl->threads_count; ++i) {
    impl->threads.emplace_back([ioc = impl->loops[i % impl->loops.size()].get()] {
      NameThisThread("gw-http");
      ioc->run();
    });
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
  for (auto& guard : impl_->work) guard.reset();
  for (auto& loop : impl_->loops) loop->stop();
  for (std::thread& t : impl_->threads) t.join();
  impl_->threads.clear();
}

}  // namespace byok::gateway
