// The relay call's phases: the transitions a call can make, and the ones it must refuse.
#include <gtest/gtest.h>

#include "services/relay/relay_reactor.h"

namespace byok::relay {
namespace {

using Phase = RelayReactor::Phase;

TEST(RelayPhase, AllowsTheCallsPaths) {
  // Refused before the provider: resolving, then done.
  EXPECT_TRUE(RelayReactor::CanAdvance(Phase::kResolving, Phase::kDone));
  // Forwarded, ended while idle.
  EXPECT_TRUE(RelayReactor::CanAdvance(Phase::kResolving, Phase::kForwarding));
  EXPECT_TRUE(RelayReactor::CanAdvance(Phase::kForwarding, Phase::kDone));
  // Forwarded, ended during a write: finishing, then done.
  EXPECT_TRUE(RelayReactor::CanAdvance(Phase::kForwarding, Phase::kFinishing));
  EXPECT_TRUE(RelayReactor::CanAdvance(Phase::kFinishing, Phase::kDone));
}

TEST(RelayPhase, RefusesImpossibleTransitions) {
  for (Phase from : {Phase::kResolving, Phase::kForwarding, Phase::kFinishing, Phase::kDone}) {
    EXPECT_FALSE(RelayReactor::CanAdvance(from, from)) << static_cast<int>(from);  // no re-entry
    EXPECT_FALSE(RelayReactor::CanAdvance(Phase::kDone, from)) << static_cast<int>(from);  // done is final
    EXPECT_FALSE(RelayReactor::CanAdvance(from, Phase::kResolving)) << static_cast<int>(from);
  }
  EXPECT_FALSE(RelayReactor::CanAdvance(Phase::kResolving, Phase::kFinishing));  // no write before forwarding
  EXPECT_FALSE(RelayReactor::CanAdvance(Phase::kFinishing, Phase::kForwarding));
}

}  // namespace
}  // namespace byok::relay
