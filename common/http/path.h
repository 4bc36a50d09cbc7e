// The one path normaliser of the relay. Its result is both what the provider allowlist is checked
// against and what is sent upstream, so no difference between "checked" and "sent" can be exploited.
#ifndef BYOK_COMMON_HTTP_PATH_H_
#define BYOK_COMMON_HTTP_PATH_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace byok::http {

// Longest path-with-query accepted, in bytes. Longer inputs are refused before any work.
inline constexpr size_t kMaxTargetLength = 8192;

// A client path split and normalised.
struct NormalizedTarget {
  // Decoded, normalised path: starts with '/', no "." or ".." segments, no empty segments (a single
  // trailing '/' is kept). Never contains '%', '?', '#', '\\' or control characters. For matching.
  std::string path;
  // `path` percent-encoded in canonical form for the request line (unreserved characters and
  // "!$&'()*+,;=:@/" literal, everything else %XX in upper-case hex).
  std::string wire_path;
  // The query string without its '?', exactly as the client sent it ("" when none). Validated only:
  // no control characters, spaces, '#' or non-ASCII bytes.
  std::string query;
  // True when the client sent a '?' (even with an empty query).
  bool has_query = false;

  // Returns wire_path plus "?query" when there is a query.
  std::string WireTarget() const;
};

// Normalises `path_and_query` (for example "/v1/chat/completions?x=1"). Steps, in order: split at the
// first literal '?' (a fragment '#' is refused); percent-decode the path once; treat '\\' as '/'; drop
// empty and "." segments; resolve ".." and refuse it when it would climb above the root. Refuses
// (InvalidArgument, message naming the problem, not the input): empty or relative paths, over-long input,
// malformed %-escapes, NUL and other control characters (raw or encoded), raw whitespace and non-ASCII
// bytes, an encoded '?' or '#' (so they can never become delimiters upstream), and a '%' that survives
// decoding (double encoding such as %252e, which a second decoder upstream would turn into '.').
absl::StatusOr<NormalizedTarget> NormalizeTarget(absl::string_view path_and_query);

// Percent-encodes a decoded path for the request line, as NormalizedTarget::wire_path.
std::string EncodePathForWire(absl::string_view decoded_path);

// Percent-decodes `in` once. Refuses malformed escapes. '+' is left alone (it is not a space in paths).
absl::StatusOr<std::string> PercentDecode(absl::string_view in);

// Returns `query` without the parameters whose (percent-decoded, case-insensitively compared) name is
// `name`. The remaining parameters keep their order and exact bytes.
std::string RemoveQueryParam(absl::string_view query, absl::string_view name);

// Returns the percent-decoded values of the query parameters named `name` ('+' decoded as space, as in
// forms); malformed escapes are refused.
absl::StatusOr<std::vector<std::string>> QueryParamValues(absl::string_view query,
                                                          absl::string_view name);

}  // namespace byok::http

#endif  // BYOK_COMMON_HTTP_PATH_H_
