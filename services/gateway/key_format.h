// The format check POST /keys/{provider}/rotate applies to a new key before asking the provider
// (compat.md §3.7): a cheap catch for a key pasted under the wrong provider.
#ifndef BYOK_SERVICES_GATEWAY_KEY_FORMAT_H_
#define BYOK_SERVICES_GATEWAY_KEY_FORMAT_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace byok::gateway {

// Returns the hint for `provider` when the (trimmed) `key` does not look like one of its keys; nullopt
// when it does, or when the provider's keys have no recognisable format.
std::optional<std::string> KeyFormatHint(absl::string_view provider, absl::string_view key);

// Returns the message of the 400 for a key whose format looks wrong:
// `API key format looks wrong for provider “<provider>”. <hint>`.
std::string KeyFormatMessage(absl::string_view provider, absl::string_view hint);

}  // namespace byok::gateway

#endif  // BYOK_SERVICES_GATEWAY_KEY_FORMAT_H_
