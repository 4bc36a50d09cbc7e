// Configuration values: the input is NAME=value lines, read by the gateway's, relay's and vault's
// configuration loaders and the relay's policy (providers, base URLs, allowlist, limits). Variables
// naming files are left out.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "common/env.h"
#include "services/gateway/gateway_config.h"
#include "services/relay/policy/policy_config.h"
#include "services/relay/relay_config.h"
#include "services/vault/vault_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::flat_hash_map<std::string, std::string> vars;
  for (absl::string_view line :
       absl::StrSplit(absl::string_view(reinterpret_cast<const char*>(data), size), '\n')) {
    std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
    // Variables that name files are the operator's, not hostile, and reading /dev/zero would only
    // test the file system.
    if (absl::StrContains(kv.first, "FILE") || absl::StrContains(kv.first, "PATH") ||
        absl::StrContains(kv.first, "_CA")) {
      continue;
    }
    vars[kv.first] = kv.second;
  }
  byok::Env env(vars);
  (void)byok::gateway::LoadGatewayConfig(env);
  (void)byok::relay::LoadRelayConfig(env);
  (void)byok::relay::PolicyConfig::Load(env);
  (void)byok::vault::LoadVaultConfig(env);
  return 0;
}
