#include "common/http/url.h"

#include <arpa/inet.h>

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/http/path.h"

namespace byok::http {
namespace {

constexpr size_t kMaxUrlLength = 2048;
constexpr size_t kMaxHostLength = 253;

absl::Status Bad(absl::string_view why) { return absl::InvalidArgumentError(absl::StrCat("base URL ", why)); }

// WHATWG "IPv4 number parser": decimal, 0-prefixed octal, 0x-prefixed hex. nullopt when malformed.
std::optional<uint64_t> ParseIpv4Number(absl::string_view part) {
  if (part.empty()) return std::nullopt;
  int radix = 10;
  if (part.size() >= 2 && part[0] == '0' && (part[1] == 'x' || part[1] == 'X')) {
    radix = 16;
    part.remove_prefix(2);
  } else if (part.size() >= 2 && part[0] == '0') {
    radix = 8;
    part.remove_prefix(1);
  }
  if (part.empty()) return 0;
  uint64_t value = 0;
  for (char c : part) {
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (radix == 16 && c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else if (radix == 16 && c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else {
      return std::nullopt;
    }
    if (digit >= radix) return std::nullopt;
    value = value * static_cast<uint64_t>(radix) + static_cast<uint64_t>(digit);
    if (value > 0xffffffffULL) return uint64_t{1} << 33;  // out of range either way; stop growing
  }
  return value;
}

bool IsHostNameChar(unsigned char c) { return absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_'; }

std::string FormatIpv4(uint32_t v) {
  return absl::StrCat(v >> 24, ".", (v >> 16) & 0xff, ".", (v >> 8) & 0xff, ".", v & 0xff);
}

}  // namespace

absl::StatusOr<std::optional<uint32_t>> ParseWhatwgIpv4(absl::string_view host) {
  std::vector<absl::string_view> parts = absl::StrSplit(host, '.');
  if (parts.size() > 1 && parts.back().empty()) parts.pop_back();
  // "Ends in a number": only then is the host an IPv4 address at all.
  absl::string_view last = parts.back();
  bool all_digits = !last.empty() && std::all_of(last.begin(), last.end(), absl::ascii_isdigit);
  if (!all_digits && !ParseIpv4Number(last).has_value()) return std::optional<uint32_t>();
  if (parts.size() > 4) return absl::InvalidArgumentError("IPv4 address has too many parts");
  std::vector<uint64_t> numbers;
  for (absl::string_view part : parts) {
    std::optional<uint64_t> n = ParseIpv4Number(part);
    if (!n.has_value()) return absl::InvalidArgumentError("malformed IPv4 address");
    numbers.push_back(*n);
  }
  for (size_t i = 0; i + 1 < numbers.size(); ++i) {
    if (numbers[i] > 255) return absl::InvalidArgumentError("IPv4 address part out of range");
  }
  size_t rest_bytes = 5 - numbers.size();
  if (numbers.back() >= (uint64_t{1} << (8 * rest_bytes))) {
    return absl::InvalidArgumentError("IPv4 address out of range");
  }
  uint64_t address = numbers.back();
  for (size_t i = 0; i + 1 < numbers.size(); ++i) address += numbers[i] << (8 * (3 - i));
  return std::optional<uint32_t>(static_cast<uint32_t>(address));
}

std::string BaseUrl::Authority() const {
  std::string out = host_kind == HostKind::kIpv6 ? absl::StrCat("[", host, "]") : host;
  uint16_t default_port = tls() ? 443 : 80;
  if (port != default_port) absl::StrAppend(&out, ":", port);
  return out;
}

std::string BaseUrl::ToString() const { return absl::StrCat(scheme, "://", Authority(), base_path); }

absl::StatusOr<BaseUrl> ParseBaseUrl(absl::string_view url) {
  if (url.empty()) return Bad("is empty");
  if (url.size() > kMaxUrlLength) return Bad("is too long");
  for (char ch : url) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7f) return Bad("contains whitespace, a control character or a non-ASCII byte");
    if (c == '\\') return Bad("contains a backslash");
  }
  BaseUrl result;
  size_t scheme_end = url.find("://");
  if (scheme_end == absl::string_view::npos) return Bad("must start with http:// or https://");
  result.scheme = absl::AsciiStrToLower(url.substr(0, scheme_end));
  if (result.scheme != "http" && result.scheme != "https") return Bad("must use http or https");
  absl::string_view rest = url.substr(scheme_end + 3);
  if (rest.find('#') != absl::string_view::npos) return Bad("must not have a fragment");
  if (rest.find('?') != absl::string_view::npos) return Bad("must not have a query string");
  size_t slash = rest.find('/');
  absl::string_view authority = rest.substr(0, slash);
  absl::string_view path = slash == absl::string_view::npos ? "" : rest.substr(slash);
  if (authority.find('@') != absl::string_view::npos) return Bad("must not contain credentials");
  if (authority.find('%') != absl::string_view::npos) return Bad("host must not be percent-encoded");

  absl::string_view host;
  absl::string_view port;
  bool has_port = false;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == absl::string_view::npos) return Bad("has an unterminated IPv6 literal");
    host = authority.substr(1, close - 1);
    absl::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return Bad("has characters after the IPv6 literal");
      port = after.substr(1);
      has_port = true;
    }
    in6_addr addr;
    std::string host_copy(host);
    if (inet_pton(AF_INET6, host_copy.c_str(), &addr) != 1) return Bad("has a malformed IPv6 literal");
    char text[INET6_ADDRSTRLEN];
    if (inet_ntop(AF_INET6, &addr, text, sizeof(text)) == nullptr) return Bad("has a malformed IPv6 literal");
    result.host = text;
    result.host_kind = HostKind::kIpv6;
  } else {
    size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != absl::string_view::npos) {
      port = authority.substr(colon + 1);
      has_port = true;
      if (port.find(':') != absl::string_view::npos) return Bad("has an IPv6 address without brackets");
    }
    if (host.empty()) return Bad("has no host");
    for (char c : host) {
      if (!IsHostNameChar(static_cast<unsigned char>(c))) return Bad("has a character not allowed in a host");
    }
    absl::StatusOr<std::optional<uint32_t>> ipv4 = ParseWhatwgIpv4(host);
    if (!ipv4.ok()) return Bad("has a malformed numeric (IPv4) host");
    if (ipv4->has_value()) {
      result.host = FormatIpv4(**ipv4);
      result.host_kind = HostKind::kIpv4;
    } else {
      if (host.back() == '.') host.remove_suffix(1);
      if (host.empty() || host.size() > kMaxHostLength) return Bad("has a host name of a bad length");
      for (absl::string_view label : absl::StrSplit(host, '.')) {
        if (label.empty() || label.size() > 63) return Bad("has an empty or over-long host label");
      }
      result.host = absl::AsciiStrToLower(host);
      result.host_kind = HostKind::kName;
    }
  }
  if (has_port) {
    uint32_t value = 0;
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), absl::ascii_isdigit) ||
        !absl::SimpleAtoi(port, &value) || value == 0 || value > 65535) {
      return Bad("has a bad port");
    }
    result.port = static_cast<uint16_t>(value);
    result.explicit_port = true;
  } else {
    result.port = result.tls() ? 443 : 80;
  }
  if (!path.empty()) {
    absl::StatusOr<NormalizedTarget> normalized = NormalizeTarget(path);
    if (!normalized.ok()) return Bad(absl::StrCat("has a bad path: ", normalized.status().message()));
    result.base_path = normalized->wire_path;
    while (!result.base_path.empty() && result.base_path.back() == '/') result.base_path.pop_back();
  }
  // The limit holds for the URL as used and printed too: encoding for the wire can triple a path.
  if (result.ToString().size() > kMaxUrlLength) return Bad("is too long once encoded");
  return result;
}

}  // namespace byok::http
