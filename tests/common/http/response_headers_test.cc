#include "common/http/response_headers.h"

#include <gtest/gtest.h>

namespace byok::http {
namespace {

TEST(NeverPassedToBrowser, CookiesCorsFramingAndHopByHop) {
  for (const char* never : {"set-cookie", "set-cookie2", "access-control-allow-origin",
                            "access-control-allow-credentials", "vary", "content-length", "host",
                            "connection", "transfer-encoding", "keep-alive", "upgrade", "Set-Cookie"}) {
    EXPECT_TRUE(IsNeverPassedToBrowser(never)) << never;
  }
  for (const char* passed : {"content-type", "retry-after", "x-ratelimit-remaining-requests",
                             "x-request-id", "cache-control", "access-control"}) {
    EXPECT_FALSE(IsNeverPassedToBrowser(passed)) << passed;
  }
}

}  // namespace
}  // namespace byok::http
