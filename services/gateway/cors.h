// Cross-origin policy from ALLOWED_ORIGINS: which browser origins may call the API, and the headers that
// grant it. Pure; no I/O.
#ifndef BYOK_SERVICES_GATEWAY_CORS_H_
#define BYOK_SERVICES_GATEWAY_CORS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace byok::gateway {

// A response header as name and value.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Decides CORS grants. Immutable after construction; thread-safe.
class CorsPolicy {
 public:
  // Parses ALLOWED_ORIGINS: "*" (any origin) or a comma list of origins such as
  // "https://app.example.com,http://localhost:5173". Fails on an entry that is not an origin.
  static absl::StatusOr<CorsPolicy> Parse(absl::string_view allowed_origins);

  // Returns true when a request from `origin` may read responses.
  bool Allows(absl::string_view origin) const;

  // Returns the headers to add to an ordinary response for a request carrying `origin` (empty when the
  // request has no Origin or the origin is refused).
  HeaderList ResponseHeaders(absl::string_view origin) const;

  // Returns the headers answering a preflight (OPTIONS) from `origin`; without grant headers when the
  // origin is refused, so the browser blocks the real request.
  HeaderList PreflightHeaders(absl::string_view origin) const;

  // The request headers apps send that preflights allow.
  static constexpr absl::string_view kAllowedHeaders =
      "content-type, authorization, anthropic-version, anthropic-beta, x-relay-token, "
      "x-relay-base-url";
  // The methods preflights allow.
  static constexpr absl::string_view kAllowedMethods = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
  // Response headers a browser script may read.
  static constexpr absl::string_view kExposedHeaders =
      "RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Retry-After";
  // How long (seconds) a browser may cache a preflight answer.
  static constexpr absl::string_view kMaxAgeSeconds = "600";

 private:
  CorsPolicy(bool any, std::vector<std::string> origins)
      : any_(any), origins_(std::move(origins)) {}

  bool any_;
  std::vector<std::string> origins_;
};

}  // namespace byok::gateway

#endif  // BYOK_SERVICES_GATEWAY_CORS_H_
