// The gateway's bridge from the Relay gRPC stream to the browser, in-process, against a scripted Relay
// service (a test double for the relay's wire behaviour; the real relay is exercised in tests/e2e):
// streamed pieces, SSE error events, truncation, keep-alive after a stream, cancellation when the
// browser leaves, and how UNAVAILABLE maps.
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "byok/relay/v1/relay.grpc.pb.h"
#include "byok/vault/v1/vault.grpc.pb.h"
#include "common/grpc_status.h"
#include "services/gateway/gateway_server.h"
#include "tests/gateway/http_test_client.h"
#include "tests/gateway/token_vault.h"
#include "tests/testing/process.h"

namespace byok::gateway {
namespace {

using byok::relay::v1::RelayManyRequest;
using byok::relay::v1::RelayManyResponse;
using byok::relay::v1::RelayRequest;
using byok::relay::v1::RelayResponse;
using byok::testing::Fetch;
using byok::testing::TestHttpClient;
using byok::testing::TestRequest;
using ::testing::HasSubstr;

// Records when the gateway cancelled a stream.
struct CancelLog {
  absl::Mutex mu;
  std::optional<absl::Time> cancelled ABSL_GUARDED_BY(mu);

  void Mark() {
    absl::MutexLock lock(&mu);
    if (!cancelled) cancelled = absl::Now();
  }
  std::optional<absl::Time> Wait(absl::Duration timeout) {
    absl::MutexLock lock(&mu);
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return cancelled.has_value(); };
    mu.AwaitWithTimeout(absl::Condition(&ready), timeout);
    return cancelled;
  }
};

// The script a request names: its query's first parameter, "script=<name>" (the path must be one the
// provider allows, so the gateway's path check lets it through).
std::string ScriptOf(const RelayRequest& request) {
  absl::string_view q = request.query();
  if (!absl::ConsumePrefix(&q, "script=")) return "";
  return absl::StrCat("/", q.substr(0, q.find('&')));
}

// Plays a script chosen by the request: a head, pieces, then a final status.
class ScriptedWriter : public grpc::ServerWriteReactor<RelayResponse> {
 public:
  ScriptedWriter(const RelayRequest& request, CancelLog* log) : log_(log) {
    std::string path = ScriptOf(request);
    bool sse = path != "/json" && path != "/json-break" && path.rfind("/whole", 0) != 0;
    auto* head = queue_.emplace_back().mutable_head();
    head->set_status(200);
    auto* ct = head->add_headers();
    ct->set_name("Content-Type");
    ct->set_value(sse ? "text/event-stream" : "application/json");
    auto* cookie = head->add_headers();
    cookie->set_name("Set-Cookie");
    cookie->set_value("provider=1");
    for (int i = 0; i < 3; ++i) {
      queue_.emplace_back().set_body(sse ? absl::StrCat("data: {\"n\":", i, "}\n\n")
                                         : absl::StrCat("{\"part\":", i, "}"));
    }
    if (path.rfind("/whole", 0) == 0) {
      // A declared length: 3 parts of 10 bytes.
      queue_.front().mutable_head()->set_content_length(30);
    }
    if (path == "/sse-break" || path == "/json-break" || path == "/whole-break") {
      final_ = grpc::Status(grpc::StatusCode::ABORTED, "the provider's response broke off");
    } else if (path == "/hold") {
      hold_ = true;
      queue_.resize(2);
    } else if (path == "/unavailable") {
      queue_.clear();
      final_ = ToGrpcStatus(
          WithReason(absl::UnavailableError("cannot connect to the provider: Connection refused"),
                     reason::kUpstreamUnreachable, kRelayDomain));
    } else if (path == "/vault-down") {
      queue_.clear();
      // The relay says which side failed by the reason (docs/grpc.md), not by its text.
      final_ = ToGrpcStatus(WithReason(absl::UnavailableError("could not resolve the key"),
                                       reason::kVaultUnavailable, kRelayDomain));
    }
    Next();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return Done(grpc::Status::CANCELLED);
    Next();
  }
  void OnCancel() override {
    log_->Mark();
    Done(grpc::Status::CANCELLED);
  }
  void OnDone() override { delete this; }

 private:
  void Next() {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_) return;
    if (queue_.empty()) {
      if (hold_) return;  // until cancelled
      finished_ = true;
      Finish(final_);
      return;
    }
    message_ = std::move(queue_.front());
    queue_.erase(queue_.begin());
    StartWrite(&message_);
  }
  void Done(const grpc::Status& status) {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_) return;
    finished_ = true;
    Finish(status);
  }

  CancelLog* log_;
  std::mutex mu_;
  std::vector<RelayResponse> queue_;
  RelayResponse message_;
  grpc::Status final_ = grpc::Status::OK;
  bool hold_ = false;
  bool finished_ = false;
};

// Serves Relay only, as a relay older than RelayMany does: the gateway's RelayMany stream is answered
// UNIMPLEMENTED and its requests go as Relay calls of their own, so every test here goes that way.
class ScriptedRelay final : public byok::relay::v1::Relay::CallbackService {
 public:
  grpc::ServerWriteReactor<RelayResponse>* Relay(grpc::CallbackServerContext* /*ctx*/,
                                                 const RelayRequest* request) override {
    {
      absl::MutexLock lock(&mu_);
      last_ = *request;
    }
    return new ScriptedWriter(*request, &cancels);
  }

  RelayRequest last() {
    absl::MutexLock lock(&mu_);
    return last_;
  }

  CancelLog cancels;

 private:
  absl::Mutex mu_;
  RelayRequest last_ ABSL_GUARDED_BY(mu_);
};

// Ends every RelayMany stream at once with UNAVAILABLE, before its headers (as a relay that cannot take
// the stream just then), and serves Relay calls as ScriptedRelay does.
class StreamRefusingRelay final : public byok::relay::v1::Relay::CallbackService {
 public:
  grpc::ServerWriteReactor<RelayResponse>* Relay(grpc::CallbackServerContext* /*ctx*/,
                                                 const RelayRequest* request) override {
    return new ScriptedWriter(*request, &cancels);
  }
  grpc::ServerBidiReactor<RelayManyRequest, RelayManyResponse>* RelayMany(
      grpc::CallbackServerContext* /*ctx*/) override {
    class Refused final : public grpc::ServerBidiReactor<RelayManyRequest, RelayManyResponse> {
     public:
      Refused() { Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "not now")); }
      void OnDone() override { delete this; }
    };
    ++streams_refused;
    return new Refused();
  }

  CancelLog cancels;
  std::atomic<int> streams_refused{0};
};

class RelayBridgeTest : public ::testing::Test {
 protected:
  // The relay's gRPC service under test.
  virtual grpc::Service* RelayService() { return &relay_; }

  void SetUp() override {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    int relay_port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &relay_port);
    builder.RegisterService(RelayService());
    grpc_server_ = builder.BuildAndStart();
    ASSERT_NE(grpc_server_, nullptr);
    // As a real relay linked to its vault: its Relay service is SERVING.
    grpc_server_->GetHealthCheckService()->SetServingStatus("byok.relay.v1.Relay", true);
    grpc::ServerBuilder vault_builder;
    int vault_port = 0;
    vault_builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &vault_port);
    vault_builder.RegisterService(&vault_);
    vault_server_ = vault_builder.BuildAndStart();
    ASSERT_NE(vault_server_, nullptr);
    auto config = LoadGatewayConfig(Env({{"PORT", "0"},
                                         {"BYOK_GATEWAY_HOST", "127.0.0.1"},
                                         {"BYOK_RELAY_ADDR", absl::StrCat("127.0.0.1:", relay_port)},
                                         {"BYOK_VAULT_ADDR", absl::StrCat("127.0.0.1:", vault_port)},
                                         {"BYOK_HEALTH_TIMEOUT_MS", "500"}}));
    ASSERT_TRUE(config.ok());
    auto server = GatewayServer::Start(*std::move(config));
    ASSERT_TRUE(server.ok()) << server.status();
    gateway_ = *std::move(server);
  }
  void TearDown() override {
    if (gateway_) gateway_->Shutdown(absl::Seconds(1));
    if (grpc_server_) grpc_server_->Shutdown(std::chrono::system_clock::now());
    if (vault_server_) vault_server_->Shutdown(std::chrono::system_clock::now());
  }

  TestRequest Relay(const std::string& path) {
    TestRequest r;
    r.method = "POST";
    r.target = absl::StrCat("/relay/openai/v1/chat/completions?script=", path.substr(1), "&x=1");
    r.headers = {{"x-relay-token", "tok"}, {"Authorization", "Bearer hostile"},
                 {"Cookie", "session=1"}, {"anthropic-beta", "tools-2024"}};
    r.headers.emplace_back("Content-Type", "application/json");
    r.body = "{\"model\":\"m\"}";
    return r;
  }

  ScriptedRelay relay_;
  TokenVault vault_;
  std::unique_ptr<grpc::Server> grpc_server_;
  std::unique_ptr<grpc::Server> vault_server_;
  std::unique_ptr<GatewayServer> gateway_;
};

// A RelayMany stream that fails before the relay's headers came carried none of its requests (the
// gateway writes frames only after them): they go as Relay calls of their own, whatever the code.
class RelayBridgeStreamRefusedTest : public RelayBridgeTest {
 protected:
  grpc::Service* RelayService() override { return &refusing_; }
  StreamRefusingRelay refusing_;
};

TEST_F(RelayBridgeStreamRefusedTest, RequestsOfAStreamThatFailedBeforeTheRelaysHeadersGoAsCalls) {
  auto client = TestHttpClient::Connect(gateway_->port());
  ASSERT_TRUE(client.ok());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE((*client)->Send(Relay("/json")).ok());
    auto r = (*client)->ReadResponse();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(r->body, "{\"part\":0}{\"part\":1}{\"part\":2}");
  }
  EXPECT_GE(refusing_.streams_refused.load(), 1);
}

TEST_F(RelayBridgeTest, StreamsPiecesWithSseHeadersAndKeepsTheConnection) {
  auto client = TestHttpClient::Connect(gateway_->port());
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE((*client)->Send(Relay("/sse")).ok());
  auto r = (*client)->ReadResponse();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("content-type"), "text/event-stream");
  EXPECT_EQ(r->Header("cache-control"), "no-cache");
  EXPECT_EQ(r->Header("x-accel-buffering"), "no");
  EXPECT_FALSE(r->Has("set-cookie"));
  EXPECT_EQ(r->body, "data: {\"n\":0}\n\ndata: {\"n\":1}\n\ndata: {\"n\":2}\n\n");

  // What the relay was asked: the path as sent, the query apart, the body, and only the headers of the
  // closed list (no gateway credential or cookie).
  RelayRequest seen = relay_.last();
  EXPECT_EQ(seen.token(), "tok");
  EXPECT_EQ(seen.provider(), "openai");
  EXPECT_EQ(seen.path(), "v1/chat/completions");
  EXPECT_EQ(seen.query(), "script=sse&x=1");
  EXPECT_EQ(seen.method(), "POST");
  EXPECT_FALSE(seen.unified());
  EXPECT_EQ(seen.body(), "{\"model\":\"m\"}");
  std::vector<std::string> names;
  for (const auto& h : seen.headers()) names.push_back(h.name());
  EXPECT_THAT(names, ::testing::UnorderedElementsAre("anthropic-beta", "content-type"));

  // The same connection serves the next request.
  ASSERT_TRUE((*client)->Send(Relay("/json")).ok());
  r = (*client)->ReadResponse();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "{\"part\":0}{\"part\":1}{\"part\":2}");
}

TEST_F(RelayBridgeTest, TheUnifiedBodyGoesToTheRelayUnrouted) {
  // The relay routes POST /relay: the gateway sends the body as the client sent it, naming no provider,
  // path or model.
  const std::string body = R"({ "model" : "Anthropic/claude-x", "t": 1.50, "messages":[] })";
  TestRequest request;
  request.method = "POST";
  request.target = "/relay";
  request.headers = {{"x-relay-token", "tok"}, {"Content-Type", "application/json"}, {"Cookie", "a=b"}};
  request.body = body;
  auto r = Fetch(gateway_->port(), request);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200) << r->body;
  RelayRequest seen = relay_.last();
  EXPECT_TRUE(seen.unified());
  EXPECT_EQ(seen.provider(), "");
  EXPECT_EQ(seen.path(), "");
  EXPECT_EQ(seen.model(), "");
  EXPECT_EQ(seen.body(), body);
  std::vector<std::string> names;
  for (const auto& h : seen.headers()) names.push_back(h.name());
  EXPECT_THAT(names, ::testing::ElementsAre("content-type"));

  // A body the gateway does not read as JSON is {} (compat.md §3.14: the original's 400 for the model).
  request.headers = {{"x-relay-token", "tok"}, {"Content-Type", "text/plain"}};
  r = Fetch(gateway_->port(), request);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(relay_.last().body(), "{}");
  request.headers = {{"x-relay-token", "tok"}, {"Content-Type", "application/json"}};
  request.body = "";
  r = Fetch(gateway_->port(), request);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(relay_.last().body(), "{}");
}

TEST_F(RelayBridgeTest, AnEmptyJsonBodyOnTheUnifiedRouteIsSentAsAnEmptyObject) {
  // The gateway only checks a relay body; the shape of what it checked decides: an object or array
  // with anything in it goes as sent, an empty one (or a body not read as JSON) goes as {}.
  struct Case {
    std::string target;
    std::string content_type;
    std::string body;
    std::string sent;
  };
  for (const Case& c : std::vector<Case>{
           {"/relay", "application/json", "[]", "{}"},
           {"/relay", "application/json", " { }\n", "{}"},
           {"/relay", "application/json; charset=utf-8", "[[]]", "[[]]"},
           {"/relay", "application/json", R"([{"model":"gpt-4o"}])", R"([{"model":"gpt-4o"}])"},
           {"/Relay", "application/json", R"({"model":"gpt-4o"})", R"({"model":"gpt-4o"})"},
           {"/relay/", "application/json", R"({"model":"gpt-4o"})", R"({"model":"gpt-4o"})"},
           {"/relay/", "text/plain", R"({"model":"gpt-4o"})", "{}"},
       }) {
    TestRequest request;
    request.method = "POST";
    request.target = c.target;
    request.headers = {{"x-relay-token", "tok"}, {"Content-Type", c.content_type}};
    request.body = c.body;
    auto r = Fetch(gateway_->port(), request);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 200) << c.target << " " << c.body << " " << r->body;
    EXPECT_TRUE(relay_.last().unified()) << c.target;
    EXPECT_EQ(relay_.last().body(), c.sent) << c.target << " " << c.content_type << " " << c.body;
  }
}

TEST_F(RelayBridgeTest, ProviderBreakAfterStartIsAnSseErrorEvent) {
  auto r = Fetch(gateway_->port(), Relay("/sse-break"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_THAT(r->body, HasSubstr("data: {\"n\":2}\n\n"));
  EXPECT_THAT(r->body,
              HasSubstr("event: error\ndata: {\"error\":\"Stream interrupted by provider\"}\n\n"));
}

TEST_F(RelayBridgeTest, NonSseBreakTruncatesTheBody) {
  auto r = Fetch(gateway_->port(), Relay("/json-break"));
  // No last chunk: the client sees an incomplete body, never a complete-looking one.
  EXPECT_FALSE(r.ok());
}

TEST_F(RelayBridgeTest, AnAnswerOfDeclaredLengthIsSentWholeWithContentLength) {
  auto r = Fetch(gateway_->port(), Relay("/whole"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("content-length"), "30");
  EXPECT_FALSE(r->Has("transfer-encoding"));
  EXPECT_FALSE(r->Has("set-cookie"));
  EXPECT_EQ(r->body, "{\"part\":0}{\"part\":1}{\"part\":2}");
}

TEST_F(RelayBridgeTest, AStreamWithoutDeclaredLengthIsChunked) {
  auto r = Fetch(gateway_->port(), Relay("/json"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->Header("transfer-encoding"), "chunked");
  EXPECT_FALSE(r->Has("content-length"));
}

TEST_F(RelayBridgeTest, ABreakBeforeAnythingWasWrittenIsACleanError) {
  // The gathered answer never reached the browser: it gets a JSON error, not a truncated body.
  auto r = Fetch(gateway_->port(), Relay("/whole-break"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 502);
  EXPECT_EQ(nlohmann::json::parse(r->body)["error"], "Failed to reach AI provider");
}

TEST_F(RelayBridgeTest, BrowserLeavingCancelsTheRpcAtOnce) {
  auto client = TestHttpClient::Connect(gateway_->port());
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE((*client)->Send(Relay("/hold")).ok());
  ASSERT_TRUE((*client)->ReadHead().ok());
  auto piece = (*client)->ReadBodyPiece();
  ASSERT_TRUE(piece.ok());
  EXPECT_EQ(*piece, "data: {\"n\":0}\n\n");
  absl::Time left = absl::Now();
  (*client)->Close();
  auto cancelled = relay_.cancels.Wait(absl::Seconds(5));
  ASSERT_TRUE(cancelled.has_value());
  EXPECT_LT(*cancelled - left, absl::Milliseconds(100));
}

TEST_F(RelayBridgeTest, UnavailableFromAReachableRelayIs502UnlessTheVaultIsDown) {
  auto r = Fetch(gateway_->port(), Relay("/unavailable"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 502);
  // The relay's own wording of a transport failure stays inside: the browser gets the fixed phrase.
  EXPECT_EQ(nlohmann::json::parse(r->body)["error"], "Failed to reach AI provider");
  r = Fetch(gateway_->port(), Relay("/vault-down"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(nlohmann::json::parse(r->body)["error"], "vault unavailable");
}

TEST_F(RelayBridgeTest, TheVaultVouchesForTheTokenBeforeTheRelayIsAsked) {
  TestRequest request = Relay("/json");
  request.headers = {{"x-relay-token", "not-the-token"}, {"Content-Type", "application/json"}};
  auto r = Fetch(gateway_->port(), request);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(nlohmann::json::parse(r->body)["error"], "Invalid or expired token");
  EXPECT_EQ(relay_.last().path(), "");  // the relay never heard of it

  request.headers = {{"Content-Type", "application/json"}};
  r = Fetch(gateway_->port(), request);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(nlohmann::json::parse(r->body)["error"], "x-relay-token header required");

  // Without x-relay-token, Authorization: Bearer carries the token (the original's framework packages).
  request.headers = {{"Authorization", "Bearer tok"}, {"Content-Type", "application/json"}};
  r = Fetch(gateway_->port(), request);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(relay_.last().token(), "tok");
  // Asked for the two tokens sent; a request without one never reaches the vault.
  EXPECT_EQ(vault_.calls.load(), 2);
}

TEST_F(RelayBridgeTest, HealthSeesTheRelayServingAndTheVaultDown) {
  vault_server_->Shutdown(std::chrono::system_clock::now());
  vault_server_.reset();
  auto r = Fetch(gateway_->port(), "GET", "/health");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);
  auto health = nlohmann::json::parse(r->body);
  EXPECT_EQ(health["checks"]["relay"], "ok");
  EXPECT_EQ(health["checks"]["vault"], "unavailable");
}

// A relay that is up but not linked to its vault (its Relay service NOT_SERVING) cannot relay: /health
// is 503 although the vault and the relay both answer, and says why.
TEST_F(RelayBridgeTest, HealthIsNotOkWhileTheRelayCannotReachTheVault) {
  grpc_server_->GetHealthCheckService()->SetServingStatus("byok.relay.v1.Relay", false);
  auto r = Fetch(gateway_->port(), "GET", "/health");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);
  auto health = nlohmann::json::parse(r->body);
  EXPECT_EQ(health["status"], "degraded");
  EXPECT_EQ(health["checks"]["vault"], "ok");
  EXPECT_EQ(health["checks"]["relay"], "ok");
  EXPECT_EQ(health["warnings"], nlohmann::json::array({"Relay cannot reach the vault yet"}));

  grpc_server_->GetHealthCheckService()->SetServingStatus("byok.relay.v1.Relay", true);
  r = Fetch(gateway_->port(), "GET", "/health");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200) << r->body;
}

}  // namespace
}  // namespace byok::gateway
