// Header validation helpers: what may be copied from an untrusted request into one sent onwards.
#ifndef BYOK_COMMON_HTTP_HEADERS_H_
#define BYOK_COMMON_HTTP_HEADERS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace byok::http {

// One HTTP header field.
struct HeaderField {
  std::string name;
  std::string value;
};

// Returns true when `name` is a valid field name (an RFC 9110 token: visible ASCII without separators).
bool IsValidHeaderName(absl::string_view name);

// Returns true when `value` may be sent as a field value: no CR, LF, NUL or other control characters
// except horizontal tab. (Leading and trailing whitespace is allowed; obs-text bytes >= 0x80 are allowed.)
bool IsValidHeaderValue(absl::string_view value);

// Compares two header names case-insensitively (ASCII).
bool HeaderNameEquals(absl::string_view a, absl::string_view b);

// Returns true for hop-by-hop headers, which are never forwarded (connection, keep-alive, te, trailer,
// transfer-encoding, upgrade, proxy-authenticate, proxy-authorization, proxy-connection).
bool IsHopByHopHeader(absl::string_view name);

// Returns true when `token` is one of the comma-separated elements of `list` (case-insensitive, spaces
// around elements ignored). The values of a message's `Connection` headers name more hop-by-hop headers
// (RFC 9110, 7.6.1): a header named there is not forwarded either.
bool ListsToken(absl::string_view list, absl::string_view token);

// Returns the values of every `Connection` header among `headers` (HeaderFields or name/value pairs),
// joined with commas (for ListsToken).
template <typename Headers>
std::string ConnectionOptions(const Headers& headers) {
  std::string out;
  for (const auto& [name, value] : headers) {
    if (!HeaderNameEquals(name, "connection")) continue;
    if (!out.empty()) out += ',';
    out += value;
  }
  return out;
}

// Returns true when `name` matches `pattern` case-insensitively; a trailing '*' in `pattern` matches any
// rest ("x-ratelimit-*").
bool HeaderNameMatches(absl::string_view pattern, absl::string_view name);

// Returns the value of the first header named `name`, or nullptr.
const std::string* FindHeader(const std::vector<HeaderField>& headers, absl::string_view name);

}  // namespace byok::http

#endif  // BYOK_COMMON_HTTP_HEADERS_H_
