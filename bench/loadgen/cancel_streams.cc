#include <algorithm>
#include <limits>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "bench/loadgen/counting_body.h"
#include "bench/loadgen/latency_stats.h"
#include "bench/loadgen/modes.h"

namespace byok::bench {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

// Reads one number field `"key":123` from a small JSON text; -1 when absent.
long long JsonNumber(const std::string& text, const std::string& key) {
  auto pos = text.find("\"" + key + "\":");
  if (pos == std::string::npos) return -1;
  return std::atoll(text.c_str() + pos + key.size() + 3);
}

std::string JsonString(const std::string& text, const std::string& key) {
  auto pos = text.find("\"" + key + "\":\"");
  if (pos == std::string::npos) return "";
  pos += key.size() + 4;
  return text.substr(pos, text.find('"', pos) - pos);
}

// A keep-alive connection to the fake provider's control endpoint.
class ControlClient {
 public:
  ControlClient(net::io_context& ioc, tcp::endpoint endpoint) : socket_(ioc), endpoint_(endpoint) {}

  // Returns the fake provider's record of stream `id` as JSON text (empty on failure).
  std::string StreamRecord(const std::string& id) {
    beast::error_code ec;
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!socket_.is_open()) {
        socket_.connect(endpoint_, ec);
        if (ec) return "";
        socket_.set_option(tcp::no_delay(true), ec);
      }
      http::request<http::string_body> req(http::verb::get, "/_bench/stream/" + id, 11);
      req.set(http::field::host, "127.0.0.1");
      http::write(socket_, req, ec);
      http::response<http::string_body> res;
      if (!ec) http::read(socket_, buffer_, res, ec);
      if (!ec) return res.body();
      socket_.close(ec);
      buffer_.clear();
    }
    return "";
  }

 private:
  tcp::socket socket_;
  tcp::endpoint endpoint_;
  beast::flat_buffer buffer_;
};

}  // namespace

std::string RunCancelStreams(const LoadOptions& options) {
  net::io_context ioc(1);
  tcp::endpoint target(net::ip::make_address(options.host), options.port);
  ControlClient control(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), options.control_port));
  LatencySamples close_delay;
  int closed = 0, ran_on = 0, failed = 0;
  std::string first_failure;
  double ran_on_ms_total = 0;
  std::int64_t run_deadline = NowNs() + static_cast<std::int64_t>(options.timeout_s * 1e9);
  std::string prefix = "c" + std::to_string(NowNs() % 1000000000) + "n";
  // A stream that the provider still writes this long after the client left is not being cancelled.
  std::int64_t wait_ns = (static_cast<std::int64_t>(options.events) * options.interval_ms + 2000) * 1000000;

  for (int i = 0; i < options.count && NowNs() < run_deadline; ++i) {
    std::string id = prefix + std::to_string(i);
    std::string request = BuildChatRequest(options, BenchModel(options.events, options.interval_ms, id), true);
    beast::error_code ec;
    tcp::socket socket(ioc);
    socket.connect(target, ec);
    if (!ec) net::write(socket, net::buffer(request), ec);
    beast::flat_buffer buffer;
    http::response_parser<CountingBody> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    while (!ec && !parser.is_done() && parser.get().body().events < options.after_events) {
      http::read_some(socket, buffer, parser, ec);
    }
    if (ec || parser.is_done() || parser.get().result_int() != 200) {
      if (failed++ == 0) {
        // Why the first one failed, for the report (one word: the line is key=value pairs).
        if (ec) {
          first_failure = ec.message();
        } else if (parser.get().result_int() != 200) {
          first_failure = "status_" + std::to_string(parser.get().result_int());
        } else {
          first_failure = "ended_before_" + std::to_string(options.after_events) + "_events";
        }
        std::replace(first_failure.begin(), first_failure.end(), ' ', '_');
      }
      continue;
    }
    std::int64_t left_ns = NowNs();
    socket.close(ec);  // the browser goes away

    std::string state;
    std::string record;
    while (NowNs() - left_ns < wait_ns) {
      record = control.StreamRecord(id);
      state = JsonString(record, "state");
      if (state == "aborted" || state == "completed") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    long long end_ns = JsonNumber(record, "end_ns");
    if (state == "aborted") {
      ++closed;
      close_delay.Add(std::max<long long>(0, end_ns - left_ns));
    } else {
      ++ran_on;
      if (state == "completed") ran_on_ms_total += static_cast<double>(end_ns - left_ns) / 1e6;
    }
  }

  ResultLine line;
  line.Add("closed", closed);
  line.Add("ran_on", ran_on);
  line.Add("failed", failed);
  line.Add("close_ms_p50", close_delay.PercentileUs(0.5) / 1000.0);
  line.Add("close_ms_max", close_delay.PercentileUs(1.0) / 1000.0);
  line.Add("ran_on_ms_avg", ran_on ? ran_on_ms_total / ran_on : 0.0);
  if (!first_failure.empty()) line.Add("first_failure", first_failure);
  return line.str();
}

}  // namespace byok::bench
