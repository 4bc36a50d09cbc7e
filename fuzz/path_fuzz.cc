// Request paths and queries from browsers: normalisation (decoding, dot segments, refusals) and query
// parameters. A normalised target normalises to itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/http/path.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  auto target = byok::http::NormalizeTarget(input);
  if (target.ok()) {
    std::string wire = target->WireTarget();
    auto again = byok::http::NormalizeTarget(wire);
    if (!again.ok() || again->WireTarget() != wire) std::abort();
    (void)byok::http::QueryParamValues(target->query, "key");
    (void)byok::http::RemoveQueryParam(target->query, "key");
  }
  (void)byok::http::PercentDecode(input);
  (void)byok::http::EncodePathForWire(input);
  return 0;
}
