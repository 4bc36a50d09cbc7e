// The error phrases clients of the original byok-relay know (compat.md §6), written once. An error's text
// contains its phrase exactly; the gateway adds a machine-readable "code" beside it.
#ifndef BYOK_SERVICES_GATEWAY_API_PHRASES_H_
#define BYOK_SERVICES_GATEWAY_API_PHRASES_H_

namespace byok::gateway::phrase {

inline constexpr char kTokenRequired[] = "x-relay-token header required";
inline constexpr char kTokenInvalid[] = "Invalid or expired token";
inline constexpr char kAppSecretRequired[] =
    "Unauthorized: valid Authorization: Bearer <APP_SECRET> header required to register.";
inline constexpr char kAppIdRequired[] = "app_id is required";
inline constexpr char kRotateKeyRequired[] = "A valid API key is required (minimum 10 characters)";
inline constexpr char kOperatorStatsNeedSecret[] =
    "Operator stats require APP_SECRET to be configured.";
inline constexpr char kGlobalLimit[] = "Too many requests, please slow down.";
inline constexpr char kRegisterLimit[] =
    "Too many registrations from this IP, please try again later.";
inline constexpr char kRevoked[] =
    "Token revoked. Stored keys remain but are no longer accessible. Register a new token (POST "
    "/users) to re-enter your keys.";
inline constexpr char kUserDeleted[] = "Account and all stored keys deleted.";
inline constexpr char kProviderUnreachable[] = "Failed to reach AI provider";
inline constexpr char kProviderTimedOut[] = "AI provider timed out (30 s). Please retry.";
inline constexpr char kStreamInterrupted[] = "Stream interrupted by provider";
inline constexpr char kOpenApiRenderFailed[] = "Failed to render OpenAPI spec";
inline constexpr char kInvalidJson[] = "Bad Request: the request body is not valid JSON";

}  // namespace byok::gateway::phrase

#endif  // BYOK_SERVICES_GATEWAY_API_PHRASES_H_
