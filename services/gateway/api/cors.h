// Cross-origin policy from ALLOWED_ORIGINS, as the original grants it (compat.md §7 and the additions in
// "Where this contract ... disagree"): which browser origins may read responses, and the headers that
// say so. Pure; no I/O. This file is the one owner of the allowed and exposed header lists.
#ifndef BYOK_SERVICES_GATEWAY_API_CORS_H_
#define BYOK_SERVICES_GATEWAY_API_CORS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace byok::gateway {

// A response header as name and value.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Decides CORS grants. Immutable after construction; thread-safe.
class CorsPolicy {
 public:
  // Parses ALLOWED_ORIGINS: a comma list, each entry trimmed. Unset, empty, or any entry "*" means every
  // origin. Every value starts the service (as the original); an entry that can never match a browser's
  // Origin is reported by NonOrigins.
  static CorsPolicy Parse(absl::string_view allowed_origins);

  // Returns true when a request from `origin` may read responses.
  bool Allows(absl::string_view origin) const;

  // Returns the entries of the list that are not origins (scheme://host[:port]), for a start-up warning.
  std::vector<std::string> NonOrigins() const;

  // Returns the headers for an ordinary response to a request carrying `origin` (maybe empty): with
  // every origin allowed `Access-Control-Allow-Origin: *` always; with a list, `Vary: Origin` always and
  // the origin reflected when it is listed. A refused origin's request is still served; the browser
  // blocks it.
  HeaderList ResponseHeaders(absl::string_view origin) const;

  // Returns the headers answering a preflight (OPTIONS) from `origin`.
  HeaderList PreflightHeaders(absl::string_view origin) const;

  // The request headers preflights allow: the original's list, then what the original's own ecosystem
  // and the official OpenAI and Anthropic browser SDKs send.
  static constexpr absl::string_view kAllowedHeaders =
      "Content-Type,Authorization,x-relay-token,anthropic-version,x-relay-base-url,x-relay-referer,"
      "x-title,http-referer,x-relay-e2e-base-url-token,xi-api-key,"
      "anthropic-beta,traceparent,tracestate,x-request-id,"
      "anthropic-dangerous-direct-browser-access,x-api-key,openai-organization,openai-project,"
      "openai-beta,idempotency-key,x-stainless-arch,x-stainless-async,x-stainless-helper-method,"
      "x-stainless-lang,x-stainless-os,x-stainless-package-version,x-stainless-poll-helper,"
      "x-stainless-retry-count,x-stainless-runtime,x-stainless-runtime-version,x-stainless-timeout";
  // The methods preflights allow.
  static constexpr absl::string_view kAllowedMethods = "GET,POST,DELETE,OPTIONS";
  // Response headers a browser script may read: our rate-limit counts, the request id, and the
  // providers' rate-limit and request-id headers the relay passes back.
  static constexpr absl::string_view kExposedHeaders =
      "RateLimit-Policy,RateLimit-Limit,RateLimit-Remaining,RateLimit-Reset,Retry-After,x-request-id,"
      "request-id,Content-Disposition,x-ratelimit-limit-requests,x-ratelimit-limit-tokens,"
      "x-ratelimit-remaining-requests,x-ratelimit-remaining-tokens,x-ratelimit-reset-requests,"
      "x-ratelimit-reset-tokens,anthropic-ratelimit-requests-limit,"
      "anthropic-ratelimit-requests-remaining,anthropic-ratelimit-requests-reset,"
      "anthropic-ratelimit-tokens-limit,anthropic-ratelimit-tokens-remaining,"
      "anthropic-ratelimit-tokens-reset,anthropic-ratelimit-input-tokens-limit,"
      "anthropic-ratelimit-input-tokens-remaining,anthropic-ratelimit-input-tokens-reset,"
      "anthropic-ratelimit-output-tokens-limit,anthropic-ratelimit-output-tokens-remaining,"
      "anthropic-ratelimit-output-tokens-reset,openai-processing-ms,x-goog-request-id";

 private:
  CorsPolicy(bool any, std::vector<std::string> origins)
      : any_(any), origins_(std::move(origins)) {}

  bool any_;
  std::vector<std::string> origins_;
};

}  // namespace byok::gateway

#endif  // BYOK_SERVICES_GATEWAY_API_CORS_H_
