// A streamed response under a slow browser: pieces the relay sends while a socket write is in flight
// leave together (fewer chunks, the same bytes in the same order), the first piece is not held back, and
// a browser that stops reading stops the relay (bounded memory) instead of being buffered for. The relay
// is a test double that streams as fast as gRPC takes its messages (as a Relay call, or as a request of
// a RelayMany stream within the gateway's credit, as the relay does) and counts what it sent.
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iostream>
#include <mutex>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "byok/relay/v1/relay.grpc.pb.h"
#include "services/gateway/gateway_server.h"
#include "services/gateway/http/http_session.h"
#include "tests/gateway/token_vault.h"
#include "tests/testing/process.h"

namespace byok::gateway {
namespace {

using byok::relay::v1::RelayRequest;
using byok::relay::v1::RelayResponse;

// What the relay double streams, and what it has sent.
struct Plan {
  int events = 0;
  size_t event_bytes = 0;
  bool hold_after_first = false;  // the first event, then nothing until Release()
  bool last_with_end = false;     // RelayMany: the last event and the end in one message (as the relay)
  std::atomic<int64_t> sent_bytes{0};
};

// Event i, exactly `size` bytes: "data: <i> xxx…\n\n".
std::string Event(int i, size_t size) {
  std::string e = absl::StrCat("data: ", i, " ");
  e.append(size - e.size() - 2, 'x');
  e += "\n\n";
  return e;
}

class Stream : public grpc::ServerWriteReactor<RelayResponse> {
 public:
  explicit Stream(Plan* plan) : plan_(plan) {
    auto* head = message_.mutable_head();
    head->set_status(200);
    auto* ct = head->add_headers();
    ct->set_name("Content-Type");
    ct->set_value("text/event-stream");
    message_.set_body(Event(0, plan_->event_bytes));
    StartWrite(&message_);
  }
  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(grpc::Status::CANCELLED);
    plan_->sent_bytes.fetch_add(static_cast<int64_t>(plan_->event_bytes));
    if (next_ == 1 && plan_->hold_after_first) {
      std::lock_guard<std::mutex> lock(held_mu);
      held = this;
      return;
    }
    Next();
  }
  void OnDone() override { delete this; }

  void Next() {
    if (next_ == plan_->events) return Finish(grpc::Status::OK);
    message_.Clear();
    message_.set_body(Event(next_++, plan_->event_bytes));
    StartWrite(&message_);
  }

  static std::mutex held_mu;
  static Stream* held;

 private:
  Plan* plan_;
  int next_ = 1;
  RelayResponse message_;
};

std::mutex Stream::held_mu;
Stream* Stream::held = nullptr;

// The plan's events as one request of a RelayMany stream: each event a message of its own, sent while
// the gateway's credit for the request is above zero, as the relay does.
class ManyStream : public grpc::ServerBidiReactor<byok::relay::v1::RelayManyRequest,
                                                  byok::relay::v1::RelayManyResponse> {
 public:
  // Headers first, as the relay sends them: the gateway sends its frames once they came.
  explicit ManyStream(Plan* plan) : plan_(plan) {
    StartSendInitialMetadata();
    StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!ok) {
      reading_ = false;
      return MaybeFinish();
    }
    for (const auto& frame : in_.frames()) {
      if (frame.has_start()) id_ = frame.id();
      credit_ += frame.credit();
      if (frame.cancel()) next_ = plan_->events + 1;  // nothing more, not even the end
    }
    in_.Clear();
    StartRead(&in_);
    MaybeWrite();
  }
  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
    if (!ok) {
      next_ = plan_->events + 1;
      return MaybeFinish();
    }
    if (sent_event_) plan_->sent_bytes.fetch_add(static_cast<int64_t>(plan_->event_bytes));
    MaybeWrite();
  }
  void OnCancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    next_ = plan_->events + 1;
    MaybeFinish();
  }
  void OnDone() override {
    {
      std::lock_guard<std::mutex> lock(held_mu);
      if (held == this) held = nullptr;
    }
    delete this;
  }

  // Sends what the plan held back after the first event.
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    MaybeWrite();
  }

  static std::mutex held_mu;
  static ManyStream* held;  // a stream holding back all but its first event

 private:
  void MaybeWrite() {
    if (writing_ || id_ == 0 || next_ > plan_->events) return;
    if (next_ == 1 && plan_->hold_after_first && !released_) {
      std::lock_guard<std::mutex> lock(held_mu);
      held = this;
      return;
    }
    out_.Clear();
    auto* reply = out_.add_replies();
    reply->set_id(id_);
    sent_event_ = next_ < plan_->events;
    if (sent_event_) {
      if (credit_ <= 0) return;  // until the gateway's next credit
      if (next_ == 0) {
        auto* head = reply->mutable_response()->mutable_head();
        head->set_status(200);
        auto* ct = head->add_headers();
        ct->set_name("Content-Type");
        ct->set_value("text/event-stream");
      }
      reply->mutable_response()->set_body(Event(next_, plan_->event_bytes));
      credit_ -= static_cast<int64_t>(plan_->event_bytes);
      if (plan_->last_with_end && next_ == plan_->events - 1) {
        out_.add_replies()->set_id(id_);
        out_.mutable_replies(1)->mutable_end();  // OK, in the same message
        ++next_;
      }
    } else {
      reply->mutable_end();  // OK
    }
    ++next_;
    writing_ = true;
    StartWrite(&out_);
  }
  void MaybeFinish() {
    if (writing_ || reading_ || finished_) return;
    finished_ = true;
    Finish(grpc::Status::OK);
  }

  Plan* plan_;
  std::mutex mu_;
  byok::relay::v1::RelayManyRequest in_;
  byok::relay::v1::RelayManyResponse out_;
  uint64_t id_ = 0;
  int64_t credit_ = 0;
  int next_ = 0;  // the next event; `events` is the end, past it nothing
  bool sent_event_ = false;
  bool writing_ = false;
  bool reading_ = true;
  bool finished_ = false;
  bool released_ = false;
};

std::mutex ManyStream::held_mu;
ManyStream* ManyStream::held = nullptr;

class StreamingRelay final : public byok::relay::v1::Relay::CallbackService {
 public:
  explicit StreamingRelay(Plan* plan) : plan_(plan) {}
  grpc::ServerWriteReactor<RelayResponse>* Relay(grpc::CallbackServerContext*, const RelayRequest*) override {
    return new Stream(plan_);
  }
  grpc::ServerBidiReactor<byok::relay::v1::RelayManyRequest, byok::relay::v1::RelayManyResponse>* RelayMany(
      grpc::CallbackServerContext*) override {
    return new ManyStream(plan_);
  }

 private:
  Plan* plan_;
};

// A browser with a small receive window, over a plain socket: the chunks are counted as they came.
class SlowBrowser {
 public:
  explicit SlowBrowser(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int window = 4096;
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &window, sizeof(window));  // before connect: the window
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~SlowBrowser() { close(fd_); }
  bool connected() const { return connected_; }

  // Data segments the kernel received on the connection so far (each write of the gateway's is one,
  // on loopback and with TCP_NODELAY, for as long as a write fits one segment).
  uint32_t DataSegmentsIn() const {
    // glibc's tcp_info stops at tcpi_total_retrans; the kernel's goes on (linux/tcp.h, append-only).
    struct {
      tcp_info glibc;
      uint64_t pacing_rate, max_pacing_rate, bytes_acked, bytes_received;
      uint32_t segs_out, segs_in, notsent_bytes, min_rtt, data_segs_in, data_segs_out;
    } info{};
    static_assert(sizeof(tcp_info) % alignof(uint64_t) == 0, "the kernel's next field is 8-aligned");
    socklen_t size = sizeof(info);
    if (getsockopt(fd_, IPPROTO_TCP, TCP_INFO, &info, &size) != 0 || size < sizeof(info)) return 0;
    return info.data_segs_in;
  }

  bool Send(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
  }

  // Reads until `done` holds for what was read, or the deadline. False on close or timeout. A slow
  // reader takes at most `read_bytes` at a time and pauses `pause` after each read.
  template <typename Done>
  bool ReadUntil(Done done, absl::Duration timeout, size_t read_bytes = 65536,
                 absl::Duration pause = absl::ZeroDuration()) {
    const absl::Time deadline = absl::Now() + timeout;
    char buf[65536];
    read_bytes = std::min(read_bytes, sizeof(buf));
    while (!done(received_)) {
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) return false;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1) <= 0) return false;
      ssize_t n = ::recv(fd_, buf, read_bytes, 0);
      if (n <= 0) return false;
      received_.append(buf, static_cast<size_t>(n));
      if (pause > absl::ZeroDuration()) absl::SleepFor(pause);
    }
    return true;
  }
  const std::string& received() const { return received_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string received_;
};

// A chunked body, parsed: its chunks' data joined, how many chunks, the largest; `complete` once the
// last chunk came.
struct Chunks {
  std::string data;
  int count = 0;
  size_t largest = 0;
  bool complete = false;
};

Chunks ParseChunked(const std::string& response) {
  Chunks out;
  size_t pos = response.find("\r\n\r\n");
  if (pos == std::string::npos) return out;
  pos += 4;
  while (true) {
    size_t eol = response.find("\r\n", pos);
    if (eol == std::string::npos) return out;
    size_t size = 0;
    if (!absl::SimpleHexAtoi(response.substr(pos, eol - pos), &size)) return out;
    if (size == 0) {
      out.complete = response.size() >= eol + 4;
      return out;
    }
    if (response.size() < eol + 2 + size + 2) return out;
    out.data.append(response, eol + 2, size);
    ++out.count;
    out.largest = std::max(out.largest, size);
    pos = eol + 2 + size + 2;
  }
}

// The bytes the kernel holds, in send and receive queues, on every IPv4 TCP connection from or to one
// of `ports` (/proc/net/tcp; loopback connections show both of their ends).
int64_t KernelQueuedBytes(const std::vector<int>& ports) {
  std::ifstream table("/proc/net/tcp");
  std::string line;
  std::getline(table, line);  // the column names
  int64_t queued = 0;
  auto port_of = [](absl::string_view address) {
    int port = 0;
    return absl::SimpleHexAtoi(address.substr(address.find(':') + 1), &port) ? port : 0;
  };
  while (std::getline(table, line)) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.size() < 5) continue;
    const int local = port_of(f[1]), remote = port_of(f[2]);
    if (std::find(ports.begin(), ports.end(), local) == ports.end() &&
        std::find(ports.begin(), ports.end(), remote) == ports.end()) {
      continue;
    }
    std::vector<absl::string_view> q = absl::StrSplit(f[4], ':');
    int64_t tx = 0, rx = 0;
    if (q.size() == 2 && absl::SimpleHexAtoi(q[0], &tx) && absl::SimpleHexAtoi(q[1], &rx)) queued += tx + rx;
  }
  return queued;
}

std::string StreamRequest() {
  const std::string body = R"({"model":"m","stream":true})";
  return absl::StrCat("POST /relay/openai/v1/chat/completions HTTP/1.1\r\nHost: x\r\n",
                      "x-relay-token: tok\r\nContent-Type: application/json\r\nContent-Length: ",
                      body.size(), "\r\n\r\n", body);
}

class HttpStreamCoalescingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &relay_port_);
    builder.RegisterService(&relay_);
    builder.RegisterService(&vault_);
    grpc_server_ = builder.BuildAndStart();
    ASSERT_NE(grpc_server_, nullptr);
    auto config = LoadGatewayConfig(Env({{"PORT", "0"},
                                         {"BYOK_GATEWAY_HOST", "127.0.0.1"},
                                         {"BYOK_RELAY_ADDR", absl::StrCat("127.0.0.1:", relay_port_)},
                                         {"BYOK_VAULT_ADDR", absl::StrCat("127.0.0.1:", relay_port_)},
                                         {"BYOK_RELAY_STREAMS", RelayStreams()}}));
    ASSERT_TRUE(config.ok());
    auto server = GatewayServer::Start(*std::move(config));
    ASSERT_TRUE(server.ok()) << server.status();
    gateway_ = *std::move(server);
  }
  void TearDown() override {
    ReleaseParked();
    if (gateway_) gateway_->Shutdown(absl::Seconds(1));
    if (grpc_server_) grpc_server_->Shutdown(std::chrono::system_clock::now());
  }

  // How the gateway reaches the double: a Relay call per request (its hold test parks a call), or,
  // in HttpStreamCoalescingManyTest, a RelayMany stream.
  virtual const char* RelayStreams() const { return "0"; }

  // Waits until the relay double has sent nothing more for `quiet`; returns what it sent.
  int64_t WaitUntilRelayStalls(absl::Duration quiet, absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    int64_t last = plan_.sent_bytes.load();
    absl::Time changed = absl::Now();
    while (absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(20));
      int64_t now = plan_.sent_bytes.load();
      if (now != last) {
        last = now;
        changed = absl::Now();
      } else if (absl::Now() - changed >= quiet) {
        break;
      }
    }
    return last;
  }

  void StoppedBrowserStopsTheRelayThenGetsEveryByte();

  // Releases the relay double parked after its first event (a Relay call's or a RelayMany request's);
  // false when none is parked.
  static bool ReleaseParked() {
    {
      std::lock_guard<std::mutex> lock(Stream::held_mu);
      if (Stream::held != nullptr) {
        std::exchange(Stream::held, nullptr)->Next();
        return true;
      }
    }
    ManyStream* stream = nullptr;
    {
      std::lock_guard<std::mutex> lock(ManyStream::held_mu);
      stream = std::exchange(ManyStream::held, nullptr);
    }
    if (stream == nullptr) return false;
    stream->Release();
    return true;
  }

  // The same, waiting up to 5 s for the double to park (it does once gRPC took its first write).
  static bool ReleaseHeld() {
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (!ReleaseParked()) {
      if (absl::Now() >= deadline) return false;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return true;
  }

  int relay_port_ = 0;
  Plan plan_;
  StreamingRelay relay_{&plan_};
  TokenVault vault_;
  std::unique_ptr<grpc::Server> grpc_server_;
  std::unique_ptr<GatewayServer> gateway_;
};

// The browser reads nothing, then everything (the test of both fixtures).
void HttpStreamCoalescingTest::StoppedBrowserStopsTheRelayThenGetsEveryByte() {
  plan_.events = 64000;
  plan_.event_bytes = 256;
  const int64_t total = int64_t{plan_.events} * static_cast<int64_t>(plan_.event_bytes);  // 16 MB
  SlowBrowser browser(gateway_->port());
  ASSERT_TRUE(browser.connected());
  ASSERT_TRUE(browser.Send(StreamRequest()));
  // The browser reads nothing: the relay must come to a stop far short of the whole stream (what is
  // in flight is bounded by the gateway's hold, gRPC's window (over RelayMany, the request's credit)
  // and the sockets' buffers).
  const int64_t sent_while_stopped = WaitUntilRelayStalls(absl::Milliseconds(300), absl::Seconds(10));
  EXPECT_LT(sent_while_stopped, total / 2);
  // What the relay sent is in the sockets' kernel queues or in the gateway. The gateway holds at most its
  // hold (kMaxHeldBytes), the piece being written and what gRPC's flow-control window (the credit)
  // let through, not megabytes that a window grown by gRPC's bandwidth probing would let in for a
  // browser that reads nothing.
  const int64_t in_kernel = KernelQueuedBytes({gateway_->port(), relay_port_});
  std::cerr << "sent while the browser read nothing: " << sent_while_stopped << " of " << total
            << " bytes; in the kernel's socket queues " << in_kernel << ", in the gateway the rest\n";
  EXPECT_LT(sent_while_stopped - in_kernel, 512 * 1024);
  // Now it reads everything: the same bytes in the same order. Pieces that came while a write was in
  // flight left together (each relay message was its own chunk before: as many chunks as events, none
  // larger than one), and no chunk is larger than the hold plus one piece. (The events hold no CR: only
  // the last chunk ends so.) The bound is for the slowest build: 16 MB through an instrumented gateway
  // took up to 18 s on a slow spell of the 2-core machine.
  ASSERT_TRUE(browser.ReadUntil([](const std::string& r) { return absl::EndsWith(r, "\r\n0\r\n\r\n"); },
                                absl::Seconds(60)));
  Chunks chunks = ParseChunked(browser.received());
  ASSERT_EQ(chunks.data.size(), static_cast<size_t>(total));
  std::string expected;
  expected.reserve(static_cast<size_t>(total));
  for (int i = 0; i < plan_.events; ++i) expected += Event(i, plan_.event_bytes);
  EXPECT_TRUE(chunks.data == expected) << "the body differs from the events in order";
  EXPECT_LT(chunks.count, plan_.events);
  EXPECT_GT(chunks.largest, plan_.event_bytes);
  std::cerr << plan_.events << " events in " << chunks.count << " chunks, the largest " << chunks.largest
            << " bytes\n";
  EXPECT_LE(chunks.largest, HttpSession::kMaxHeldBytes + plan_.event_bytes);
  EXPECT_EQ(plan_.sent_bytes.load(), total);
}

TEST_F(HttpStreamCoalescingTest, StoppedBrowserStopsTheRelayThenGetsEveryByteInFewerChunks) {
  StoppedBrowserStopsTheRelayThenGetsEveryByte();
}

// The same over a RelayMany stream (the gateway's default): the request's credit, which the gateway gives
// back only as the browser takes bytes, stops the relay; gRPC's window is the stream's, shared.
class HttpStreamCoalescingManyTest : public HttpStreamCoalescingTest {
 protected:
  const char* RelayStreams() const override { return "1"; }
};

TEST_F(HttpStreamCoalescingManyTest, StoppedBrowserStopsTheRelayThenGetsEveryByteInFewerChunks) {
  StoppedBrowserStopsTheRelayThenGetsEveryByte();
}

TEST_F(HttpStreamCoalescingTest, FirstPieceIsNotHeldBack) {
  plan_.events = 3;
  plan_.event_bytes = 64;
  plan_.hold_after_first = true;
  SlowBrowser browser(gateway_->port());
  ASSERT_TRUE(browser.connected());
  ASSERT_TRUE(browser.Send(StreamRequest()));
  // The relay holds everything after its first event: that event must reach the browser meanwhile.
  ASSERT_TRUE(browser.ReadUntil(
      [](const std::string& r) { return ParseChunked(r).data == Event(0, 64); }, absl::Seconds(5)));
  ASSERT_TRUE(ReleaseHeld());
  ASSERT_TRUE(browser.ReadUntil([](const std::string& r) { return ParseChunked(r).complete; },
                                absl::Seconds(5)));
  EXPECT_EQ(ParseChunked(browser.received()).data, Event(0, 64) + Event(1, 64) + Event(2, 64));
}

// The relay sends a stream's last piece and its end in one message: the browser gets both in one write
// (one segment, one wake-up), not the piece and then the last chunk.
TEST_F(HttpStreamCoalescingManyTest, LastPieceAndTheEndLeaveInOneWrite) {
  plan_.events = 2;
  plan_.event_bytes = 64;
  plan_.hold_after_first = true;
  plan_.last_with_end = true;
  SlowBrowser browser(gateway_->port());
  ASSERT_TRUE(browser.connected());
  ASSERT_TRUE(browser.Send(StreamRequest()));
  ASSERT_TRUE(browser.ReadUntil(
      [](const std::string& r) { return ParseChunked(r).data == Event(0, 64); }, absl::Seconds(5)));
  const uint32_t before = browser.DataSegmentsIn();
  ASSERT_TRUE(ReleaseHeld());
  ASSERT_TRUE(browser.ReadUntil([](const std::string& r) { return ParseChunked(r).complete; },
                                absl::Seconds(5)));
  // Nothing else is on its way: a second write would have come at once after the first.
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(browser.DataSegmentsIn() - before, 1u);
  EXPECT_EQ(ParseChunked(browser.received()).data, Event(0, 64) + Event(1, 64));
  EXPECT_TRUE(absl::EndsWith(browser.received(), "\r\n0\r\n\r\n"));
}

}  // namespace
}  // namespace byok::gateway
