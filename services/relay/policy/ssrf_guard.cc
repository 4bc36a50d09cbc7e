#include "services/relay/policy/ssrf_guard.h"

#include <arpa/inet.h>

#include <array>
#include <cstdint>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace byok::relay {
namespace {

absl::Status Refused(absl::string_view what) {
  return absl::PermissionDeniedError(
      absl::StrCat("upstream address is ", what, "; only public addresses are allowed "
                   "(BYOK_ALLOW_PRIVATE_UPSTREAMS=1 lifts this)"));
}

struct V4Range {
  uint32_t network;
  int prefix;
  absl::string_view what;
};

constexpr uint32_t V4(uint32_t a, uint32_t b, uint32_t c, uint32_t d) { return a << 24 | b << 16 | c << 8 | d; }

// Every IPv4 range that is not public unicast (IANA special-purpose registry, plus multicast and 240/4).
constexpr std::array<V4Range, 16> kV4Refused = {{
    {V4(0, 0, 0, 0), 8, "unspecified or in 0.0.0.0/8"},
    {V4(10, 0, 0, 0), 8, "private (10.0.0.0/8)"},
    {V4(100, 64, 0, 0), 10, "shared address space (CGNAT, 100.64.0.0/10)"},
    {V4(127, 0, 0, 0), 8, "loopback"},
    {V4(169, 254, 0, 0), 16, "link-local or cloud metadata (169.254.0.0/16)"},
    {V4(172, 16, 0, 0), 12, "private (172.16.0.0/12)"},
    {V4(192, 0, 0, 0), 24, "reserved (192.0.0.0/24)"},
    {V4(192, 0, 2, 0), 24, "documentation (192.0.2.0/24)"},
    {V4(192, 88, 99, 0), 24, "reserved (6to4 relay anycast)"},
    {V4(192, 168, 0, 0), 16, "private (192.168.0.0/16)"},
    {V4(198, 18, 0, 0), 15, "benchmarking (198.18.0.0/15)"},
    {V4(198, 51, 100, 0), 24, "documentation (198.51.100.0/24)"},
    {V4(203, 0, 113, 0), 24, "documentation (203.0.113.0/24)"},
    {V4(224, 0, 0, 0), 4, "multicast"},
    {V4(240, 0, 0, 0), 4, "reserved or broadcast (240.0.0.0/4)"},
    {V4(255, 255, 255, 255), 32, "broadcast"},
}};

absl::Status CheckV4(uint32_t address) {
  for (const V4Range& r : kV4Refused) {
    uint32_t mask = r.prefix == 0 ? 0 : ~uint32_t{0} << (32 - r.prefix);
    if ((address & mask) == r.network) return Refused(r.what);
  }
  return absl::OkStatus();
}

uint32_t V4At(const uint8_t* b) {
  return uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | uint32_t{b[3]};
}

// Returns true when the first `bits` bits of `a` equal those of `prefix`.
bool InPrefix(const uint8_t* a, std::array<uint8_t, 16> prefix, int bits) {
  for (int i = 0; i < bits; ++i) {
    int byte = i / 8;
    int mask = 0x80 >> (i % 8);
    if ((a[byte] & mask) != (prefix[byte] & mask)) return false;
  }
  return true;
}

absl::Status CheckV6(const uint8_t* a) {
  static constexpr std::array<uint8_t, 16> kZero = {};
  bool first_twelve_zero = std::memcmp(a, kZero.data(), 12) == 0;
  if (first_twelve_zero) {
    uint32_t low = V4At(a + 12);
    if (low == 0) return Refused("unspecified ([::])");
    if (low == 1) return Refused("loopback ([::1])");
    // IPv4-compatible (deprecated): the IPv4 inside decides.
    return CheckV4(low);
  }
  // IPv4-mapped ::ffff:0:0/96: refused whatever the IPv4 (as the original does).
  if (InPrefix(a, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96)) return Refused("IPv4-mapped (::ffff:0:0/96)");
  // IPv4/IPv4 translation ::ffff:0:0:0/96 (SIIT).
  if (InPrefix(a, {0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0}, 96)) return CheckV4(V4At(a + 12));
  // NAT64 well-known prefix 64:ff9b::/96: the IPv4 inside decides.
  if (InPrefix(a, {0, 0x64, 0xff, 0x9b}, 96)) return CheckV4(V4At(a + 12));
  // Local-use NAT64 64:ff9b:1::/48 translates into a private network by definition.
  if (InPrefix(a, {0, 0x64, 0xff, 0x9b, 0, 1}, 48)) return Refused("local-use NAT64 (64:ff9b:1::/48)");
  // 6to4 2002::/16: the IPv4 in bits 16..47 decides.
  if (InPrefix(a, {0x20, 0x02}, 16)) return CheckV4(V4At(a + 2));
  if (InPrefix(a, {0x01, 0x00}, 64)) return Refused("discard-only (100::/64)");
  if (InPrefix(a, {0x20, 0x01, 0, 0}, 32)) return Refused("Teredo (2001::/32)");
  if (InPrefix(a, {0x20, 0x01, 0, 0x02, 0, 0}, 48)) return Refused("benchmarking (2001:2::/48)");
  if (InPrefix(a, {0x20, 0x01, 0, 0x10}, 28)) return Refused("ORCHID (2001:10::/28)");
  if (InPrefix(a, {0x20, 0x01, 0, 0x20}, 28)) return Refused("ORCHIDv2 (2001:20::/28)");
  if (InPrefix(a, {0x20, 0x01, 0x0d, 0xb8}, 32)) return Refused("documentation (2001:db8::/32)");
  if (InPrefix(a, {0x3f, 0xff}, 20)) return Refused("documentation (3fff::/20)");
  if (InPrefix(a, {0xfc}, 7)) return Refused("unique local (fc00::/7), which includes cloud metadata");
  if (InPrefix(a, {0xfe, 0x80}, 10)) return Refused("link-local (fe80::/10)");
  if (InPrefix(a, {0xfe, 0xc0}, 10)) return Refused("site-local (fec0::/10)");
  if (InPrefix(a, {0xff}, 8)) return Refused("multicast (ff00::/8)");
  // Everything outside global unicast 2000::/3 is reserved by IANA.
  if (!InPrefix(a, {0x20}, 3)) return Refused("reserved (outside 2000::/3)");
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckAddress(absl::string_view ip) {
  if (ip.empty() || ip.size() >= INET6_ADDRSTRLEN) {
    return absl::InvalidArgumentError("upstream address is not an IP address");
  }
  std::string text(ip);
  in_addr v4;
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    return CheckV4(ntohl(v4.s_addr));
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    return CheckV6(v6.s6_addr);
  }
  return absl::InvalidArgumentError("upstream address is not an IP address");
}

absl::Status CheckAddresses(const std::vector<std::string>& ips) {
  if (ips.empty()) return absl::UnavailableError("upstream host resolved to no address");
  for (const std::string& ip : ips) {
    if (absl::Status s = CheckAddress(ip); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<http::BaseUrl> CheckClientBaseUrl(absl::string_view url, bool allow_private) {
  auto refuse = [](absl::string_view message) { return absl::InvalidArgumentError(message); };
  if (url.empty()) return refuse(kBaseUrlRequired);
  // Only the origin is used (compat.md §5): the path, query and fragment are dropped.
  size_t scheme_end = url.find("://");
  if (scheme_end == absl::string_view::npos || scheme_end == 0) return refuse(kBaseUrlInvalid);
  std::string scheme = absl::AsciiStrToLower(url.substr(0, scheme_end));
  for (char c : scheme) {
    if (!absl::ascii_isalnum(c) && c != '+' && c != '-' && c != '.') return refuse(kBaseUrlInvalid);
  }
  absl::string_view rest = url.substr(scheme_end + 3);
  absl::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  size_t at = authority.rfind('@');
  absl::string_view host_port = at == absl::string_view::npos ? authority : authority.substr(at + 1);
  // Parsed as https whatever the scheme, so that "is it a URL" comes before "is it https".
  absl::StatusOr<http::BaseUrl> parsed = http::ParseBaseUrl(absl::StrCat("https://", host_port));
  if (!parsed.ok()) return refuse(kBaseUrlInvalid);
  bool https = scheme == "https";
  if (!https && !(allow_private && scheme == "http")) return refuse(kBaseUrlNotHttps);
  if (at != absl::string_view::npos) return refuse(kBaseUrlCredentials);
  if (!https) {
    parsed = http::ParseBaseUrl(absl::StrCat("http://", host_port));
    if (!parsed.ok()) return refuse(kBaseUrlInvalid);
  }
  if (allow_private) return parsed;
  if (parsed->host_kind != http::HostKind::kName) {
    if (!CheckAddress(parsed->host).ok()) return refuse(kBaseUrlPrivateIp);
    return parsed;
  }
  absl::string_view host = parsed->host;
  if (absl::EndsWith(host, ".")) host.remove_suffix(1);
  if (host == "localhost" || absl::EndsWith(host, ".localhost")) return refuse(kBaseUrlLocalhost);
  return parsed;
}

}  // namespace byok::relay
