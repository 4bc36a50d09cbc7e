// Routes about users and their tokens: POST /users, POST /tokens/revoke, DELETE /users, GET /stats and
// GET /stats/{app_id}. Shapes and phrases as compat.md §3.5 and §3.10-3.13.
#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "services/gateway/api/api.h"
#include "services/gateway/api/handlers_common.h"
#include "services/gateway/api/phrases.h"

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
using nlohmann::ordered_json;

// Reads app_id as the original does: falsy (absent, null, false, 0, "") is "required"; a number is kept
// as its text; true, an object or an array fail (the original's 500, kept with a JSON body).
std::optional<HttpResponse> AppIdFrom(const nlohmann::json& body, std::string* app_id) {
  auto it = body.is_object() ? body.find("app_id") : body.end();
  if (!body.is_object() || it == body.end() || it->is_null() || (it->is_boolean() && !*it) ||
      (it->is_number() && it->get<double>() == 0) ||
      (it->is_string() && it->get_ref<const std::string&>().empty())) {
    return JsonError(400, phrase::kAppIdRequired, "app_id_required");
  }
  if (it->is_string()) {
    *app_id = it->get<std::string>();
  } else if (it->is_number()) {
    *app_id = it->dump();
  } else {
    return JsonError(500, "app_id must be a string or a number", "invalid_app_id");
  }
  return std::nullopt;
}

// error_count / total rounded to 4 places, as a whole number when it is one (0, 1).
ordered_json ErrorRate(int64_t errors, int64_t total) {
  if (total <= 0) return 0;
  double rate = std::round(static_cast<double>(errors) / static_cast<double>(total) * 10000) / 10000;
  if (rate == std::floor(rate)) return static_cast<int64_t>(rate);
  return rate;
}

// The fields §3.12 and §3.13 share, in the original's order, then our additions (token counts, daily).
void AddCounts(const GetStatsResponse& s, ordered_json* out) {
  (*out)["total"] = s.total_requests();
  (*out)["last_7d"] = s.requests_last_7_days();
  (*out)["last_30d"] = s.requests_last_30_days();
  (*out)["error_count"] = s.total_errors();
  (*out)["error_rate"] = ErrorRate(s.total_errors(), s.total_requests());
  std::vector<const byok::vault::v1::ProviderStats*> providers;
  for (const auto& p : s.providers()) providers.push_back(&p);
  std::stable_sort(providers.begin(), providers.end(),
                   [](const auto* a, const auto* b) { return a->requests() > b->requests(); });
  ordered_json by_provider = ordered_json::object();
  for (const auto* p : providers) {
    by_provider[p->provider()] = {{"total", p->requests()},
                                  {"errors", p->errors()},
                                  {"input_tokens", p->input_tokens()},
                                  {"output_tokens", p->output_tokens()}};
  }
  (*out)["providers"] = std::move(by_provider);
  ordered_json models = ordered_json::array();
  for (const auto& m : s.top_models()) {
    if (m.model().empty() || models.size() >= 10) continue;
    // The original's two fields first, then the tokens the provider reported (streams included).
    models.push_back({{"model", m.model()},
                      {"total", m.requests()},
                      {"input_tokens", m.input_tokens()},
                      {"output_tokens", m.output_tokens()}});
  }
  (*out)["top_models"] = std::move(models);
}

void AddExtras(const GetStatsResponse& s, ordered_json* out) {
  (*out)["input_tokens"] = s.input_tokens();
  (*out)["output_tokens"] = s.output_tokens();
  ordered_json daily = ordered_json::array();
  for (const auto& d : s.daily()) {
    daily.push_back({{"day", d.day()},
                     {"provider", d.provider()},
                     {"requests", d.requests()},
                     {"errors", d.errors()},
                     {"input_tokens", d.input_tokens()},
                     {"output_tokens", d.output_tokens()}});
  }
  (*out)["daily"] = std::move(daily);
}

}  // namespace

void Api::CreateUser(Call call) {
  std::string app_id;
  if (auto refused = AppIdFrom(*call.body, &app_id)) return call.writer->Send(*std::move(refused));
  CreateUserRequest request;
  request.set_app_id(std::move(app_id));
  CallUnary<CreateUserRequest, CreateUserResponse>(
      backends_.vault(), backends_.calls(), config_.rpc_timeout, std::move(request),
      BYOK_VAULT_CALL(CreateUser), [writer = call.writer](RpcResult<CreateUserResponse> result) {
        if (result.error) return writer->Send(ResponseForRpcError(*result.error));
        const CreateUserResponse& r = result.response;
        writer->Send(Ok({{"token", r.token()},
                         {"expires_at", r.has_expires_at() ? ordered_json(EpochMillis(r.expires_at()))
                                                           : ordered_json(nullptr)}}));
      });
}

void Api::RevokeToken(Call call) {
  RevokeTokenRequest request;
  request.set_token(call.token);
  CallUnary<RevokeTokenRequest, RevokeTokenResponse>(
      backends_.vault(), backends_.calls(), config_.rpc_timeout, std::move(request),
      BYOK_VAULT_CALL(RevokeToken),
      [cache = token_cache_, token = call.token, writer = call.writer](RpcResult<RevokeTokenResponse> result) {
        // Dropped here at once (after any outcome: a failed revocation may still have happened);
        // other gateways hear it from the vault's change stream.
        if (cache != nullptr) cache->Forget(token);
        if (result.error) return writer->Send(ResponseForRpcError(*result.error));
        writer->Send(Ok({{"ok", true}, {"message", phrase::kRevoked}}));
      });
}

void Api::DeleteUser(Call call) {
  DeleteUserRequest request;
  request.set_token(call.token);
  // After the usage records of responses that ended before it, which it erases too.
  backends_.AfterUsageStored([this, token = std::move(call.token), writer = std::move(call.writer),
                              request = std::move(request)]() mutable {
    CallUnary<DeleteUserRequest, DeleteUserResponse>(
        backends_.vault(), backends_.calls(), config_.rpc_timeout, std::move(request),
        BYOK_VAULT_CALL(DeleteUser),
        [cache = token_cache_, token = std::move(token), writer = std::move(writer)](
            RpcResult<DeleteUserResponse> result) {
          if (cache != nullptr) cache->Forget(token);
          if (result.error) return writer->Send(ResponseForRpcError(*result.error));
          writer->Send(Ok({{"ok", true}, {"message", phrase::kUserDeleted}}));
        });
  });
}

void Api::Stats(Call call, bool app) {
  GetStatsRequest request;
  std::string app_id;
  if (app) {
    // Past the APP_SECRET check, which passes when none is configured: then operator stats are closed.
    if (!config_.app_secret.has_value()) {
      return call.writer->Send(JsonError(503, phrase::kOperatorStatsNeedSecret, "operator_stats_closed"));
    }
    app_id = DecodeSegment(call.match.params["app_id"]).value_or("");
    request.set_app_id(app_id);
  } else {
    request.set_token(call.token);
  }
  // After the usage records of responses that ended before it: GET /stats counts those (compat.md).
  backends_.AfterUsageStored([this, writer = std::move(call.writer), app, app_id = std::move(app_id),
                              request = std::move(request)]() mutable {
    SendStats(std::move(request), std::move(writer), app, std::move(app_id));
  });
}

void Api::SendStats(GetStatsRequest request, std::shared_ptr<ResponseWriter> writer, bool app,
                    std::string app_id) {
  CallUnary<GetStatsRequest, GetStatsResponse>(
      backends_.vault(), backends_.calls(), config_.rpc_timeout, std::move(request),
      BYOK_VAULT_CALL(GetStats),
      [writer = std::move(writer), app, app_id = std::move(app_id)](RpcResult<GetStatsResponse> result) {
        if (result.error) return writer->Send(ResponseForRpcError(*result.error));
        const GetStatsResponse& s = result.response;
        ordered_json body = ordered_json::object();
        if (app) {
          body["app_id"] = app_id;
          body["user_count"] = s.users();
        }
        AddCounts(s, &body);
        if (!app) {
          body["last_request"] = s.has_last_request()
                                     ? ordered_json(IsoMillis(absl::FromUnixMillis(
                                           EpochMillis(s.last_request()))))
                                     : ordered_json(nullptr);
        }
        AddExtras(s, &body);
        writer->Send(Ok(body));
      });
}

}  // namespace byok::gateway
