#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include "bench/loadgen/counting_body.h"
#include "bench/loadgen/latency_stats.h"
#include "bench/loadgen/modes.h"

namespace byok::bench {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

// Shared by the connections of one closed-loop run (single-threaded io_context).
struct LoopState {
  tcp::endpoint endpoint;
  std::string request;
  bool stream = false;
  int expected_events = 0;
  std::int64_t measure_from_ns = 0;
  std::int64_t measure_until_ns = 0;
  bool stopping = false;
  std::uint64_t ok = 0;        // measured successes
  std::uint64_t errors = 0;    // measured failures (status, short stream, broken connection)
  std::uint64_t reconnects = 0;
  std::uint64_t completed = 0;  // every response read whole, warm-up included (for CPU per request)
  std::uint64_t bytes = 0;
  LatencySamples latency;
  LatencySamples ttfb;
};

class LoopConnection : public std::enable_shared_from_this<LoopConnection> {
 public:
  LoopConnection(net::io_context& ioc, LoopState& state) : socket_(ioc), state_(state) {}

  void Start() { do_connect(); }
  void Cancel() {
    beast::error_code ignored;
    socket_.close(ignored);
  }

 private:
  void do_connect() {
    if (state_.stopping) return;
    socket_.async_connect(state_.endpoint, [self = shared_from_this()](beast::error_code ec) {
      self->on_connect(ec);
    });
  }

  void on_connect(beast::error_code ec) {
    if (ec) return fail_and_reconnect(false);
    socket_.set_option(tcp::no_delay(true), ec);
    do_request();
  }

  void do_request() {
    if (state_.stopping) return Cancel();
    start_ns_ = NowNs();
    net::async_write(socket_, net::buffer(state_.request),
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(beast::error_code ec) {
    if (ec) return fail_and_reconnect(true);
    parser_.emplace();
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    http::async_read(socket_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code e, std::size_t) { self->on_read(e); });
  }

  void on_read(beast::error_code ec) {
    if (ec) return fail_and_reconnect(true);
    std::int64_t end_ns = NowNs();
    const auto& res = parser_->get();
    const BodyCounts& body = res.body();
    ++state_.completed;
    bool ok = res.result_int() == 200 && (!state_.stream || body.events >= state_.expected_events);
    if (start_ns_ >= state_.measure_from_ns && end_ns <= state_.measure_until_ns) {
      if (ok) {
        ++state_.ok;
        state_.latency.Add(end_ns - start_ns_);
        state_.ttfb.Add((body.first_ns ? body.first_ns : end_ns) - start_ns_);
        state_.bytes += body.bytes;
      } else {
        ++state_.errors;
      }
    }
    if (!res.keep_alive()) {
      Cancel();
      return reconnect();
    }
    do_request();
  }

  void fail_and_reconnect(bool count) {
    if (state_.stopping) return Cancel();
    if (count && NowNs() >= state_.measure_from_ns) ++state_.errors;
    Cancel();
    reconnect();
  }

  void reconnect() {
    if (state_.stopping) return;
    ++state_.reconnects;
    socket_ = tcp::socket(socket_.get_executor());
    buffer_.clear();
    do_connect();
  }

  tcp::socket socket_;
  LoopState& state_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<CountingBody>> parser_;
  std::int64_t start_ns_ = 0;
};

}  // namespace

std::string RunClosedLoop(const LoadOptions& options) {
  net::io_context ioc(1);
  LoopState state;
  state.endpoint = tcp::endpoint(net::ip::make_address(options.host), options.port);
  state.stream = options.stream;
  state.expected_events = options.stream ? options.events + 1 : 0;  // the events and [DONE]
  state.request = BuildChatRequest(
      options, options.stream ? BenchModel(options.events, options.interval_ms, "") : "bench",
      options.stream);
  std::int64_t start = NowNs();
  state.measure_from_ns = start + static_cast<std::int64_t>(options.warmup_s * 1e9);
  state.measure_until_ns = state.measure_from_ns + static_cast<std::int64_t>(options.duration_s * 1e9);

  std::vector<std::shared_ptr<LoopConnection>> connections;
  for (int i = 0; i < options.connections; ++i) {
    connections.push_back(std::make_shared<LoopConnection>(ioc, state));
    connections.back()->Start();
  }
  // At the end of the window: stop starting requests; a grace period later, cut whatever still hangs.
  net::steady_timer stop_timer(ioc, std::chrono::nanoseconds(state.measure_until_ns - start));
  net::steady_timer cut_timer(ioc);
  stop_timer.async_wait([&](beast::error_code) {
    state.stopping = true;
    cut_timer.expires_after(std::chrono::seconds(5));
    cut_timer.async_wait([&](beast::error_code) {
      for (auto& c : connections) c->Cancel();
    });
  });
  // The cut timer must not keep the loop alive once every connection is done.
  net::steady_timer idle_check(ioc);
  std::function<void(beast::error_code)> check = [&](beast::error_code) {
    if (!state.stopping) {
      idle_check.expires_after(std::chrono::milliseconds(50));
      return idle_check.async_wait(check);
    }
    bool any_busy = false;
    for (auto& c : connections) any_busy = any_busy || c.use_count() > 1;
    if (!any_busy) {
      cut_timer.cancel();
      return;
    }
    idle_check.expires_after(std::chrono::milliseconds(10));
    idle_check.async_wait(check);
  };
  idle_check.expires_after(std::chrono::milliseconds(50));
  idle_check.async_wait(check);
  ioc.run();

  ResultLine line;
  line.Add("ok", static_cast<double>(state.ok));
  line.Add("errors", static_cast<double>(state.errors));
  line.Add("rps", static_cast<double>(state.ok) / options.duration_s);
  line.AddPercentiles("lat_us", state.latency);
  line.AddPercentiles("ttfb_us", state.ttfb);
  line.Add("reconnects", static_cast<double>(state.reconnects));
  line.Add("completed", static_cast<double>(state.completed));
  line.Add("bytes", static_cast<double>(state.bytes));
  return line.str();
}

}  // namespace byok::bench
