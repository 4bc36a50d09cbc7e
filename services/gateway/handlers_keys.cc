// Routes that manage a user's provider keys: POST /keys/{p}, POST /keys/{p}/rotate, GET /keys,
// DELETE /keys/{p}. A key value is only ever sent to the vault (and, for a rotation check, the relay);
// no response carries one.
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "services/gateway/api.h"
#include "services/gateway/handlers_common.h"

namespace byok::gateway {
namespace {

using byok::relay::v1::CheckKeyRequest;
using byok::relay::v1::CheckKeyResponse;
using byok::vault::v1::DeleteKeyRequest;
using byok::vault::v1::DeleteKeyResponse;
using byok::vault::v1::ListKeysRequest;
using byok::vault::v1::ListKeysResponse;
using byok::vault::v1::PutKeyRequest;
using byok::vault::v1::PutKeyResponse;

}  // namespace

void Api::PutKey(Call call) {
  HttpResponse error;
  std::optional<std::string> provider = DecodeSegment(call.match.params["provider"]);
  if (!provider.has_value()) return call.writer->Send(JsonError(400, "malformed provider name"));
  std::optional<std::string> key = StringField(*call.body, "key", true, &error);
  if (!key.has_value()) return call.writer->Send(std::move(error));
  std::optional<std::string> base_url = StringField(*call.body, "base_url", false, &error);
  if (!base_url.has_value() && error.status != 200) return call.writer->Send(std::move(error));

  PutKeyRequest request;
  request.set_token(call.token);
  request.set_provider(*provider);
  request.set_key(*std::move(key));
  if (base_url.has_value()) request.set_base_url(*base_url);
  CallUnary<PutKeyRequest, PutKeyResponse>(
      backends_.vault(), backends_.calls(), config_.rpc_timeout, std::move(request),
      BYOK_VAULT_CALL(PutKey), [writer = call.writer](RpcResult<PutKeyResponse> result) {
        if (result.error) return writer->Send(ResponseForRpcError(*result.error));
        writer->Send(Ok({{"ok", true}, {"provider", result.response.provider()}}));
      });
}

void Api::RotateKey(Call call) {
  HttpResponse error;
  std::optional<std::string> provider = DecodeSegment(call.match.params["provider"]);
  if (!provider.has_value()) return call.writer->Send(JsonError(400, "malformed provider name"));
  std::optional<std::string> key = StringField(*call.body, "key", true, &error);
  if (!key.has_value()) return call.writer->Send(std::move(error));
  if (!KeyFormatOk(*key)) {
    return call.writer->Send(
        JsonError(400, "key must be 1 to 4096 printable characters without spaces"));
  }
  std::optional<std::string> base_url = StringField(*call.body, "base_url", false, &error);
  if (!base_url.has_value() && error.status != 200) return call.writer->Send(std::move(error));

  // Authenticate first: an unknown token must not get the relay to call a provider.
  byok::vault::v1::AuthenticateRequest auth;
  auth.set_token(call.token);
  auto put = std::make_shared<PutKeyRequest>();
  put->set_token(call.token);
  put->set_provider(*provider);
  put->set_key(*key);
  if (base_url.has_value()) put->set_base_url(*base_url);
  auto check = std::make_shared<CheckKeyRequest>();
  check->set_provider(*provider);
  check->set_key(*std::move(key));
  if (base_url.has_value()) check->set_base_url(*base_url);

  auto store = [this, writer = call.writer, put] {
    CallUnary<PutKeyRequest, PutKeyResponse>(
        backends_.vault(), backends_.calls(), config_.rpc_timeout, std::move(*put),
        BYOK_VAULT_CALL(PutKey), [writer](RpcResult<PutKeyResponse> result) {
          if (result.error) return writer->Send(ResponseForRpcError(*result.error));
          writer->Send(
              Ok({{"ok", true}, {"provider", result.response.provider()}, {"rotated", true}}));
        });
  };
  auto verify = [this, writer = call.writer, check, store = std::move(store)] {
    CallUnary<CheckKeyRequest, CheckKeyResponse>(
        backends_.relay(), backends_.calls(), config_.check_key_timeout, std::move(*check),
        BYOK_RELAY_CALL(CheckKey), [writer, store](RpcResult<CheckKeyResponse> result) {
          if (result.error) return writer->Send(ResponseForRpcError(*result.error));
          if (!result.response.valid()) {
            std::string reason = result.response.reason().empty()
                                     ? std::string("the provider did not accept the key")
                                     : result.response.reason();
            HttpResponse refused = Ok({{"error", absl::StrCat("key rejected by provider: ", reason)},
                                       {"ok", false},
                                       {"rotated", false},
                                       {"provider_status", result.response.status()}});
            refused.status = 422;
            return writer->Send(std::move(refused));
          }
          store();
        });
  };
  CallUnary<byok::vault::v1::AuthenticateRequest, byok::vault::v1::AuthenticateResponse>(
      backends_.vault(), backends_.calls(), config_.rpc_timeout, std::move(auth),
      BYOK_VAULT_CALL(Authenticate),
      [writer = call.writer, verify = std::move(verify)](
          RpcResult<byok::vault::v1::AuthenticateResponse> result) {
        if (result.error) return writer->Send(ResponseForRpcError(*result.error));
        verify();
      });
}

void Api::ListKeys(Call call) {
  ListKeysRequest request;
  request.set_token(call.token);
  CallUnary<ListKeysRequest, ListKeysResponse>(
      backends_.vault(), backends_.calls(), config_.rpc_timeout, std::move(request),
      BYOK_VAULT_CALL(ListKeys), [writer = call.writer](RpcResult<ListKeysResponse> result) {
        if (result.error) return writer->Send(ResponseForRpcError(*result.error));
        nlohmann::json providers = nlohmann::json::array();
        for (const auto& key : result.response.keys()) {
          nlohmann::json entry = {{"provider", key.provider()},
                                  {"created_at", IsoTime(key.created_at(), key.has_created_at())},
                                  {"updated_at", IsoTime(key.updated_at(), key.has_updated_at())}};
          if (!key.base_url().empty()) entry["base_url"] = key.base_url();
          providers.push_back(std::move(entry));
        }
        writer->Send(Ok({{"providers", std::move(providers)}}));
      });
}

void Api::DeleteKey(Call call) {
  std::optional<std::string> provider = DecodeSegment(call.match.params["provider"]);
  if (!provider.has_value()) return call.writer->Send(JsonError(400, "malformed provider name"));
  DeleteKeyRequest request;
  request.set_token(call.token);
  request.set_provider(*provider);
  CallUnary<DeleteKeyRequest, DeleteKeyResponse>(
      backends_.vault(), backends_.calls(), config_.rpc_timeout, std::move(request),
      BYOK_VAULT_CALL(DeleteKey), [writer = call.writer](RpcResult<DeleteKeyResponse> result) {
        if (result.error) return writer->Send(ResponseForRpcError(*result.error));
        writer->Send(Ok({{"ok", true}}));
      });
}

}  // namespace byok::gateway
