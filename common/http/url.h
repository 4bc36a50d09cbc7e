// Parses the base URLs the relay sends requests to (provider defaults, operator overrides and the
// client's x-relay-base-url). One strict parser for all of them, so what is checked is what is used.
#ifndef BYOK_COMMON_HTTP_URL_H_
#define BYOK_COMMON_HTTP_URL_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace byok::http {

// What kind of host a URL names.
enum class HostKind {
  kName,  // a DNS name, lower-cased
  kIpv4,  // an IPv4 literal, canonical dotted quad (whatever form the URL wrote it in)
  kIpv6,  // an IPv6 literal, canonical text form without brackets
};

// A parsed base URL: scheme://host[:port][/base/path]. No userinfo, query or fragment.
struct BaseUrl {
  // "http" or "https".
  std::string scheme;
  // Host as used for DNS and connecting: lower-case name, dotted quad, or IPv6 text without brackets.
  std::string host;
  HostKind host_kind = HostKind::kName;
  // Port, explicit or the scheme's default.
  uint16_t port = 0;
  // True when the URL spelled out a port.
  bool explicit_port = false;
  // Base path, normalised, percent-encoded for the wire, without a trailing slash; "" for the root.
  std::string base_path;

  // Returns true for https.
  bool tls() const { return scheme == "https"; }
  // Returns the Host header value: host (bracketed for IPv6) plus ":port" when not the default.
  std::string Authority() const;
  // Returns scheme://authority/base_path: a form safe to show in logs and DescribeRoutes.
  std::string ToString() const;
};

// Parses `url` as a base URL. Refuses (InvalidArgument, with a message that does not repeat the URL,
// which could carry a secret): schemes other than http/https, userinfo (credentials), query strings and
// fragments, empty hosts, bad or zero ports, whitespace, control characters and non-ASCII bytes,
// malformed IPv6 literals and IPv6 zone ids. Hosts that are numbers in any form the WHATWG URL standard
// reads as IPv4 (2130706433, 0x7f.1, 017700000001, 127.1) are converted to the address they mean, so
// a guard sees the real address; malformed numeric hosts are refused.
absl::StatusOr<BaseUrl> ParseBaseUrl(absl::string_view url);

// Parses `host` as an IPv4 address the way the WHATWG URL standard does (1 to 4 parts, each decimal,
// octal with a leading 0, or hex with 0x; the last part fills the remaining bytes). Returns nullopt when
// `host` is not numeric at all (a DNS name), and InvalidArgument when it looks numeric but is malformed
// or out of range.
absl::StatusOr<std::optional<uint32_t>> ParseWhatwgIpv4(absl::string_view host);

}  // namespace byok::http

#endif  // BYOK_COMMON_HTTP_URL_H_
