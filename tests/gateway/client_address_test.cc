#include "services/gateway/http/client_address.h"

#include <gtest/gtest.h>

namespace byok::gateway {
namespace {

TEST(ClientAddressTest, WithoutTrustedProxiesThePeerIsTheClient) {
  EXPECT_EQ(ClientAddress("10.0.0.1", "1.2.3.4", 0), "10.0.0.1");
  EXPECT_EQ(ClientAddress("10.0.0.1", "", 2), "10.0.0.1");
}

TEST(ClientAddressTest, TrustsAsManyHopsAsConfigured) {
  // client 1.1.1.1 -> proxy A (adds 1.1.1.1) -> proxy B (adds A=2.2.2.2) -> gateway (peer B).
  EXPECT_EQ(ClientAddress("3.3.3.3", "1.1.1.1, 2.2.2.2", 1), "2.2.2.2");
  EXPECT_EQ(ClientAddress("3.3.3.3", "1.1.1.1, 2.2.2.2", 2), "1.1.1.1");
  // A client that prepends a forged entry cannot get past the trusted hops.
  EXPECT_EQ(ClientAddress("3.3.3.3", "6.6.6.6, 1.1.1.1", 1), "1.1.1.1");
  // Fewer entries than hops: the leftmost one.
  EXPECT_EQ(ClientAddress("3.3.3.3", "1.1.1.1", 3), "1.1.1.1");
  EXPECT_EQ(ClientAddress("::1", "2001:db8::1", 1), "2001:db8::1");
}

TEST(ClientAddressTest, StopsAtAnEntryThatIsNotAnAddress) {
  EXPECT_EQ(ClientAddress("3.3.3.3", "1.1.1.1, garbage", 2), "3.3.3.3");
  EXPECT_EQ(ClientAddress("3.3.3.3", "garbage, 2.2.2.2", 2), "2.2.2.2");
}

}  // namespace
}  // namespace byok::gateway
