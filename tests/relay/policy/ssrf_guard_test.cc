#include "services/relay/policy/ssrf_guard.h"

#include <gtest/gtest.h>

#include <string>
#include <ostream>

#include "tests/testing/status_matchers.h"
#include "tests/testing/case_name.h"

namespace byok::relay {
namespace {

using ::byok::testing::IsOk;
using ::byok::testing::StatusIs;

class RefusedAddress : public ::testing::TestWithParam<std::string> {};

TEST_P(RefusedAddress, IsPermissionDenied) {
  EXPECT_THAT(CheckAddress(GetParam()), StatusIs(absl::StatusCode::kPermissionDenied)) << GetParam();
  EXPECT_THAT(CheckAddresses({"8.8.8.8", GetParam()}), StatusIs(absl::StatusCode::kPermissionDenied));
}

INSTANTIATE_TEST_SUITE_P(
    Ipv4, RefusedAddress,
    ::testing::Values("127.0.0.1", "127.255.255.254", "0.0.0.0", "0.1.2.3", "10.0.0.1", "10.255.255.255",
                      "172.16.0.1", "172.31.255.255", "192.168.0.1", "192.168.255.255", "100.64.0.1",
                      "100.127.255.255", "100.100.100.200", "169.254.169.254", "169.254.0.1",
                      "192.0.0.192", "192.0.2.1", "192.88.99.1", "198.18.0.1", "198.19.255.255",
                      "198.51.100.7", "203.0.113.9", "224.0.0.1", "239.255.255.250", "240.0.0.1",
                      "255.255.255.255"));

INSTANTIATE_TEST_SUITE_P(
    Ipv6, RefusedAddress,
    ::testing::Values("::", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "::ffff:7f00:1", "::ffff:10.0.0.1",
                      "::ffff:169.254.169.254", "::ffff:0.0.0.0", "::ffff:8.8.8.8", "::ffff:0:7f00:1", "::127.0.0.1",
                      "::10.1.2.3", "64:ff9b::7f00:1", "64:ff9b::127.0.0.1", "64:ff9b::a9fe:a9fe",
                      "64:ff9b::c0a8:101", "64:ff9b:1::1", "64:ff9b:1::808:808", "2002:7f00:1::",
                      "2002:a9fe:a9fe::1", "2002:0a00:0001::1", "2001::1",
                      "2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001:2::1", "2001:10::1", "2001:20::1",
                      "2001:db8::1", "3fff::1", "fe80::1", "febf:ffff::1", "fec0::1", "fc00::1", "fd00::1",
                      "fd00:ec2::254", "ff02::1", "ff05::2", "ff0e::1", "100::1", "100::ffff:ffff:ffff:ffff",
                      "4000::1", "::2:3:4:5"));

class AllowedAddress : public ::testing::TestWithParam<std::string> {};

TEST_P(AllowedAddress, IsAccepted) { EXPECT_THAT(CheckAddress(GetParam()), IsOk()) << GetParam(); }

INSTANTIATE_TEST_SUITE_P(Public, AllowedAddress,
                         ::testing::Values("8.8.8.8", "1.1.1.1", "93.184.216.34", "172.15.255.255",
                                           "172.32.0.1", "100.63.255.255", "100.128.0.1", "192.167.255.255",
                                           "192.169.0.1", "169.253.255.255", "198.17.255.255", "198.20.0.1",
                                           "223.255.255.255", "11.0.0.1", "2606:4700:4700::1111",
                                           "2001:4860:4860::8888", "2a00:1450:4001:80b::200e",
                                           "64:ff9b::808:808", "2002:808:808::1",
                                           "2001:1::1"));

TEST(CheckAddress, RefusesWhatIsNotALiteral) {
  for (const char* bad : {"", "localhost", "1.2.3", "2130706433", "0x7f.1", "::1%lo", "[::1]",
                          "127.0.0.1:80", " 127.0.0.1", "fe80::1%eth0", "1.2.3.4.5", "::ffff:127.0.0.1.1"}) {
    EXPECT_THAT(CheckAddress(bad), StatusIs(absl::StatusCode::kInvalidArgument)) << bad;
  }
}

TEST(CheckAddresses, NeedsEveryAddressPublic) {
  EXPECT_THAT(CheckAddresses({"8.8.8.8", "2606:4700:4700::1111"}), IsOk());
  EXPECT_THAT(CheckAddresses({"8.8.8.8", "127.0.0.1"}), StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(CheckAddresses({"::1", "8.8.8.8"}), StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(CheckAddresses({}), ::testing::Not(IsOk()));
}

// One x-relay-base-url and the exact outcome (compat.md §5): "" accepted, else the 400 text.
struct BaseUrlCase {
  std::string url;
  absl::string_view strict;   // without BYOK_ALLOW_PRIVATE_UPSTREAMS
  absl::string_view lenient;  // with it
};
void PrintTo(const BaseUrlCase& c, std::ostream* os) { *os << ::byok::testing::CaseName(c.url); }

class ClientBaseUrl : public ::testing::TestWithParam<BaseUrlCase> {};

void ExpectOutcome(const absl::StatusOr<http::BaseUrl>& got, absl::string_view want, const std::string& url) {
  if (want.empty()) {
    EXPECT_THAT(got, IsOk()) << url;
  } else {
    EXPECT_THAT(got, StatusIs(absl::StatusCode::kInvalidArgument)) << url;
    EXPECT_EQ(got.status().message(), want) << url;
  }
}

TEST_P(ClientBaseUrl, IsJudgedWithTheOriginalsText) {
  const BaseUrlCase& c = GetParam();
  ExpectOutcome(CheckClientBaseUrl(c.url, /*allow_private=*/false), c.strict, c.url);
  ExpectOutcome(CheckClientBaseUrl(c.url, /*allow_private=*/true), c.lenient, c.url);
}

constexpr absl::string_view kOk = "";

INSTANTIATE_TEST_SUITE_P(
    Probes, ClientBaseUrl,
    ::testing::Values(
        BaseUrlCase{"", kBaseUrlRequired, kBaseUrlRequired},
        BaseUrlCase{"not a url", kBaseUrlInvalid, kBaseUrlInvalid},
        BaseUrlCase{"//llm.example.com", kBaseUrlInvalid, kBaseUrlInvalid},
        BaseUrlCase{"https://", kBaseUrlInvalid, kBaseUrlInvalid},
        BaseUrlCase{"https://llm.example.com:99999", kBaseUrlInvalid, kBaseUrlInvalid},
        BaseUrlCase{"https://[fe80::1%25eth0]", kBaseUrlInvalid, kBaseUrlInvalid},
        // A URL first, https second: ftp is a URL, just not https.
        BaseUrlCase{"ftp://llm.example.com", kBaseUrlNotHttps, kBaseUrlNotHttps},
        BaseUrlCase{"http://llm.example.com/v1", kBaseUrlNotHttps, kOk},
        BaseUrlCase{"http://127.0.0.1:11434/v1", kBaseUrlNotHttps, kOk},
        // https before credentials, credentials before the address.
        BaseUrlCase{"http://user:pass@127.0.0.1", kBaseUrlNotHttps, kBaseUrlCredentials},
        BaseUrlCase{"https://user:pass@llm.example.com", kBaseUrlCredentials, kBaseUrlCredentials},
        BaseUrlCase{"https://llm.example.com@127.0.0.1", kBaseUrlCredentials, kBaseUrlCredentials},
        BaseUrlCase{"https://user@10.0.0.1", kBaseUrlCredentials, kBaseUrlCredentials},
        BaseUrlCase{"https://127.0.0.1", kBaseUrlPrivateIp, kOk},
        BaseUrlCase{"https://169.254.169.254/latest/meta-data", kBaseUrlPrivateIp, kOk},
        BaseUrlCase{"https://100.100.100.200", kBaseUrlPrivateIp, kOk},
        BaseUrlCase{"https://[::1]", kBaseUrlPrivateIp, kOk},
        BaseUrlCase{"https://[::ffff:127.0.0.1]", kBaseUrlPrivateIp, kOk},
        BaseUrlCase{"https://[::ffff:8.8.8.8]", kBaseUrlPrivateIp, kOk},
        BaseUrlCase{"https://[64:ff9b::7f00:1]", kBaseUrlPrivateIp, kOk},
        BaseUrlCase{"https://[fe80::1]", kBaseUrlPrivateIp, kOk},
        BaseUrlCase{"https://[fc00::1]", kBaseUrlPrivateIp, kOk},
        BaseUrlCase{"https://10.1.2.3", kBaseUrlPrivateIp, kOk},
        BaseUrlCase{"https://172.16.0.1", kBaseUrlPrivateIp, kOk},
        BaseUrlCase{"https://192.168.1.1", kBaseUrlPrivateIp, kOk},
        BaseUrlCase{"https://100.64.0.1", kBaseUrlPrivateIp, kOk},
        BaseUrlCase{"https://198.51.100.1", kBaseUrlPrivateIp, kOk},
        BaseUrlCase{"https://240.0.0.1", kBaseUrlPrivateIp, kOk},
        // Numeric hosts in any WHATWG form mean the address they spell.
        BaseUrlCase{"https://2130706433", kBaseUrlPrivateIp, kOk},
        BaseUrlCase{"https://0x7f.1", kBaseUrlPrivateIp, kOk},
        BaseUrlCase{"https://017700000001", kBaseUrlPrivateIp, kOk},
        BaseUrlCase{"https://0", kBaseUrlPrivateIp, kOk},
        BaseUrlCase{"https://localhost", kBaseUrlLocalhost, kOk},
        BaseUrlCase{"https://LOCALHOST.", kBaseUrlLocalhost, kOk},
        BaseUrlCase{"https://api.localhost:8443", kBaseUrlLocalhost, kOk},
        // Only the origin is used: path, query and fragment are dropped, not refused.
        BaseUrlCase{"https://llm.example.com/v1", kOk, kOk},
        BaseUrlCase{"https://llm.example.com/v1?x=1", kOk, kOk},
        BaseUrlCase{"https://llm.example.com/v1#x", kOk, kOk},
        BaseUrlCase{"HTTPS://8.8.8.8", kOk, kOk}));

TEST(ClientBaseUrl, KeepsOnlyTheOrigin) {
  absl::StatusOr<http::BaseUrl> u = CheckClientBaseUrl("https://llm.example.com:8443/v1/x?y=1#z", false);
  ASSERT_THAT(u, IsOk());
  EXPECT_EQ(u->host, "llm.example.com");
  EXPECT_EQ(u->port, 8443);
  EXPECT_EQ(u->base_path, "");
  EXPECT_TRUE(u->tls());
}

TEST(ClientBaseUrl, MessagesDoNotRepeatCredentials) {
  absl::StatusOr<http::BaseUrl> u = CheckClientBaseUrl("https://user:hunter2@llm.example.com", false);
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.status().message().find("hunter2"), absl::string_view::npos);
}

}  // namespace
}  // namespace byok::relay
