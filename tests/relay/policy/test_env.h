// Builds an Env from a map literal (Env({...}) alone is ambiguous with Env's copy constructor).
#ifndef BYOK_TESTS_RELAY_POLICY_TEST_ENV_H_
#define BYOK_TESTS_RELAY_POLICY_TEST_ENV_H_

#include <string>

#include "absl/container/flat_hash_map.h"
#include "common/env.h"

namespace byok::relay {

inline Env TestEnv(absl::flat_hash_map<std::string, std::string> vars) { return Env(std::move(vars)); }

}  // namespace byok::relay

#endif  // BYOK_TESTS_RELAY_POLICY_TEST_ENV_H_
