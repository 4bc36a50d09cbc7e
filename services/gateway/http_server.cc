#include "services/gateway/http_server.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>

#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "services/gateway/http_session.h"

namespace byok::gateway {

namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// Accepts connections and starts a session, on its own strand, for each.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& ioc, ServerState& state) : ioc_(ioc), acceptor_(ioc), state_(state) {}

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

  void Run() { DoAccept(); }

  void Stop() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->acceptor_.close(ec);
    });
  }

 private:
  void DoAccept() {
    acceptor_.async_accept(net::make_strand(ioc_),
                           beast::bind_front_handler(&Listener::OnAccept, shared_from_this()));
  }

  void OnAccept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      log::Warn("gateway", "accept failed: %s", ec.message());
    } else {
      std::make_shared<HttpSession>(std::move(socket), state_)->Run();
    }
    DoAccept();
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  ServerState& state_;
};

}  // namespace

struct HttpServer::Impl {
  Impl(const GatewayConfig& config, Api& api)
      : state(config, api), ioc(config.threads), listener(std::make_shared<Listener>(ioc, state)) {}

  // Declared before the io_context: sessions destroyed with the io_context still refer to it.
  ServerState state;
  net::io_context ioc;
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
    impl->threads.emplace_back([ioc = &impl->ioc] { ioc->run(); });
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
  impl_->ioc.stop();
  for (std::thread& t : impl_->threads) t.join();
  impl_->threads.clear();
}

}  // namespace byok::gateway
