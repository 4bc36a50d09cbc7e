// Small helpers the chain and the route handlers share: where the token is, timestamps as the original
// writes them, success responses.
#ifndef BYOK_SERVICES_GATEWAY_API_HANDLERS_COMMON_H_
#define BYOK_SERVICES_GATEWAY_API_HANDLERS_COMMON_H_

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "services/gateway/http/http_types.h"

// Make the `invoke` argument of CallUnary for one method of the vault's or relay's stub (used inside Api
// members, where backends_ is in scope).
#define BYOK_VAULT_CALL(Method)                                                             \
  [this](grpc::ClientContext* c, const auto* q, auto* r, std::function<void(grpc::Status)> d) { \
    backends_.vault_stub().async()->Method(c, q, r, std::move(d));                          \
  }
#define BYOK_RELAY_CALL(Method)                                                             \
  [this](grpc::ClientContext* c, const auto* q, auto* r, std::function<void(grpc::Status)> d) { \
    backends_.relay_stub().async()->Method(c, q, r, std::move(d));                          \
  }

namespace byok::gateway {

// Returns the relay token of `request`: `x-relay-token`, or, when that is absent or empty, the credential
// of `Authorization: Bearer <token>` (what the original's framework packages send). "" when neither.
std::string RelayToken(const HttpRequest& request);

// Returns true for GET /health?deep=1 (or deep=true, any case).
bool IsDeepProbe(const HttpRequest& request);

// Returns the timestamp as milliseconds since the Unix epoch.
int64_t EpochMillis(const google::protobuf::Timestamp& time);

// Returns `time` as ISO-8601 with milliseconds and Z (JavaScript's toISOString).
std::string IsoMillis(absl::Time time);

// Returns a 200 response with `body` serialised (key order kept).
HttpResponse Ok(const nlohmann::ordered_json& body);

// Percent-decodes one path segment (a provider name or app id), as decodeURIComponent; nullopt when
// malformed (the router has already refused those).
std::optional<std::string> DecodeSegment(absl::string_view segment);

}  // namespace byok::gateway

#endif  // BYOK_SERVICES_GATEWAY_API_HANDLERS_COMMON_H_
