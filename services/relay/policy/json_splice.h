// Replaces one top-level value of a JSON object in place, leaving every other byte as the client sent
// it (key order, spacing, number spelling): the unified route swaps "model" without re-serialising.
#ifndef BYOK_SERVICES_RELAY_POLICY_JSON_SPLICE_H_
#define BYOK_SERVICES_RELAY_POLICY_JSON_SPLICE_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace byok::relay {

// Returns `object_json` with the value of its top-level member `key` replaced by the JSON text
// `new_value` (the last member of that name, which is the one JSON parsers keep). nullopt when
// `object_json` is not a JSON object or has no such member. `object_json` must already be valid JSON
// (the scan is iterative and does not validate).
std::optional<std::string> ReplaceTopLevelValue(absl::string_view object_json, absl::string_view key,
                                                absl::string_view new_value);

}  // namespace byok::relay

#endif  // BYOK_SERVICES_RELAY_POLICY_JSON_SPLICE_H_
