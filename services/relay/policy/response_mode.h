// How a provider's response reaches the client (compat.md §3.16): the mode, and the headers it sets.
// Bodies always pass as bytes; only the status, Content-Type and a few framing headers follow the mode.
#ifndef BYOK_SERVICES_RELAY_POLICY_RESPONSE_MODE_H_
#define BYOK_SERVICES_RELAY_POLICY_RESPONSE_MODE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/http/headers.h"

namespace byok::relay {

enum class ResponseMode {
  kNoContent,  // 204 / 304: empty body, upstream Content-Type if any
  kSse,        // text/event-stream exactly, no-cache
  kBinary,     // upstream Content-Type verbatim, Content-Disposition copied
  kJson,       // application/json; charset=utf-8
  kText,       // upstream Content-Type with charset=utf-8, or text/html; charset=utf-8
};

// Chooses the mode, in the original's order: no content; SSE (Content-Type has text/event-stream, or
// none and the request streamed and the status is 2xx); binary (binary provider, or audio/, image/,
// video/, application/octet-stream); JSON (application/json); text.
ResponseMode ChooseResponseMode(bool binary_provider, bool stream_requested, int status,
                                const std::optional<std::string>& content_type);

// The headers `mode` sets on the client's response, from the upstream Content-Type and
// Content-Disposition (nullopt when absent).
std::vector<http::HeaderField> ModeHeaders(ResponseMode mode, const std::optional<std::string>& content_type,
                                           const std::optional<std::string>& content_disposition);

}  // namespace byok::relay

#endif  // BYOK_SERVICES_RELAY_POLICY_RESPONSE_MODE_H_
