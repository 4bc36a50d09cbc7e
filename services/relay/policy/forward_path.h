// The forward path of POST /relay/{provider}/* (compat.md §3.15), and the upstream request target made
// from it. The string the allowlist checks is the string that is sent: only its encoding for the
// request line differs, and that encoding decodes back to the same bytes.
#ifndef BYOK_SERVICES_RELAY_POLICY_FORWARD_PATH_H_
#define BYOK_SERVICES_RELAY_POLICY_FORWARD_PATH_H_

#include <string>

#include "absl/strings/string_view.h"

namespace byok::relay {

// Longest raw path accepted (bytes); a longer one is cut to this before any work (and then fails the
// allowlist, since no allowed prefix is that long).
inline constexpr size_t kMaxForwardPathInput = 8192;

// The original's steps, applied to `raw_rest` (the part after "/relay/<provider>/", still
// percent-encoded as the client sent it, without the query string): percent-decode (the framework's
// decode), prefix '/', percent-decode again (left as is when that fails), POSIX-normalise (resolve "."
// and "..", never above the root; collapse "//"; keep a trailing '/'). So "%3F" becomes a real '?'.
std::string ComputeForwardPath(absl::string_view raw_rest);

// Percent-decodes `in` once; returns false (leaving `out` unspecified) on a malformed escape.
bool DecodeUriComponent(absl::string_view in, std::string& out);

// POSIX-normalises an absolute path as Node's path.posix.normalize does.
std::string PosixNormalize(absl::string_view path);

// The request target for `forward_path` (which may hold a '?'): the part before the first '?' encoded
// as a path, the rest encoded as a query, then `client_query` (the client's own query string, a fix:
// the original dropped it) joined with '&' or '?'. Every byte outside the characters safe in its part
// (and every '%') is %XX-encoded, so the provider decodes exactly `forward_path`.
std::string UpstreamTarget(absl::string_view base_path, absl::string_view forward_path,
                           absl::string_view client_query);

}  // namespace byok::relay

#endif  // BYOK_SERVICES_RELAY_POLICY_FORWARD_PATH_H_
