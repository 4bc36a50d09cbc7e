// Routes about users and their tokens: POST /users, POST /tokens/revoke, DELETE /users, GET /stats and
// GET /stats/{app_id}.
#include <nlohmann/json.hpp>

#include "services/gateway/api.h"
#include "services/gateway/handlers_common.h"

namespace byok::gateway {
namespace {

using byok::vault::v1::CreateUserRequest;
using byok::vault::v1::CreateUserResponse;
using byok::vault::v1::DeleteUserRequest;
using byok::vault::v1::DeleteUserResponse;
using byok::vault::v1::GetStatsRequest;
using byok::vault::v1::GetStatsResponse;
using byok::vault::v1::RevokeTokenRequest;
using byok::vault::v1::RevokeTokenResponse;

// The app id apps of the original used when they sent none.
constexpr char kDefaultAppId[] = "default";

nlohmann::json StatsJson(const GetStatsResponse& s) {
  nlohmann::json providers = nlohmann::json::array();
  for (const auto& p : s.providers()) {
    providers.push_back({{"provider", p.provider()},
                         {"requests", p.requests()},
                         {"errors", p.errors()},
                         {"avg_latency_ms", p.avg_latency_ms()},
                         {"input_tokens", p.input_tokens()},
                         {"output_tokens", p.output_tokens()}});
  }
  nlohmann::json models = nlohmann::json::array();
  for (const auto& m : s.top_models()) {
    models.push_back({{"model", m.model()}, {"requests", m.requests()}});
  }
  return {{"total_requests", s.total_requests()},
          {"total_errors", s.total_errors()},
          {"requests_last_7_days", s.requests_last_7_days()},
          {"requests_last_30_days", s.requests_last_30_days()},
          {"input_tokens", s.input_tokens()},
          {"output_tokens", s.output_tokens()},
          {"users", s.users()},
          {"providers", std::move(providers)},
          {"top_models", std::move(models)}};
}

}  // namespace

void Api::CreateUser(Call call) {
  HttpResponse error;
  std::optional<std::string> app_id = StringField(*call.body, "app_id", false, &error);
  if (!app_id.has_value() && error.status != 200) return call.writer->Send(std::move(error));
  CreateUserRequest request;
  request.set_app_id(app_id.has_value() ? *app_id : kDefaultAppId);
  CallUnary<CreateUserRequest, CreateUserResponse>(
      backends_.vault(), backends_.calls(), config_.rpc_timeout, std::move(request),
      BYOK_VAULT_CALL(CreateUser), [writer = call.writer](RpcResult<CreateUserResponse> result) {
        if (result.error) return writer->Send(ResponseForRpcError(*result.error));
        // 200 as in the original, which apps may check for.
        writer->Send(Ok({{"token", result.response.token()},
                         {"expires_at", IsoTime(result.response.expires_at(),
                                                result.response.has_expires_at())}}));
      });
}

void Api::RevokeToken(Call call) {
  RevokeTokenRequest request;
  request.set_token(call.token);
  CallUnary<RevokeTokenRequest, RevokeTokenResponse>(
      backends_.vault(), backends_.calls(), config_.rpc_timeout, std::move(request),
      BYOK_VAULT_CALL(RevokeToken), [writer = call.writer](RpcResult<RevokeTokenResponse> result) {
        if (result.error) return writer->Send(ResponseForRpcError(*result.error));
        writer->Send(Ok({{"ok", true}}));
      });
}

void Api::DeleteUser(Call call) {
  DeleteUserRequest request;
  request.set_token(call.token);
  CallUnary<DeleteUserRequest, DeleteUserResponse>(
      backends_.vault(), backends_.calls(), config_.rpc_timeout, std::move(request),
      BYOK_VAULT_CALL(DeleteUser), [writer = call.writer](RpcResult<DeleteUserResponse> result) {
        if (result.error) return writer->Send(ResponseForRpcError(*result.error));
        writer->Send(Ok({{"ok", true}}));
      });
}

void Api::Stats(Call call, bool app) {
  GetStatsRequest request;
  if (app) {
    std::optional<std::string> app_id = DecodeSegment(call.match.params["app_id"]);
    if (!app_id.has_value()) return call.writer->Send(JsonError(400, "malformed app id"));
    request.set_app_id(*app_id);
  } else {
    request.set_token(call.token);
  }
  CallUnary<GetStatsRequest, GetStatsResponse>(
      backends_.vault(), backends_.calls(), config_.rpc_timeout, std::move(request),
      BYOK_VAULT_CALL(GetStats), [writer = call.writer](RpcResult<GetStatsResponse> result) {
        if (result.error) return writer->Send(ResponseForRpcError(*result.error));
        writer->Send(Ok(StatsJson(result.response)));
      });
}

}  // namespace byok::gateway
