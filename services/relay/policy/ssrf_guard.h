// SSRF guard for client-chosen upstreams (x-relay-base-url, and base URLs bound to stored keys).
// Pure decisions, no network: the I/O layer resolves the host once, passes the addresses here, and
// connects only to addresses that passed. Operator overrides (BYOK_PROVIDER_*_BASE_URL) are trusted and
// not checked.
#ifndef BYOK_SERVICES_RELAY_POLICY_SSRF_GUARD_H_
#define BYOK_SERVICES_RELAY_POLICY_SSRF_GUARD_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/http/url.h"

namespace byok::relay {

// Checks one resolved address, IPv4 ("1.2.3.4") or IPv6 ("2001:db8::1", no brackets, no zone id).
// PermissionDenied for addresses that are not public unicast: loopback, unspecified, private
// (10/8, 172.16/12, 192.168/16, fc00::/7), link-local (169.254/16, fe80::/10), CGNAT 100.64/10,
// cloud metadata, multicast, broadcast, reserved, documentation and benchmark ranges, site-local
// fec0::/10, discard 100::/64, Teredo 2001::/32, and the IPv4 inside NAT64 (64:ff9b::/96,
// 64:ff9b:1::/48), IPv4-mapped, IPv4-compatible and 6to4 (2002::/16) addresses is checked as IPv4.
// InvalidArgument when `ip` is not an address literal.
absl::Status CheckAddress(absl::string_view ip);

// Checks every address; fails on the first refused one (and on an empty list: nothing to connect to).
absl::Status CheckAddresses(const std::vector<std::string>& ips);

// The 400 texts of compat.md §5, in the order the checks run.
inline constexpr absl::string_view kBaseUrlRequired =
    "x-relay-base-url header is required for openai-compatible provider";
inline constexpr absl::string_view kBaseUrlInvalid = "x-relay-base-url must be a valid URL";
inline constexpr absl::string_view kBaseUrlNotHttps = "x-relay-base-url must use HTTPS";
inline constexpr absl::string_view kBaseUrlCredentials =
    "x-relay-base-url must not include embedded credentials";
inline constexpr absl::string_view kBaseUrlPrivateIp =
    "x-relay-base-url must not target a private or reserved IP address";
inline constexpr absl::string_view kBaseUrlLocalhost = "x-relay-base-url must not target localhost";
inline constexpr absl::string_view kBaseUrlUnresolved =
    "x-relay-base-url hostname could not be resolved safely";
inline constexpr absl::string_view kBaseUrlResolvesPrivate =
    "x-relay-base-url must not resolve to a private or reserved IP address";

// Checks a client-supplied base URL (x-relay-base-url) up to, not including, DNS: present, a URL,
// https, no credentials, not a refused IP literal, not localhost. Returns its origin only (path, query
// and fragment dropped). InvalidArgument with the exact text above. With `allow_private` (tests,
// private deployments) http and private addresses pass; credentials never do. The I/O layer then
// resolves the name and refuses with kBaseUrlUnresolved / kBaseUrlResolvesPrivate.
absl::StatusOr<http::BaseUrl> CheckClientBaseUrl(absl::string_view url, bool allow_private);

}  // namespace byok::relay

#endif  // BYOK_SERVICES_RELAY_POLICY_SSRF_GUARD_H_
