// Small helpers the route handlers share: JSON field access, timestamps, success responses.
#ifndef BYOK_SERVICES_GATEWAY_HANDLERS_COMMON_H_
#define BYOK_SERVICES_GATEWAY_HANDLERS_COMMON_H_

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/strings/string_view.h"
#include "google/protobuf/timestamp.pb.h"
#include "services/gateway/http_types.h"

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

// Reads the string field `name` of `body`. Returns nullopt and sets `error` when it is present but not a
// string, or absent while `required`.
std::optional<std::string> StringField(const nlohmann::json& body, const char* name, bool required,
                                       HttpResponse* error);

// Returns the timestamp as ISO-8601 (RFC 3339, UTC), or null when unset.
nlohmann::json IsoTime(const google::protobuf::Timestamp& time, bool set = true);

// Returns a 200 response with `body` serialised.
HttpResponse Ok(const nlohmann::json& body);

// Returns true when `key` looks like a provider key: 1 to 4096 printable ASCII characters, no spaces.
bool KeyFormatOk(absl::string_view key);

// Percent-decodes one path segment (a provider name or app id); nullopt when malformed.
std::optional<std::string> DecodeSegment(absl::string_view segment);

}  // namespace byok::gateway

#endif  // BYOK_SERVICES_GATEWAY_HANDLERS_COMMON_H_
