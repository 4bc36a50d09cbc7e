#include "services/relay/upstream/upstream_client.h"

#include <openssl/ssl.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ssl/context.hpp>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/thread_name.h"
#include "services/relay/upstream/upstream_exchange.h"

namespace byok::relay {

namespace net = boost::asio;
namespace ssl = net::ssl;

class UpstreamClient::Impl {
 public:
  explicit Impl(UpstreamOptions options)
      : options_(std::move(options)), tls_(ssl::context::tls_client) {}

  ~Impl() {
    for (auto& guard : guards_) guard.reset();
    for (auto& worker : workers_) worker->ioc.stop();
    for (auto& thread : threads_) thread.join();
    // Pools and pending operations go with their workers' event loops.
    for (auto& worker : workers_) worker->pool.Clear();
  }

  absl::Status Init() {
    boost::system::error_code ec;
    SSL_CTX_set_min_proto_version(tls_.native_handle(), TLS1_2_VERSION);
    // OpenSSL's record buffers are freed while a connection is idle (a stream waiting for its next
    // event, a pooled connection) instead of held for the connection's life.
    SSL_CTX_set_mode(tls_.native_handle(), SSL_MODE_RELEASE_BUFFERS);
    if (options_.use_system_roots) {
      tls_.set_default_verify_paths(ec);
      if (ec) return absl::InternalError("cannot load the system CA store");
    }
    if (!options_.ca_file.empty()) {
      tls_.load_verify_file(options_.ca_file, ec);
      if (ec) {
        return absl::InvalidArgumentError(
            absl::StrCat("BYOK_UPSTREAM_CA_FILE: cannot load CA certificates from ",
                         options_.ca_file));
      }
    }
    tls_.set_verify_mode(ssl::verify_peer);
    const int threads = std::max(1, options_.threads);
    for (int i = 0; i < threads; ++i) {
      workers_.push_back(std::make_unique<upstream::Worker>(options_, tls_, opened_));
      guards_.emplace_back(net::make_work_guard(workers_.back()->ioc));
    }
    for (auto& worker : workers_) {
      threads_.push_back(StartNamedThread("relay-upstream", [w = worker.get()] { w->ioc.run(); }));
    }
    return absl::OkStatus();
  }

  std::shared_ptr<UpstreamCall> Start(UpstreamRequest request, UpstreamHandler* handler) {
    size_t index = next_.fetch_add(1, std::memory_order_relaxed) % workers_.size();
    auto exchange =
        std::make_shared<upstream::Exchange>(*workers_[index], std::move(request), handler);
    exchange->Start();
    return exchange;
  }

  int64_t connections_opened() const { return opened_.load(); }

 private:
  UpstreamOptions options_;
  ssl::context tls_;
  std::atomic<int64_t> opened_{0};
  std::atomic<size_t> next_{0};
  std::vector<std::unique_ptr<upstream::Worker>> workers_;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
};

absl::StatusOr<std::unique_ptr<UpstreamClient>> UpstreamClient::Create(UpstreamOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  if (absl::Status s = impl->Init(); !s.ok()) return s;
  return std::unique_ptr<UpstreamClient>(new UpstreamClient(std::move(impl)));
}

UpstreamClient::UpstreamClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
UpstreamClient::~UpstreamClient() = default;

std::shared_ptr<UpstreamCall> UpstreamClient::Start(UpstreamRequest request,
                                                    UpstreamHandler* handler) {
  return impl_->Start(std::move(request), handler);
}

int64_t UpstreamClient::connections_opened() const { return impl_->connections_opened(); }

}  // namespace byok::relay
