#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <vector>

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

class HoldStream;

// Shared by the streams of one hold run (single-threaded io_context).
struct HoldState {
  net::io_context* ioc = nullptr;
  tcp::endpoint endpoint;
  std::string request;
  int expected_events = 0;
  int total = 0;
  int started = 0;
  int starting = 0;      // started, first byte not yet seen
  int open = 0;          // first byte seen, not finished
  int peak_open = 0;
  int finished = 0;
  int ok = 0;
  int failed = 0;
  int concurrency = 1;
  LatencySamples ttfb;
  std::vector<std::shared_ptr<HoldStream>> streams;
  std::function<void()> on_progress;
};

void StartMore(HoldState& state);

class HoldStream : public std::enable_shared_from_this<HoldStream> {
 public:
  HoldStream(net::io_context& ioc, HoldState& state) : socket_(ioc), state_(state) {}

  void Start() {
    ++state_.starting;
    socket_.async_connect(state_.endpoint, [self = shared_from_this()](beast::error_code ec) {
      self->on_connect(ec);
    });
  }

  void Cancel() {
    beast::error_code ignored;
    socket_.close(ignored);
  }

 private:
  void on_connect(beast::error_code ec) {
    if (ec) return finish(false);
    socket_.set_option(tcp::no_delay(true), ec);
    start_ns_ = NowNs();
    net::async_write(socket_, net::buffer(state_.request),
                     [self = shared_from_this()](beast::error_code e, std::size_t) { self->on_write(e); });
  }

  void on_write(beast::error_code ec) {
    if (ec) return finish(false);
    parser_.emplace();
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    do_read();
  }

  void do_read() {
    http::async_read_some(socket_, buffer_, *parser_,
                          [self = shared_from_this()](beast::error_code e, std::size_t) { self->on_read(e); });
  }

  void on_read(beast::error_code ec) {
    if (ec) return finish(false);
    if (!first_seen_ && parser_->get().body().first_ns != 0) {
      first_seen_ = true;
      state_.ttfb.Add(parser_->get().body().first_ns - start_ns_);
      --state_.starting;
      ++state_.open;
      state_.peak_open = std::max(state_.peak_open, state_.open);
      StartMore(state_);
      state_.on_progress();
    }
    if (!parser_->is_done()) return do_read();
    finish(parser_->get().result_int() == 200 && parser_->get().body().events >= state_.expected_events);
  }

  void finish(bool ok) {
    if (done_) return;
    done_ = true;
    if (first_seen_) --state_.open; else --state_.starting;
    ++state_.finished;
    ok ? ++state_.ok : ++state_.failed;
    Cancel();
    buffer_.clear();
    parser_.reset();
    StartMore(state_);
    state_.on_progress();
  }

  tcp::socket socket_;
  HoldState& state_;
  // Room for a whole response head: the gateway's (security, CORS, rate-limit headers) is over 1 KiB.
  beast::flat_buffer buffer_{8192};
  std::optional<http::response_parser<CountingBody>> parser_;
  std::int64_t start_ns_ = 0;
  bool first_seen_ = false;
  bool done_ = false;
};

void StartMore(HoldState& state) {
  while (state.started < state.total && state.starting < state.concurrency) {
    auto stream = std::make_shared<HoldStream>(*state.ioc, state);
    state.streams.push_back(stream);
    ++state.started;
    stream->Start();
  }
}

}  // namespace

std::string RunHoldStreams(const LoadOptions& options) {
  net::io_context ioc(1);
  HoldState state;
  state.ioc = &ioc;
  state.endpoint = tcp::endpoint(net::ip::make_address(options.host), options.port);
  state.request = BuildChatRequest(options, BenchModel(options.events, options.interval_ms, ""), true);
  state.expected_events = options.events + 1;
  state.total = options.connections;
  state.concurrency = options.connect_concurrency;
  state.streams.reserve(static_cast<std::size_t>(options.connections));

  ResultLine line;
  for (const auto& [name, pid] : options.rss_pids) {
    line.Add("rss_before_kib_" + name, static_cast<double>(ReadRssKiB(pid)));
  }
  std::int64_t start = NowNs();
  std::int64_t all_open_ns = 0;
  int open_at_sample = 0;
  std::vector<long> rss_during(options.rss_pids.size(), -1);
  net::steady_timer sample_timer(ioc);
  net::steady_timer deadline(ioc, std::chrono::milliseconds(static_cast<long>(options.timeout_s * 1000)));

  // Memory is sampled every 250 ms and kept from the moment the most streams were open at once, so a
  // relay that cannot open them all still gets a memory-per-stream figure at its own peak.
  std::function<void(beast::error_code)> sample = [&](beast::error_code ec) {
    if (ec) return;
    if (state.open > open_at_sample) {
      open_at_sample = state.open;
      for (std::size_t i = 0; i < options.rss_pids.size(); ++i) {
        rss_during[i] = ReadRssKiB(options.rss_pids[i].second);
      }
    }
    sample_timer.expires_after(std::chrono::milliseconds(250));
    sample_timer.async_wait(sample);
  };
  state.on_progress = [&] {
    if (all_open_ns == 0 && state.open == state.total) all_open_ns = NowNs();
    if (state.finished == state.total) {
      deadline.cancel();
      sample_timer.cancel();
    }
  };
  deadline.async_wait([&](beast::error_code ec) {
    if (ec) return;
    for (auto& s : state.streams) s->Cancel();
    sample_timer.cancel();
  });
  sample_timer.expires_after(std::chrono::milliseconds(250));
  sample_timer.async_wait(sample);
  StartMore(state);
  ioc.run();

  line.Add("ok", state.ok);
  line.Add("failed", state.failed + (state.total - state.started));
  line.Add("peak_open", state.peak_open);
  line.Add("open_at_sample", open_at_sample);
  line.Add("ramp_ms", all_open_ns ? static_cast<double>(all_open_ns - start) / 1e6 : -1.0);
  line.Add("total_ms", static_cast<double>(NowNs() - start) / 1e6);
  line.AddPercentiles("ttfb_us", state.ttfb);
  for (std::size_t i = 0; i < options.rss_pids.size(); ++i) {
    line.Add("rss_during_kib_" + options.rss_pids[i].first, static_cast<double>(rss_during[i]));
  }
  return line.str();
}

}  // namespace byok::bench
