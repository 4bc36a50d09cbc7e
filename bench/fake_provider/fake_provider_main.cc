// byok-bench-fake-provider: an OpenAI-style chat provider for the benchmark, on loopback.
//
//   POST /v1/chat/completions   small JSON, or SSE when "stream": true (options in the model name, see
//                               request_options.h)
//   GET  /_bench/stats          requests, streams, aborted streams, open connections
//   GET  /_bench/stream/<id>    what happened to a tracked stream (running/completed/aborted, when)
// With --tls-cert and --tls-key it speaks https instead (as every real provider does).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/strand.hpp>

#include "bench/common/rlimit.h"
#include "bench/fake_provider/provider_session.h"

namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

struct Flags {
  std::string address = "127.0.0.1";
  unsigned short port = 0;
  int threads = 1;
  std::string key;
  std::string port_file;
  std::string tls_cert;  // PEM chain and key: https when both are set
  std::string tls_key;
};

void PrintUsage() {
  std::printf(
      "usage: byok-bench-fake-provider [--address A] [--port P] [--threads N] [--key K] [--port-file F]\n"
      "                                [--tls-cert PEM --tls-key PEM]\n"
      "  --port 0 (default) picks a free port; it is printed and written to --port-file.\n"
      "  --key K answers 401 to requests without 'Authorization: Bearer K'.\n"
      "  --tls-cert, --tls-key: serve https with this certificate chain and key.\n");
}

bool ParseFlags(int argc, char** argv, Flags& flags) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : std::string(); };
    if (arg == "--address") flags.address = value();
    else if (arg == "--port") flags.port = static_cast<unsigned short>(std::atoi(value().c_str()));
    else if (arg == "--threads") flags.threads = std::max(1, std::atoi(value().c_str()));
    else if (arg == "--key") flags.key = value();
    else if (arg == "--port-file") flags.port_file = value();
    else if (arg == "--tls-cert") flags.tls_cert = value();
    else if (arg == "--tls-key") flags.tls_key = value();
    else return false;
  }
  return flags.tls_cert.empty() == flags.tls_key.empty();
}

// Accepts connections for as long as the io_context runs; each gets its own strand.
class Listener {
 public:
  Listener(net::io_context& ioc, const tcp::endpoint& endpoint, byok::bench::ProviderShared& shared,
           net::ssl::context* tls)
      : ioc_(ioc), acceptor_(ioc), shared_(shared), tls_(tls) {
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(net::socket_base::max_listen_connections);
  }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  void do_accept() {
    acceptor_.async_accept(net::make_strand(ioc_), [this](boost::system::error_code ec, tcp::socket s) {
      on_accept(ec, std::move(s));
    });
  }

 private:
  void on_accept(boost::system::error_code ec, tcp::socket socket) {
    if (!ec) {
      socket.set_option(tcp::no_delay(true), ec);
      byok::bench::StartProviderSession(std::move(socket), shared_, tls_);
    }
    if (acceptor_.is_open()) do_accept();
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  byok::bench::ProviderShared& shared_;
  net::ssl::context* tls_;
};

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (argc > 1 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h")) {
    PrintUsage();
    return 0;
  }
  if (!ParseFlags(argc, argv, flags)) {
    PrintUsage();
    return 2;
  }
  byok::bench::RaiseOpenFileLimit();
  try {
    net::io_context ioc(flags.threads);
    byok::bench::ProviderShared shared;
    shared.expected_key = flags.key;
    std::optional<net::ssl::context> tls;
    if (!flags.tls_cert.empty()) {
      tls.emplace(net::ssl::context::tls_server);
      tls->use_certificate_chain_file(flags.tls_cert);
      tls->use_private_key_file(flags.tls_key, net::ssl::context::pem);
    }
    Listener listener(ioc, tcp::endpoint(net::ip::make_address(flags.address), flags.port), shared,
                      tls ? &*tls : nullptr);
    listener.do_accept();
    net::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code, int) { ioc.stop(); });

    std::printf("fake-provider listening on %s:%u\n", flags.address.c_str(), listener.port());
    std::fflush(stdout);
    if (!flags.port_file.empty()) {
      // Written whole, then renamed, so a reader never sees a half-written file.
      std::string tmp = flags.port_file + ".tmp";
      std::ofstream(tmp) << listener.port() << "\n";
      std::rename(tmp.c_str(), flags.port_file.c_str());
    }
    std::vector<std::thread> threads;
    for (int i = 1; i < flags.threads; ++i) threads.emplace_back([&ioc] { ioc.run(); });
    ioc.run();
    for (auto& t : threads) t.join();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fake-provider: %s\n", e.what());
    return 1;
  }
  return 0;
}
