#include "services/gateway/key_format.h"

#include "absl/strings/str_cat.h"

namespace byok::gateway {

std::string KeyFormatMessage(absl::string_view provider, absl::string_view hint) {
  return absl::StrCat("API key format looks wrong for provider \u201c", provider, "\u201d. ", hint);
}

}  // namespace byok::gateway
