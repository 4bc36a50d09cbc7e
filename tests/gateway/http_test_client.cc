#include "tests/gateway/http_test_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace byok::testing {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

std::chrono::steady_clock::duration Chrono(absl::Duration d) { return absl::ToChronoMilliseconds(d); }

absl::Status Fail(const char* step, const beast::error_code& ec) {
  if (ec == beast::error::timeout) return absl::DeadlineExceededError(absl::StrCat(step, ": timeout"));
  return absl::UnavailableError(absl::StrCat(step, ": ", ec.message()));
}

}  // namespace

std::string TestResponse::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

struct TestHttpClient::Impl {
  net::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  std::optional<http::response_parser<http::string_body>> parser;
  size_t consumed = 0;

  // Runs the io_context until the operation started before completes.
  void RunOne() {
    ioc.restart();
    ioc.run();
  }

  TestResponse HeadOf(const http::response_parser<http::string_body>& p) {
    TestResponse r;
    r.status = static_cast<int>(p.get().result_int());
    for (const auto& f : p.get()) {
      std::string name = absl::AsciiStrToLower(std::string(f.name_string()));
      std::string value(f.value());
      auto [it, inserted] = r.headers.emplace(name, value);
      if (!inserted) it->second += ", " + value;
    }
    return r;
  }
};

TestHttpClient::TestHttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TestHttpClient::~TestHttpClient() { Close(); }

absl::StatusOr<std::unique_ptr<TestHttpClient>> TestHttpClient::Connect(int port,
                                                                        absl::Duration timeout) {
  auto impl = std::make_unique<Impl>();
  beast::error_code result;
  impl->stream.expires_after(Chrono(timeout));
  impl->stream.async_connect(
      tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)),
      [&](beast::error_code ec) { result = ec; });
  impl->RunOne();
  if (result) return Fail("connect", result);
  return std::unique_ptr<TestHttpClient>(new TestHttpClient(std::move(impl)));
}

absl::Status TestHttpClient::Send(const TestRequest& request, absl::Duration timeout) {
  std::string raw = absl::StrCat(request.method, " ", request.target, " HTTP/1.1\r\n");
  bool has_host = false;
  for (const auto& [name, value] : request.headers) {
    if (absl::EqualsIgnoreCase(name, "host")) has_host = true;
    absl::StrAppend(&raw, name, ": ", value, "\r\n");
  }
  if (!has_host) absl::StrAppend(&raw, "Host: 127.0.0.1\r\n");
  if (request.set_content_length && (!request.body.empty() || request.method == "POST" ||
                                     request.method == "PUT" || request.method == "PATCH")) {
    absl::StrAppend(&raw, "Content-Length: ", request.body.size(), "\r\n");
  }
  absl::StrAppend(&raw, "\r\n", request.body);
  return WriteRaw(raw, timeout);
}

absl::Status TestHttpClient::WriteRaw(const std::string& bytes, absl::Duration timeout) {
  beast::error_code result;
  impl_->stream.expires_after(Chrono(timeout));
  net::async_write(impl_->stream, net::buffer(bytes),
                   [&](beast::error_code ec, size_t) { result = ec; });
  impl_->RunOne();
  if (result) return Fail("write", result);
  return absl::OkStatus();
}

absl::StatusOr<TestResponse> TestHttpClient::ReadHead(absl::Duration timeout) {
  impl_->parser.emplace();
  // Beast 1.74 compares against an empty optional as if it were 0: give a real bound.
  impl_->parser->body_limit(std::uint64_t{1} << 40);
  impl_->consumed = 0;
  beast::error_code result;
  impl_->stream.expires_after(Chrono(timeout));
  http::async_read_header(impl_->stream, impl_->buffer, *impl_->parser,
                          [&](beast::error_code ec, size_t) { result = ec; });
  impl_->RunOne();
  if (result) return Fail("read head", result);
  return impl_->HeadOf(*impl_->parser);
}

absl::StatusOr<std::string> TestHttpClient::ReadBodyPiece(absl::Duration timeout) {
  if (!impl_->parser.has_value()) return absl::FailedPreconditionError("ReadHead first");
  auto& p = *impl_->parser;
  absl::Time deadline = absl::Now() + timeout;
  while (p.get().body().size() == impl_->consumed && !p.is_done()) {
    beast::error_code result;
    impl_->stream.expires_after(Chrono(std::max(deadline - absl::Now(), absl::Milliseconds(1))));
    http::async_read_some(impl_->stream, impl_->buffer, p,
                          [&](beast::error_code ec, size_t) { result = ec; });
    impl_->RunOne();
    if (result && result != http::error::need_buffer) return Fail("read body", result);
  }
  std::string piece = p.get().body().substr(impl_->consumed);
  impl_->consumed = p.get().body().size();
  return piece;
}

absl::StatusOr<TestResponse> TestHttpClient::ReadResponse(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  auto head = ReadHead(timeout);
  if (!head.ok()) return head.status();
  TestResponse response = *std::move(head);
  while (true) {
    auto piece = ReadBodyPiece(std::max(deadline - absl::Now(), absl::Milliseconds(1)));
    if (!piece.ok()) return piece.status();
    if (piece->empty()) break;
    response.body += *piece;
  }
  return response;
}

bool TestHttpClient::WaitForClose(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  char scratch[4096];
  while (absl::Now() < deadline) {
    beast::error_code result;
    impl_->stream.expires_after(Chrono(deadline - absl::Now()));
    impl_->stream.async_read_some(net::buffer(scratch),
                                  [&](beast::error_code ec, size_t) { result = ec; });
    impl_->RunOne();
    if (result == beast::error::timeout) return false;
    if (result) return true;
  }
  return false;
}

void TestHttpClient::Close() {
  if (!impl_) return;
  beast::error_code ec;
  impl_->stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  impl_->stream.socket().close(ec);
}

absl::StatusOr<TestResponse> Fetch(int port, const TestRequest& request, absl::Duration timeout) {
  auto client = TestHttpClient::Connect(port, timeout);
  if (!client.ok()) return client.status();
  if (absl::Status s = (*client)->Send(request, timeout); !s.ok()) return s;
  return (*client)->ReadResponse(timeout);
}

absl::StatusOr<TestResponse> Fetch(int port, const std::string& method, const std::string& target,
                                   std::vector<std::pair<std::string, std::string>> headers,
                                   std::string body) {
  TestRequest request;
  request.method = method;
  request.target = target;
  // A body without a Content-Type is JSON here: what the API's clients send.
  bool typed = false;
  for (const auto& [name, value] : headers) typed |= absl::EqualsIgnoreCase(name, "content-type");
  if (!body.empty() && !typed) headers.emplace_back("Content-Type", "application/json");
  request.headers = std::move(headers);
  request.body = std::move(body);
  return Fetch(port, request);
}

}  // namespace byok::testing
