// A stand-in for the provider route's path precheck until the relay routes define it
// (handlers_relay.cc): lets every path on to the relay, which checks it again anyway. Deleted at merge.
#include "services/gateway/api.h"

namespace byok::gateway {

std::optional<HttpResponse> Api::ProviderRelayPrecheck(const Call& /*call*/) { return std::nullopt; }

}  // namespace byok::gateway
