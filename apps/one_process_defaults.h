// What byok-relay sets differently from the daemons' defaults, for the settings the operator left
// unset: in one process the gateway's HTTP threads and the relay's upstream threads split the cores
// (gRPC's callback threads share them too). A thread kept busy costs less per request than two taking
// turns sleeping (docs/performance.md, 2026-12-02 08:20).
#ifndef BYOK_APPS_ONE_PROCESS_DEFAULTS_H_
#define BYOK_APPS_ONE_PROCESS_DEFAULTS_H_

#include <string>

#include "absl/container/flat_hash_map.h"
#include "services/gateway/gateway_config.h"
#include "services/relay/relay_config.h"

namespace byok::apps {

// Half of `cores`, at least one.
int HalfTheCores(unsigned cores);

// Applies the one-process defaults to the settings `vars` (the process's environment) leaves unset:
// BYOK_GATEWAY_THREADS and BYOK_RELAY_UPSTREAM_THREADS half of `cores` each; BYOK_RELAY_STREAMS four
// (the relay is in process: BYOK_RELAY_ADDR does not say where the gateway reaches it).
void ApplyOneProcessDefaults(const absl::flat_hash_map<std::string, std::string>& vars, unsigned cores,
                             gateway::GatewayConfig& gateway, relay::RelayConfig& relay);

}  // namespace byok::apps

#endif  // BYOK_APPS_ONE_PROCESS_DEFAULTS_H_
