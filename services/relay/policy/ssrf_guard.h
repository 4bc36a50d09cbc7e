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

// Parses and checks a client-supplied base URL. Without `allow_private`: https only, and an IP-literal
// host must pass CheckAddress (names are checked after resolution). Credentials, fragments and queries
// are refused by the parser in any case. PermissionDenied / InvalidArgument; messages never repeat the URL.
absl::StatusOr<http::BaseUrl> CheckClientBaseUrl(absl::string_view url, bool allow_private);

}  // namespace byok::relay

#endif  // BYOK_SERVICES_RELAY_POLICY_SSRF_GUARD_H_
