// Lower-case hexadecimal encoding with strict decoding.
#ifndef BYOK_COMMON_CRYPTO_HEX_H_
#define BYOK_COMMON_CRYPTO_HEX_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace byok::crypto {

// Returns `bytes` as lower-case hex, two characters per byte.
std::string HexEncode(absl::string_view bytes);

// Decodes hex (either case). Fails with InvalidArgument on an odd length or a non-hex character; the
// message never quotes the input, which may be a secret.
absl::StatusOr<std::string> HexDecode(absl::string_view hex);

// Returns true when `text` is non-empty and every character is a hex digit.
bool IsHex(absl::string_view text);

}  // namespace byok::crypto

#endif  // BYOK_COMMON_CRYPTO_HEX_H_
