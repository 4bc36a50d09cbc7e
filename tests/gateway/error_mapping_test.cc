#include "services/gateway/api/error_mapping.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/grpc_status.h"

namespace byok::gateway {
namespace {

RpcError Error(Backend backend, grpc::StatusCode code, std::string message = "m", bool reached = true,
               std::string why = "") {
  RpcError e;
  e.backend = backend;
  e.code = code;
  e.message = std::move(message);
  e.reached = reached;
  e.reason = std::move(why);
  return e;
}

TEST(ErrorMappingTest, MapsEachCodeAsTheRestApiDocuments) {
  using grpc::StatusCode;
  EXPECT_EQ(HttpStatusForRpcError(Error(Backend::kVault, StatusCode::UNAUTHENTICATED)), 401);
  EXPECT_EQ(HttpStatusForRpcError(Error(Backend::kVault, StatusCode::INVALID_ARGUMENT)), 400);
  EXPECT_EQ(HttpStatusForRpcError(Error(Backend::kRelay, StatusCode::FAILED_PRECONDITION)), 400);
  EXPECT_EQ(HttpStatusForRpcError(Error(Backend::kRelay, StatusCode::PERMISSION_DENIED)), 403);
  EXPECT_EQ(HttpStatusForRpcError(Error(Backend::kRelay, StatusCode::NOT_FOUND)), 404);
  EXPECT_EQ(HttpStatusForRpcError(Error(Backend::kRelay, StatusCode::DEADLINE_EXCEEDED)), 504);
  EXPECT_EQ(HttpStatusForRpcError(Error(Backend::kVault, StatusCode::DEADLINE_EXCEEDED)), 503);
  // The relay timed out waiting for the vault, not for the provider.
  HttpResponse slow_vault = ResponseForRpcError(
      Error(Backend::kRelay, StatusCode::DEADLINE_EXCEEDED, "deadline", true, reason::kVaultUnavailable));
  EXPECT_EQ(slow_vault.status, 503);
  EXPECT_EQ(nlohmann::json::parse(slow_vault.body)["error"], "vault did not answer in time");
  EXPECT_EQ(HttpStatusForRpcError(Error(Backend::kRelay, StatusCode::ABORTED)), 502);
  EXPECT_EQ(HttpStatusForRpcError(Error(Backend::kVault, StatusCode::DATA_LOSS)), 500);
  EXPECT_EQ(HttpStatusForRpcError(Error(Backend::kVault, StatusCode::RESOURCE_EXHAUSTED)), 503);
  EXPECT_EQ(HttpStatusForRpcError(Error(Backend::kVault, StatusCode::CANCELLED)), 503);
}

TEST(ErrorMappingTest, UnavailableSaysWhichSideIsDown) {
  using grpc::StatusCode;
  // The relay answered: the provider could not be reached.
  EXPECT_EQ(HttpStatusForRpcError(Error(Backend::kRelay, StatusCode::UNAVAILABLE, "x", true)), 502);
  // The relay could not be reached at all, or it says the vault is down.
  EXPECT_EQ(HttpStatusForRpcError(Error(Backend::kRelay, StatusCode::UNAVAILABLE, "x", false)), 503);
  EXPECT_EQ(
      HttpStatusForRpcError(
          Error(Backend::kRelay, StatusCode::UNAVAILABLE, "x", true, reason::kVaultUnavailable)),
      503);
  EXPECT_EQ(HttpStatusForRpcError(Error(Backend::kRelay, StatusCode::UNAVAILABLE, "x", true,
                                        reason::kUpstreamUnreachable)),
            502);
  // The reason decides, not the text: a provider's message that mentions the vault stays a 502.
  EXPECT_EQ(HttpStatusForRpcError(Error(Backend::kRelay, StatusCode::UNAVAILABLE,
                                        "the vault is unavailable", true,
                                        reason::kUpstreamUnreachable)),
            502);
  EXPECT_EQ(HttpStatusForRpcError(Error(Backend::kVault, StatusCode::UNAVAILABLE, "x", false)), 503);
  EXPECT_EQ(HttpStatusForRpcError(Error(Backend::kVault, StatusCode::UNAVAILABLE, "x", true)), 503);
}

TEST(ErrorMappingTest, ARefusalOfTheGatewaysOwnIdentityIsAnInternalError) {
  for (const char* why : {reason::kCallerUnauthenticated, reason::kServiceTokenInvalid,
                          reason::kCallerNotAllowed}) {
    for (grpc::StatusCode code :
         {grpc::StatusCode::UNAUTHENTICATED, grpc::StatusCode::PERMISSION_DENIED}) {
      HttpResponse r = ResponseForRpcError(
          Error(Backend::kVault, code, "CreateUser needs a service identity", true, why));
      EXPECT_EQ(r.status, 500) << why;
      auto body = nlohmann::json::parse(r.body);
      EXPECT_EQ(body["error"], "Internal error in the vault") << why;
      EXPECT_EQ(body["code"], "internal") << why;
    }
  }
  // A user's own token failure stays the original's 401.
  HttpResponse expired = ResponseForRpcError(Error(Backend::kVault, grpc::StatusCode::UNAUTHENTICATED,
                                                   "Invalid or expired token", true,
                                                   reason::kTokenExpired));
  EXPECT_EQ(expired.status, 401);
  EXPECT_EQ(nlohmann::json::parse(expired.body)["error"], "Invalid or expired token");
}

TEST(ErrorMappingTest, BodiesAreJsonWithoutInternalDetails) {
  HttpResponse r = ResponseForRpcError(Error(
      Backend::kRelay, grpc::StatusCode::UNAVAILABLE,
      "failed to connect to all addresses; last error: ipv4:10.1.2.3:50052", /*reached=*/false));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(nlohmann::json::parse(r.body),
            nlohmann::json({{"error", "relay unavailable"}, {"code", "service_unavailable"}}));
  EXPECT_EQ(r.headers[0].second, "application/json; charset=utf-8");

  r = ResponseForRpcError(Error(Backend::kVault, grpc::StatusCode::INTERNAL, "sqlite: disk I/O at x"));
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"], "Internal error in the vault");
}

TEST(ErrorMappingTest, TransportTextsNeverReachTheBrowser) {
  // What gRPC itself says when a connection breaks or a call is cut: never shown (issue 15, item 7).
  for (const auto& [code, text] :
       std::vector<std::pair<grpc::StatusCode, std::string>>{
           {grpc::StatusCode::UNAVAILABLE, "recvmsg:Connection reset by peer"},
           {grpc::StatusCode::CANCELLED, "Operation canceled"},
           {grpc::StatusCode::UNKNOWN, "Stream removed"},
           {grpc::StatusCode::RESOURCE_EXHAUSTED, "Received message larger than max (5 vs. 4)"},
           {grpc::StatusCode::DEADLINE_EXCEEDED, "Deadline Exceeded"},
           {grpc::StatusCode::ABORTED, "upstream read: Connection reset by peer"}}) {
    for (Backend backend : {Backend::kVault, Backend::kRelay}) {
      std::string body = ResponseForRpcError(Error(backend, code, text)).body;
      EXPECT_EQ(body.find(text), std::string::npos) << body;
      EXPECT_TRUE(nlohmann::json::parse(body)["error"].is_string());
    }
  }
  // A provider that cannot be reached or times out gets the original's phrases.
  EXPECT_EQ(ClientMessage(Error(Backend::kRelay, grpc::StatusCode::UNAVAILABLE, "recvmsg:x", true)),
            "Failed to reach AI provider");
  EXPECT_EQ(ClientMessage(Error(Backend::kRelay, grpc::StatusCode::DEADLINE_EXCEEDED, "x")),
            "AI provider timed out (30 s). Please retry.");
}

TEST(ErrorMappingTest, ServiceMessagesForClientMistakesPassVerbatim) {
  using grpc::StatusCode;
  for (StatusCode code : {StatusCode::UNAUTHENTICATED, StatusCode::INVALID_ARGUMENT,
                          StatusCode::FAILED_PRECONDITION, StatusCode::PERMISSION_DENIED,
                          StatusCode::NOT_FOUND}) {
    HttpResponse r = ResponseForRpcError(Error(Backend::kVault, code, "Invalid or expired token"));
    EXPECT_EQ(nlohmann::json::parse(r.body)["error"], "Invalid or expired token");
  }
  // Without a message, the code's phrase.
  EXPECT_EQ(ClientMessage(Error(Backend::kVault, StatusCode::UNAUTHENTICATED, "")),
            "Invalid or expired token");
}

TEST(ErrorMappingTest, SseErrorEventIsTheOriginalsFrame) {
  std::string event =
      SseErrorEvent(Error(Backend::kRelay, grpc::StatusCode::ABORTED, "upstream broke off"));
  EXPECT_EQ(event, "event: error\ndata: {\"error\":\"Stream interrupted by provider\"}\n\n");
}

TEST(ErrorMappingTest, ProviderFailuresUseTheOriginalsTexts) {
  using grpc::StatusCode;
  HttpResponse r = ResponseForRpcError(
      Error(Backend::kRelay, StatusCode::UNAVAILABLE, "cannot connect to the provider: ECONNREFUSED 10.0.0.7"));
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"], "Failed to reach AI provider");
  r = ResponseForRpcError(Error(Backend::kRelay, StatusCode::ABORTED, "the provider's response broke off: eof"));
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"], "Failed to reach AI provider");
  r = ResponseForRpcError(Error(Backend::kRelay, StatusCode::DEADLINE_EXCEEDED, "no response headers in 30000 ms"));
  EXPECT_EQ(r.status, 504);
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"], "AI provider timed out (30 s). Please retry.");
  r = ResponseForRpcError(Error(Backend::kRelay, StatusCode::DATA_LOSS, "GCM tag mismatch in row 7"));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"],
            "The stored key for this provider could not be decrypted. Store it again.");
}

TEST(ErrorMappingTest, TheRelaysClientErrorTextsPassAndARefusedModelListsTheAllowedOnes) {
  using grpc::StatusCode;
  const char* no_key = "No API key stored for provider \"openai\". POST /keys/openai first.";
  HttpResponse r = ResponseForRpcError(Error(Backend::kRelay, StatusCode::FAILED_PRECONDITION, no_key));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"], no_key);
  RpcError model = Error(Backend::kRelay, StatusCode::PERMISSION_DENIED,
                         "Model \"gpt-4\" is not permitted on this relay.");
  model.allowed_models = std::vector<std::string>{"gpt-4o", "claude-*"};
  r = ResponseForRpcError(model);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(nlohmann::json::parse(r.body),
            nlohmann::json({{"error", "Model \"gpt-4\" is not permitted on this relay."},
                            {"code", "forbidden"},
                            {"allowed_models", {"gpt-4o", "claude-*"}}}));
}

TEST(JsonErrorTest, InvalidUtf8IsReplacedNotThrown) {
  HttpResponse r = JsonError(404, std::string("no route for GET /\xff\xfe"));
  EXPECT_EQ(r.status, 404);
  EXPECT_TRUE(nlohmann::json::accept(r.body));
}

}  // namespace
}  // namespace byok::gateway
