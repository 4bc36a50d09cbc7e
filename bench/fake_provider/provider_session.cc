#include "bench/fake_provider/provider_session.h"

#include <cstdio>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "bench/fake_provider/request_options.h"

namespace byok::bench {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

constexpr std::size_t kBodyLimit = 1 << 20;
constexpr std::size_t kWatchBytes = 512;

constexpr std::string_view kCompletion =
    R"({"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"bench",)"
    R"("choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the fake provider."},)"
    R"("finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}})";

constexpr std::string_view kEvent =
    "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
    "\"model\":\"bench\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"token \"},"
    "\"finish_reason\":null}]}\n\n";

constexpr std::string_view kDone = "data: [DONE]\n\n";

void AppendChunk(std::string& out, std::string_view data) {
  char size[16];
  int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  out.append(size, static_cast<std::size_t>(n));
  out.append(data);
  out.append("\r\n");
}

std::string SimpleResponse(int status, std::string_view reason, std::string_view body, bool keep_alive) {
  std::string out;
  out.reserve(160 + body.size());
  out.append("HTTP/1.1 ").append(std::to_string(status)).append(" ").append(reason);
  out.append("\r\nContent-Type: application/json\r\nContent-Length: ").append(std::to_string(body.size()));
  out.append(keep_alive ? "\r\n\r\n" : "\r\nConnection: close\r\n\r\n");
  out.append(body);
  return out;
}

const char* StateName(StreamState state) {
  switch (state) {
    case StreamState::kRunning: return "running";
    case StreamState::kCompleted: return "completed";
    case StreamState::kAborted: return "aborted";
    case StreamState::kUnknown: break;
  }
  return "unknown";
}

// Stream: tcp::socket (plain http), or ssl::stream<tcp::socket> (https, after its handshake).
template <class Stream>
class ProviderSession : public std::enable_shared_from_this<ProviderSession<Stream>> {
 public:
  template <class... Args>
  explicit ProviderSession(ProviderShared& shared, Args&&... stream_args)
      : socket_(std::forward<Args>(stream_args)...), timer_(socket_.get_executor()), shared_(shared) {
    ++shared_.open_connections;
  }
  ~ProviderSession() { --shared_.open_connections; }

  void Run() {
    if constexpr (std::is_same_v<Stream, tcp::socket>) {
      do_read();
    } else {
      socket_.async_handshake(net::ssl::stream_base::server,
                              beast::bind_front_handler(&ProviderSession::on_handshake, self()));
    }
  }

 private:
  std::shared_ptr<ProviderSession> self() { return this->shared_from_this(); }
  auto& tcp_socket() { return beast::get_lowest_layer(socket_); }

  void on_handshake(beast::error_code ec) {
    if (ec) return close();
    do_read();
  }

  void do_read() {
    parser_.emplace();
    parser_->body_limit(kBodyLimit);
    http::async_read(socket_, buffer_, *parser_,
                     beast::bind_front_handler(&ProviderSession::on_read, self()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return close();
    http::request<http::string_body> req = parser_->release();
    keep_alive_ = req.keep_alive();
    ++shared_.requests;
    std::string_view target = req.target();
    if (target.substr(0, 8) == "/_bench/") return handle_control(target.substr(8));
    std::string_view path = target.substr(0, target.find('?'));
    if (req.method() != http::verb::post || path != "/v1/chat/completions") {
      return write_simple(SimpleResponse(404, "Not Found", R"({"error":"not found"})", keep_alive_));
    }
    if (!shared_.expected_key.empty() &&
        req[http::field::authorization] != "Bearer " + shared_.expected_key) {
      return write_simple(SimpleResponse(401, "Unauthorized", R"({"error":"bad key"})", keep_alive_));
    }
    RequestOptions options = ParseRequestOptions(req.body());
    if (!options.stream) return write_simple(SimpleResponse(200, "OK", kCompletion, keep_alive_));
    start_stream(std::move(options));
  }

  void handle_control(std::string_view what) {
    std::string body;
    if (what == "stats") {
      body = "{\"requests\":" + std::to_string(shared_.requests.load()) +
             ",\"streams\":" + std::to_string(shared_.streams.load()) +
             ",\"aborted\":" + std::to_string(shared_.aborted.load()) +
             ",\"open_connections\":" + std::to_string(shared_.open_connections.load()) + "}";
    } else if (what.substr(0, 7) == "stream/") {
      StreamRecord r = shared_.registry.Get(std::string(what.substr(7)));
      body = std::string("{\"state\":\"") + StateName(r.state) + "\",\"events\":" +
             std::to_string(r.events_sent) + ",\"start_ns\":" + std::to_string(r.start_ns) +
             ",\"end_ns\":" + std::to_string(r.end_ns) + "}";
    } else {
      return write_simple(SimpleResponse(404, "Not Found", R"({"error":"not found"})", keep_alive_));
    }
    write_simple(SimpleResponse(200, "OK", body, keep_alive_));
  }

  void write_simple(std::string response) {
    out_ = std::move(response);
    net::async_write(socket_, net::buffer(out_),
                     beast::bind_front_handler(&ProviderSession::on_simple_written, self()));
  }

  void on_simple_written(beast::error_code ec, std::size_t) {
    if (ec || !keep_alive_) return close();
    do_read();
  }

  // Streaming: the first event goes out with the headers; the others follow every interval_ms.
  void start_stream(RequestOptions options) {
    ++shared_.streams;
    options_ = std::move(options);
    if (!options_.id.empty()) shared_.registry.Start(options_.id);
    streaming_ = true;
    done_written_ = false;
    events_sent_ = 0;
    out_.assign("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n");
    out_.append(keep_alive_ ? "Transfer-Encoding: chunked\r\n\r\n"
                            : "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
    append_next_piece();
    do_watch();
    write_out();
  }

  // Appends the next event, or [DONE] and the last chunk once every event went out.
  void append_next_piece() {
    if (events_sent_ < options_.events) {
      AppendChunk(out_, kEvent);
      ++events_sent_;
    } else {
      AppendChunk(out_, kDone);
      out_.append("0\r\n\r\n");
      done_written_ = true;
    }
  }

  void write_out() {
    net::async_write(socket_, net::buffer(out_),
                     beast::bind_front_handler(&ProviderSession::on_stream_written, self()));
  }

  void on_stream_written(beast::error_code ec, std::size_t) {
    if (!streaming_) return;  // aborted while the write was under way
    if (ec) return abort_stream();
    if (done_written_) return finish_stream();
    out_.clear();
    if (options_.interval_ms > 0 && events_sent_ < options_.events) {
      timer_.expires_after(std::chrono::milliseconds(options_.interval_ms));
      timer_.async_wait(beast::bind_front_handler(&ProviderSession::on_timer, self()));
      return;
    }
    append_next_piece();
    write_out();
  }

  void on_timer(beast::error_code ec) {
    if (ec || !streaming_) return;
    out_.clear();
    append_next_piece();
    write_out();
  }

  void finish_stream() {
    streaming_ = false;
    if (!options_.id.empty()) shared_.registry.Finish(options_.id, StreamState::kCompleted, events_sent_);
    if (!keep_alive_) return close();
    // The watch read is still pending: cancel it; its handler goes on with the next request.
    if (watch_pending_) {
      beast::error_code ignored;
      tcp_socket().cancel(ignored);
      return;
    }
    do_read();
  }

  // A read kept pending during a stream so that the client's close is seen at once, not at the next
  // write. Bytes that arrive (a pipelined request) are kept for the parser.
  void do_watch() {
    watch_pending_ = true;
    socket_.async_read_some(buffer_.prepare(kWatchBytes),
                            beast::bind_front_handler(&ProviderSession::on_watch, self()));
  }

  void on_watch(beast::error_code ec, std::size_t n) {
    watch_pending_ = false;
    if (!ec) {
      buffer_.commit(n);
      if (streaming_) return do_watch();
      return do_read();
    }
    if (streaming_) return abort_stream();
    if (ec == net::error::operation_aborted && tcp_socket().is_open()) return do_read();
    close();
  }

  void abort_stream() {
    if (!streaming_) return;
    streaming_ = false;
    ++shared_.aborted;
    if (!options_.id.empty()) shared_.registry.Finish(options_.id, StreamState::kAborted, events_sent_);
    timer_.cancel();
    close();
  }

  void close() {
    beast::error_code ignored;
    tcp_socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp_socket().close(ignored);
  }

  Stream socket_;
  net::steady_timer timer_;
  ProviderShared& shared_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string out_;
  RequestOptions options_;
  bool keep_alive_ = true;
  bool streaming_ = false;
  bool done_written_ = false;
  bool watch_pending_ = false;
  int events_sent_ = 0;
};

}  // namespace

void StartProviderSession(tcp::socket socket, ProviderShared& shared, net::ssl::context* tls) {
  if (tls == nullptr) {
    std::make_shared<ProviderSession<tcp::socket>>(shared, std::move(socket))->Run();
  } else {
    std::make_shared<ProviderSession<net::ssl::stream<tcp::socket>>>(shared, std::move(socket), *tls)
        ->Run();
  }
}

}  // namespace byok::bench
