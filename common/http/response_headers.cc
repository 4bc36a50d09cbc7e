#include "common/http/response_headers.h"

#include <array>

#include "common/http/headers.h"

namespace byok::http {

bool IsNeverPassedToBrowser(absl::string_view lower_name) {
  static constexpr std::array<absl::string_view, 6> kNever = {
      "content-length", "host", "set-cookie", "set-cookie2", "access-control-*", "vary"};
  if (IsHopByHopHeader(lower_name)) return true;
  for (absl::string_view never : kNever) {
    if (HeaderNameMatches(never, lower_name)) return true;
  }
  return false;
}

}  // namespace byok::http
