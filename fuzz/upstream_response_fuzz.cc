// A provider's response as the relay's upstream client reads it, over a real loopback connection: the
// response head, then the body by length, chunked or to the connection's end, cut into writes as a
// provider's would be. The first input byte chooses how the rest is cut (and how long the writer
// pauses between writes, so that some pieces arrive together and some apart).
//
// Checks: every call ends; a response that Beast's parser reads whole when given at once ends OK with
// the same body, none of it lost, repeated or reordered by the client's read-ahead and piece joining.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "services/relay/upstream/upstream_client.h"

namespace {

namespace http = boost::beast::http;
using byok::relay::UpstreamCall;
using byok::relay::UpstreamClient;
using byok::relay::UpstreamHandler;
using byok::relay::UpstreamHead;
using byok::relay::UpstreamOptions;
using byok::relay::UpstreamRequest;

// Collects a call's body, asking for each next piece at once.
class Collector : public UpstreamHandler {
 public:
  void SetCall(std::shared_ptr<UpstreamCall> call) {
    absl::MutexLock lock(&mu_);
    call_ = std::move(call);
    if (owed_) call_->Next();
  }
  void OnUpstreamHead(UpstreamHead) override { Continue(); }
  void OnUpstreamBody(std::string piece, bool last) override {
    absl::MutexLock lock(&mu_);
    body_ += piece;
    if (!last) ContinueLocked();
  }
  void OnUpstreamDone(absl::Status status) override {
    absl::MutexLock lock(&mu_);
    status_ = std::move(status);
    done_ = true;
  }
  // The call's status, or nullopt-like DeadlineExceeded when it did not end in time.
  absl::Status Wait(std::string& body) {
    absl::MutexLock lock(&mu_);
    if (!mu_.AwaitWithTimeout(absl::Condition(&done_), absl::Seconds(20))) {
      std::fprintf(stderr, "the call did not end\n");
      std::abort();
    }
    body = body_;
    return status_;
  }

 private:
  void Continue() {
    absl::MutexLock lock(&mu_);
    ContinueLocked();
  }
  void ContinueLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (call_) {
      call_->Next();
    } else {
      owed_ = true;
    }
  }

  absl::Mutex mu_;
  std::shared_ptr<UpstreamCall> call_ ABSL_GUARDED_BY(mu_);
  bool owed_ ABSL_GUARDED_BY(mu_) = false;
  std::string body_ ABSL_GUARDED_BY(mu_);
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  bool done_ ABSL_GUARDED_BY(mu_) = false;
};

// A listening socket on 127.0.0.1 and a client with no pooling (each response ends its connection).
struct Rig {
  int listener = -1;
  uint16_t port = 0;
  std::unique_ptr<UpstreamClient> client;
};

Rig& TheRig() {
  static Rig* rig = [] {
    auto* r = new Rig;
    r->listener = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (r->listener < 0 || bind(r->listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        listen(r->listener, 16) != 0 ||
        getsockname(r->listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      std::abort();
    }
    r->port = ntohs(addr.sin_port);
    UpstreamOptions options;
    options.threads = 1;
    options.max_idle_per_origin = 0;
    options.piece_bytes = 512;  // small pieces reach the joining and buffer-limit paths sooner
    options.headers_timeout = absl::Seconds(5);
    options.idle_timeout = absl::Seconds(5);
    auto client = UpstreamClient::Create(options);
    if (!client.ok()) std::abort();
    r->client = *std::move(client);
    return r;
  }();
  return *rig;
}

// What Beast's parser makes of the whole response at once: the body if it is complete.
bool ReferenceBody(std::string_view response, std::string& body) {
  http::response_parser<http::string_body> parser;
  parser.header_limit(64 * 1024);
  parser.body_limit(16 * 1024 * 1024);
  boost::beast::error_code ec;
  size_t used = 0;
  while (used < response.size() && !parser.is_done()) {
    const size_t n = parser.put(
        boost::asio::buffer(response.data() + used, response.size() - used), ec);
    if (ec || n == 0) break;
    used += n;
  }
  if (!parser.is_done() && !ec && parser.is_header_done() && parser.need_eof()) {
    parser.put_eof(ec);  // a body to the connection's end: it ends here
  }
  if (ec || !parser.is_done()) return false;
  body = parser.get().body();
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2 || size > 64 * 1024) return 0;
  Rig& rig = TheRig();
  const size_t cut = 1 + data[0] % 32;
  const bool pause = (data[0] & 0x80) != 0;
  const std::string response(reinterpret_cast<const char*>(data + 1), size - 1);

  std::thread provider([&rig, &response, cut, pause] {
    const int c = accept(rig.listener, nullptr, nullptr);
    if (c < 0) return;
    char request[4096];
    static_cast<void>(recv(c, request, sizeof(request), 0));
    for (size_t at = 0; at < response.size(); at += cut) {
      const size_t n = std::min(cut, response.size() - at);
      if (send(c, response.data() + at, n, MSG_NOSIGNAL) != static_cast<ssize_t>(n)) break;
      if (pause && (at / cut) % 4 == 3) absl::SleepFor(absl::Microseconds(200));
    }
    shutdown(c, SHUT_WR);
    // Until the client is done with the connection (it closes it), so a response it reads to the
    // connection's end is not cut short by a reset.
    while (recv(c, request, sizeof(request), 0) > 0) {
    }
    close(c);
  });

  UpstreamRequest request;
  request.tls = false;
  request.host = "127.0.0.1";
  request.port = rig.port;
  request.method = "POST";
  request.target = "/v1/chat/completions";
  request.headers = {{"content-type", "application/json"}};
  request.body = R"({"model":"m","stream":true})";
  Collector collector;
  collector.SetCall(rig.client->Start(std::move(request), &collector));
  std::string body;
  const absl::Status status = collector.Wait(body);
  provider.join();

  std::string expected;
  if (ReferenceBody(response, expected)) {
    if (!status.ok()) {
      std::fprintf(stderr, "a whole response failed: %s\n", std::string(status.message()).c_str());
      std::abort();
    }
    if (body != expected) {
      std::fprintf(stderr, "the body differs: %zu bytes, expected %zu\n", body.size(), expected.size());
      std::abort();
    }
  }
  return 0;
}
