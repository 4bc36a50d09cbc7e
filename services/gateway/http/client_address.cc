#include "services/gateway/http/client_address.h"

#include <arpa/inet.h>

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"

namespace byok::gateway {
namespace {

bool IsIpAddress(absl::string_view text) {
  std::string s(text);
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

}  // namespace

std::string ClientAddress(absl::string_view peer, absl::string_view forwarded_for, int trusted_hops) {
  if (trusted_hops <= 0 || forwarded_for.empty()) return std::string(peer);
  std::vector<absl::string_view> hops = absl::StrSplit(forwarded_for, ',');
  std::string client(peer);
  // Walk from the nearest proxy's entry outwards, as many hops as are trusted.
  int walked = 0;
  for (auto it = hops.rbegin(); it != hops.rend() && walked < trusted_hops; ++it, ++walked) {
    absl::string_view hop = absl::StripAsciiWhitespace(*it);
    if (!IsIpAddress(hop)) break;
    client = std::string(hop);
  }
  return client;
}

}  // namespace byok::gateway
