// Validating a JSON text without building its document, for bodies that are forwarded as bytes.
#ifndef BYOK_COMMON_JSON_JSON_CHECK_H_
#define BYOK_COMMON_JSON_JSON_CHECK_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/json/json_nesting.h"

namespace byok::json {

// The object or array at the top of a JSON text: whether it holds anything.
enum class JsonShape { kEmpty, kHasElements };

// Accepts exactly the texts ParseBounded(text, max_depth) accepts whose top value is an object or an
// array (strict: nothing but whitespace after it), and says whether that value has any element; allocates
// no document. InvalidArgument otherwise. Never throws; no recursion.
absl::StatusOr<JsonShape> CheckJson(absl::string_view text, int max_depth = kMaxJsonDepth);

}  // namespace byok::json

#endif  // BYOK_COMMON_JSON_JSON_CHECK_H_
