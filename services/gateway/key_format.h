// The 400 POST /keys/{provider}/rotate gives a key whose format looks wrong for its provider (compat.md
// §3.7). The rules and hints themselves belong to the provider catalog (common/providers).
#ifndef BYOK_SERVICES_GATEWAY_KEY_FORMAT_H_
#define BYOK_SERVICES_GATEWAY_KEY_FORMAT_H_

#include <string>

#include "absl/strings/string_view.h"

namespace byok::gateway {

// Returns the message of the 400 for a key whose format looks wrong:
// `API key format looks wrong for provider “<provider>”. <hint>`.
std::string KeyFormatMessage(absl::string_view provider, absl::string_view hint);

}  // namespace byok::gateway

#endif  // BYOK_SERVICES_GATEWAY_KEY_FORMAT_H_
