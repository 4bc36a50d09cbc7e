// Routes that manage a user's provider keys: POST /keys/{p}, POST /keys/{p}/rotate, GET /keys,
// DELETE /keys/{p} (compat.md §3.6-3.9). A key value is only ever sent to the vault (and, for a rotation
// check, the relay); no response carries one.
//
// Check order: the vault checks the token before anything else it checks, so the store, list and delete
// routes send the request as it came and pass the vault's verdict on. Rotation asks the vault about the
// token first, then checks the new key here, then asks the provider (through the relay), then stores.
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/grpc_status.h"
#include "common/providers/key_rule.h"
#include "common/providers/providers.h"
#include "services/gateway/api/api.h"
#include "services/gateway/api/handlers_common.h"
#include "services/gateway/api/phrases.h"

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

// Shortest key a rotation accepts (as the store route, whose check is the vault's).
// How much of the provider's refusal the 422 quotes.
constexpr size_t kMaxDetail = 120;

// The key of the body, trimmed: `key`, or its alias `api_key` (what several of the original's framework
// packages send). "" when neither is a string.
std::string KeyFrom(const nlohmann::json& body) {
  if (!body.is_object()) return {};
  for (const char* name : {"key", "api_key"}) {
    auto it = body.find(name);
    if (it == body.end() || it->is_null()) continue;
    if (!it->is_string()) return {};
    return std::string(absl::StripAsciiWhitespace(it->get_ref<const std::string&>()));
  }
  return {};
}

// The optional base URL an openai-compatible key is bound to.
std::string BaseUrlFrom(const nlohmann::json& body) {
  if (!body.is_object()) return {};
  auto it = body.find("base_url");
  return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The 422 for a key the provider refused, quoting at most kMaxDetail characters of why.
HttpResponse Rejected(absl::string_view provider, std::string detail) {
  if (detail.size() > kMaxDetail) detail.resize(kMaxDetail);
  std::string message = absl::StrCat("New key was rejected by ", provider);
  if (!detail.empty()) absl::StrAppend(&message, " (", detail, ")");
  absl::StrAppend(&message, ". Your existing key was not changed.");
  return JsonError(422, message, "key_rejected");
}

// Why the provider refused, as the original quotes it: the start of its response body, else its status.
std::string Detail(const CheckKeyResponse& r) {
  if (!r.body_start().empty()) return r.body_start();
  if (r.status() != 0) return absl::StrCat("HTTP ", r.status());
  return r.reason();
}

}  // namespace

void Api::PutKey(Call call) {
  PutKeyRequest request;
  request.set_token(call.token);
  request.set_provider(DecodeSegment(call.match.params["provider"]).value_or(""));
  request.set_key(KeyFrom(*call.body));
  request.set_base_url(BaseUrlFrom(*call.body));
  CallUnary<PutKeyRequest, PutKeyResponse>(
      backends_.vault(), backends_.calls(), config_.rpc_timeout, std::move(request),
      BYOK_VAULT_CALL(PutKey), [writer = call.writer](RpcResult<PutKeyResponse> result) {
        if (result.error) return writer->Send(ResponseForRpcError(*result.error));
        writer->Send(Ok({{"ok", true}, {"provider", result.response.provider()}}));
      });
}

void Api::RotateKey(Call call) {
  auto put = std::make_shared<PutKeyRequest>();
  put->set_token(call.token);
  put->set_provider(DecodeSegment(call.match.params["provider"]).value_or(""));
  put->set_key(KeyFrom(*call.body));
  put->set_base_url(BaseUrlFrom(*call.body));

  // 4. Store, saying whether a key was replaced.
  auto store = [this, writer = call.writer, put] {
    CallUnary<PutKeyRequest, PutKeyResponse>(
        backends_.vault(), backends_.calls(), config_.rpc_timeout, std::move(*put),
        BYOK_VAULT_CALL(PutKey), [writer](RpcResult<PutKeyResponse> result) {
          if (result.error) return writer->Send(ResponseForRpcError(*result.error));
          writer->Send(Ok({{"ok", true},
                           {"provider", result.response.provider()},
                           {"rotated", result.response.replaced()}}));
        });
  };
  // 3. Ask the provider whether the new key works.
  auto verify = [this, writer = call.writer, put, store = std::move(store)] {
    CheckKeyRequest check;
    check.set_provider(put->provider());
    check.set_key(put->key());
    check.set_base_url(put->base_url());
    CallUnary<CheckKeyRequest, CheckKeyResponse>(
        backends_.relay(), backends_.calls(), config_.check_key_timeout, std::move(check),
        BYOK_RELAY_CALL(CheckKey), [writer, put, store](RpcResult<CheckKeyResponse> result) {
          if (result.error) {
            const RpcError& e = *result.error;
            // The relay answered but the provider did not: the key is not known to work.
            if (e.code == grpc::StatusCode::UNAVAILABLE && HttpStatusForRpcError(e) == 502) {
              return writer->Send(Rejected(put->provider(), "provider unreachable"));
            }
            if (e.code == grpc::StatusCode::DEADLINE_EXCEEDED && HttpStatusForRpcError(e) == 504) {
              return writer->Send(Rejected(put->provider(), "verification timed out"));
            }
            return writer->Send(ResponseForRpcError(e));
          }
          if (!result.response.valid()) {
            return writer->Send(Rejected(put->provider(), Detail(result.response)));
          }
          store();
        });
  };
  // 1. Token, provider and key, in the original's order, by the vault that owns those rules (nothing is
  // stored), then 2. the key's format for its provider (common/providers).
  PutKeyRequest check = *put;
  check.set_validate_only(true);
  CallUnary<PutKeyRequest, PutKeyResponse>(
      backends_.vault(), backends_.calls(), config_.rpc_timeout, std::move(check),
      BYOK_VAULT_CALL(PutKey),
      [writer = call.writer, put, verify = std::move(verify)](RpcResult<PutKeyResponse> result) {
        if (result.error) {
          // Rotation says what the minimum is (the original's phrase, which names the key rule's).
          static_assert(providers::kMinKeyLength == 10, "phrase::kRotateKeyRequired names the minimum");
          if (result.error->reason == reason::kKeyInvalid) {
            return writer->Send(JsonError(400, phrase::kRotateKeyRequired, "key_required"));
          }
          return writer->Send(ResponseForRpcError(*result.error));
        }
        if (std::optional<absl::string_view> hint = providers::KeyFormatHint(put->provider(), put->key())) {
          HttpResponse refused = Ok({{"error", providers::KeyFormatMessage(put->provider(), *hint)},
                                     {"hint", std::string(*hint)},
                                     {"code", "key_format"}});
          refused.status = 400;
          return writer->Send(std::move(refused));
        }
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
        // Names only, as the original: its clients call providers.includes(name).
        nlohmann::ordered_json providers = nlohmann::ordered_json::array();
        for (const auto& key : result.response.keys()) providers.push_back(key.provider());
        writer->Send(Ok({{"providers", std::move(providers)}}));
      });
}

void Api::DeleteKey(Call call) {
  DeleteKeyRequest request;
  request.set_token(call.token);
  request.set_provider(DecodeSegment(call.match.params["provider"]).value_or(""));
  CallUnary<DeleteKeyRequest, DeleteKeyResponse>(
      backends_.vault(), backends_.calls(), config_.rpc_timeout, std::move(request),
      BYOK_VAULT_CALL(DeleteKey), [writer = call.writer](RpcResult<DeleteKeyResponse> result) {
        if (result.error) return writer->Send(ResponseForRpcError(*result.error));
        writer->Send(Ok({{"ok", true}}));
      });
}

}  // namespace byok::gateway
