// Base URLs and addresses from configuration and clients (openai-compatible base URLs): the URL parser,
// WHATWG IPv4 reading, and the SSRF guard's classification of what they name.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/http/url.h"
#include "services/relay/policy/ssrf_guard.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  auto url = byok::http::ParseBaseUrl(input);
  if (url.ok()) {
    // What the parser accepted and prints (for logs and DescribeRoutes) reads back as the same URL.
    auto again = byok::http::ParseBaseUrl(url->ToString());
    if (!again.ok() || again->ToString() != url->ToString() || again->port != url->port) std::abort();
    (void)url->Authority();
  }
  (void)byok::http::ParseWhatwgIpv4(input);
  (void)byok::relay::CheckAddress(input);
  (void)byok::relay::CheckClientBaseUrl(input, false);
  (void)byok::relay::CheckClientBaseUrl(input, true);
  return 0;
}
