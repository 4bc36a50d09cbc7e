// byok-relay's own defaults: the cores split between the gateway's and the relay's threads, only
// where the operator set nothing.
#include "apps/one_process_defaults.h"

#include <gtest/gtest.h>

namespace byok::apps {
namespace {

TEST(OneProcessDefaultsTest, UnsetThreadCountsSplitTheCores) {
  for (const auto& [cores, half] : {std::pair{0u, 1}, {1u, 1}, {2u, 1}, {3u, 1}, {8u, 4}}) {
    gateway::GatewayConfig gateway;
    relay::RelayConfig relay;
    ApplyOneProcessDefaults({}, cores, gateway, relay);
    EXPECT_EQ(gateway.threads, half) << cores;
    EXPECT_EQ(relay.upstream.threads, half) << cores;
  }
}

// The relay is in process whatever BYOK_RELAY_ADDR says: the streams are not cut to one for it.
TEST(OneProcessDefaultsTest, RelayStreamsStayFourUnlessSet) {
  gateway::GatewayConfig gateway;
  relay::RelayConfig relay;
  gateway.relay_streams = 1;  // as loaded for the default, one-address BYOK_RELAY_ADDR
  ApplyOneProcessDefaults({}, 2, gateway, relay);
  EXPECT_EQ(gateway.relay_streams, 4);
  gateway.relay_streams = 2;
  ApplyOneProcessDefaults({{"BYOK_RELAY_STREAMS", "2"}}, 2, gateway, relay);
  EXPECT_EQ(gateway.relay_streams, 2);
}

TEST(OneProcessDefaultsTest, WhatTheOperatorSetIsKept) {
  gateway::GatewayConfig gateway;
  relay::RelayConfig relay;
  // As the configs' loaders read them from these variables.
  gateway.threads = 3;
  relay.upstream.threads = 5;
  ApplyOneProcessDefaults({{"BYOK_GATEWAY_THREADS", "3"}, {"BYOK_RELAY_UPSTREAM_THREADS", "5"}}, 8, gateway, relay);
  EXPECT_EQ(gateway.threads, 3);
  EXPECT_EQ(relay.upstream.threads, 5);
}

}  // namespace
}  // namespace byok::apps
