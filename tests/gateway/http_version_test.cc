// A streamed response as each HTTP version reads it: chunked to an HTTP/1.1 client, and to an HTTP/1.0
// client (which cannot read chunks) the bytes as they are, ended by the close (RFC 9112 §6.1). The relay
// is a test double that streams three SSE events.
#include <grpcpp/grpcpp.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "byok/relay/v1/relay.grpc.pb.h"
#include "services/gateway/gateway_server.h"
#include "tests/gateway/http_test_client.h"
#include "tests/gateway/token_vault.h"
#include "tests/testing/process.h"

namespace byok::gateway {
namespace {

using byok::relay::v1::RelayRequest;
using byok::relay::v1::RelayResponse;
using byok::testing::TestHttpClient;

constexpr char kEvents[] = "data: {\"n\":0}\n\ndata: {\"n\":1}\n\ndata: {\"n\":2}\n\n";

class ThreeEvents;

// Where a stream that waits after its first event is kept until the test releases it.
struct HeldStream {
  std::mutex mu;
  ThreeEvents* stream = nullptr;
  std::condition_variable arrived;
};

// Writes an SSE head and three events, then finishes; with `held`, waits after the first event until
// released.
class ThreeEvents : public grpc::ServerWriteReactor<RelayResponse> {
 public:
  explicit ThreeEvents(HeldStream* held = nullptr) : held_(held) {
    auto* head = queue_.emplace_back().mutable_head();
    head->set_status(200);
    auto* ct = head->add_headers();
    ct->set_name("Content-Type");
    ct->set_value("text/event-stream");
    for (int i = 0; i < 3; ++i) {
      queue_.emplace_back().set_body(absl::StrCat("data: {\"n\":", i, "}\n\n"));
    }
    Next();
  }
  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(grpc::Status::CANCELLED);
    if (held_ != nullptr && ++written_ == 2) {  // the head, then the first event
      std::lock_guard<std::mutex> lock(held_->mu);
      held_->stream = this;
      held_->arrived.notify_all();
      return;
    }
    Next();
  }
  void OnDone() override { delete this; }
  // Writes the rest (a held stream).
  void Release() { Next(); }

 private:
  void Next() {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.empty()) return Finish(grpc::Status::OK);
    message_ = std::move(queue_.front());
    queue_.erase(queue_.begin());
    StartWrite(&message_);
  }

  HeldStream* held_;
  int written_ = 0;
  std::mutex mu_;
  std::vector<RelayResponse> queue_;
  RelayResponse message_;
};

// A request whose body names the model "hold" gets a stream held after its first event.
class StreamingRelay final : public byok::relay::v1::Relay::CallbackService {
 public:
  grpc::ServerWriteReactor<RelayResponse>* Relay(grpc::CallbackServerContext*,
                                                 const RelayRequest* request) override {
    return new ThreeEvents(absl::StrContains(request->body(), "\"hold\"") ? &held : nullptr);
  }

  // Waits for the held stream to have written its first event, and releases it.
  bool ReleaseHeld() {
    std::unique_lock<std::mutex> lock(held.mu);
    if (!held.arrived.wait_for(lock, std::chrono::seconds(10), [&] { return held.stream != nullptr; })) {
      return false;
    }
    std::exchange(held.stream, nullptr)->Release();
    return true;
  }

  HeldStream held;
};

class HttpVersionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int relay_port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &relay_port);
    builder.RegisterService(&relay_);
    // The relay routes ask the vault for the token first: the same server answers as the vault.
    builder.RegisterService(&vault_);
    grpc_server_ = builder.BuildAndStart();
    ASSERT_NE(grpc_server_, nullptr);
    auto config = LoadGatewayConfig(
        Env({{"PORT", "0"},
             {"BYOK_GATEWAY_HOST", "127.0.0.1"},
             {"BYOK_RELAY_ADDR", absl::StrCat("127.0.0.1:", relay_port)},
             {"BYOK_VAULT_ADDR", absl::StrCat("127.0.0.1:", relay_port)}}));
    ASSERT_TRUE(config.ok());
    auto server = GatewayServer::Start(*std::move(config));
    ASSERT_TRUE(server.ok()) << server.status();
    gateway_ = *std::move(server);
  }
  void TearDown() override {
    {
      // A stream still held would keep the server's shutdown waiting.
      std::lock_guard<std::mutex> lock(relay_.held.mu);
      if (relay_.held.stream != nullptr) std::exchange(relay_.held.stream, nullptr)->Release();
    }
    if (gateway_) gateway_->Shutdown(absl::Seconds(1));
    if (grpc_server_) grpc_server_->Shutdown(std::chrono::system_clock::now());
  }

  StreamingRelay relay_;
  TokenVault vault_;
  std::unique_ptr<grpc::Server> grpc_server_;
  std::unique_ptr<GatewayServer> gateway_;
};

TEST_F(HttpVersionTest, Http10ClientGetsTheStreamUnchunkedUntilClose) {
  for (const std::string connection : {"", "Connection: keep-alive\r\n"}) {
    auto client = TestHttpClient::Connect(gateway_->port());
    ASSERT_TRUE(client.ok());
    std::string body = "{\"model\":\"m\"}";
    ASSERT_TRUE((*client)
                    ->WriteRaw(absl::StrCat("POST /relay/openai/v1/chat/completions HTTP/1.0\r\n"
                                            "x-relay-token: tok\r\n",
                                            connection,
                                            "Content-Type: application/json\r\nContent-Length: ",
                                            body.size(), "\r\n\r\n", body))
                    .ok());
    auto r = (*client)->ReadResponse();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->Header("content-type"), "text/event-stream");
    EXPECT_FALSE(r->Has("transfer-encoding")) << r->Header("transfer-encoding");
    EXPECT_FALSE(r->Has("content-length"));
    EXPECT_EQ(r->Header("connection"), "close");
    // Chunk sizes in the body would show here: the body is exactly the events. Without a length or
    // chunks, the client's parser finished it only because the connection closed.
    EXPECT_EQ(r->body, kEvents);
  }
}

TEST_F(HttpVersionTest, Http11ClientGetsChunksAndKeepsTheConnection) {
  auto client = TestHttpClient::Connect(gateway_->port());
  ASSERT_TRUE(client.ok());
  for (int i = 0; i < 2; ++i) {
    byok::testing::TestRequest request;
    request.method = "POST";
    request.target = "/relay/openai/v1/chat/completions";
    request.headers = {{"x-relay-token", "tok"}, {"Content-Type", "application/json"}};
    request.body = "{\"model\":\"m\"}";
    ASSERT_TRUE((*client)->Send(request).ok());
    auto r = (*client)->ReadResponse();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->Header("transfer-encoding"), "chunked");
    EXPECT_EQ(r->body, kEvents);
  }
}

TEST_F(HttpVersionTest, ARequestSentWhileAResponseStreamsIsAnsweredAfterIt) {
  // The session watches a streaming connection without a read buffer of its own; what the client
  // sends meanwhile (its next request) is kept and read once the stream ended.
  auto client = TestHttpClient::Connect(gateway_->port());
  ASSERT_TRUE(client.ok());
  byok::testing::TestRequest request;
  request.method = "POST";
  request.target = "/relay/openai/v1/chat/completions";
  request.headers = {{"x-relay-token", "tok"}, {"Content-Type", "application/json"}};
  request.body = "{\"model\":\"hold\"}";
  ASSERT_TRUE((*client)->Send(request).ok());
  auto head = (*client)->ReadHead();
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(head->status, 200);
  auto first = (*client)->ReadBodyPiece();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, "data: {\"n\":0}\n\n");

  request.body = "{\"model\":\"m\"}";
  ASSERT_TRUE((*client)->Send(request).ok());
  ASSERT_TRUE(relay_.ReleaseHeld());
  std::string body = *first;
  while (true) {
    auto piece = (*client)->ReadBodyPiece();
    ASSERT_TRUE(piece.ok()) << piece.status();
    if (piece->empty()) break;
    body += *piece;
  }
  EXPECT_EQ(body, kEvents);

  auto second = (*client)->ReadResponse();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(second->body, kEvents);
}

}  // namespace
}  // namespace byok::gateway
