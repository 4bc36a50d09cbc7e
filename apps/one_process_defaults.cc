#include "apps/one_process_defaults.h"

#include <algorithm>

namespace byok::apps {

int HalfTheCores(unsigned cores) { return std::max(1, static_cast<int>(cores / 2)); }

void ApplyOneProcessDefaults(const absl::flat_hash_map<std::string, std::string>& vars, unsigned cores,
                             gateway::GatewayConfig& gateway, relay::RelayConfig& relay) {
  if (!vars.contains("BYOK_GATEWAY_THREADS")) gateway.threads = HalfTheCores(cores);
  if (!vars.contains("BYOK_RELAY_UPSTREAM_THREADS")) relay.upstream.threads = HalfTheCores(cores);
  // The relay is in process (BYOK_RELAY_ADDR, when set, is only where it also listens): four streams,
  // as measured for one process (docs/performance.md), not the one a single relay address gets.
  if (!vars.contains("BYOK_RELAY_STREAMS")) gateway.relay_streams = gateway::GatewayConfig::kRelayStreamsToSpread;
}

}  // namespace byok::apps
