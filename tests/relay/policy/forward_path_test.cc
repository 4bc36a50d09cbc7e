// The forward path of compat.md §3.15 (decoded twice, POSIX-normalised) and the target sent upstream.
#include "services/relay/policy/forward_path.h"

#include <gtest/gtest.h>

#include <string>

namespace byok::relay {
namespace {

TEST(ComputeForwardPath, FollowsTheOriginalsSteps) {
  struct Case {
    const char* raw;
    const char* forward;
  };
  for (const Case& c : {
           Case{"v1/chat/completions", "/v1/chat/completions"},
           Case{"", "/"},
           Case{"v1/messages/", "/v1/messages/"},
           Case{"v1//chat///completions", "/v1/chat/completions"},
           Case{"v1/./messages", "/v1/messages"},
           Case{"v1/models/../messages", "/v1/messages"},
           Case{"../../etc/passwd", "/etc/passwd"},          // never above the root
           Case{"v1/messages/../../v1/models", "/v1/models"},
           Case{"v1%2Fmessages", "/v1/messages"},             // decoded once
           Case{"v1/%2e%2e/v1/models", "/v1/models"},
           Case{"v1/%252e%252e/models", "/models"},           // decoded twice
           Case{"v1/listen%3Fmodel=nova-2", "/v1/listen?model=nova-2"},
           Case{"v1/listen%253Fmodel=nova-2", "/v1/listen?model=nova-2"},
           Case{"v1/%zz/x", "/v1/%zz/x"},                     // a bad escape is left as it is
           Case{"v1/%25zz", "/v1/%zz"},                       // first decode works, second fails
       }) {
    EXPECT_EQ(ComputeForwardPath(c.raw), c.forward) << c.raw;
  }
}

TEST(PosixNormalize, AsNodesPathPosixNormalize) {
  EXPECT_EQ(PosixNormalize("/"), "/");
  EXPECT_EQ(PosixNormalize("/a/.."), "/");
  EXPECT_EQ(PosixNormalize("/a/../"), "/");
  EXPECT_EQ(PosixNormalize("/a/b/../c/./d/"), "/a/c/d/");
  EXPECT_EQ(PosixNormalize("/.."), "/");
  EXPECT_EQ(PosixNormalize("a/../../b"), "../b");
}

TEST(UpstreamTarget, EncodesWhatWasCheckedAndAddsTheClientsQuery) {
  EXPECT_EQ(UpstreamTarget("", "/v1/chat/completions", ""), "/v1/chat/completions");
  EXPECT_EQ(UpstreamTarget("/base", "/v1/chat/completions", "a=1&b=%20"), "/base/v1/chat/completions?a=1&b=%20");
  // A '?' from %3F starts the query; the client's query joins it with '&'.
  EXPECT_EQ(UpstreamTarget("", "/v1/listen?model=nova-2", "smart_format=true"),
            "/v1/listen?model=nova-2&smart_format=true");
  // Bytes that could not stand in a request line, and '%' itself, are encoded: the provider decodes
  // exactly the checked string.
  EXPECT_EQ(UpstreamTarget("", "/v1/models/a b#c%2e\r\n", ""), "/v1/models/a%20b%23c%252e%0D%0A");
  EXPECT_EQ(UpstreamTarget("", "/v1/x?q=a b", "c=d e"), "/v1/x?q=a%20b&c=d%20e");
}

TEST(DecodeUriComponent, RefusesMalformedEscapes) {
  std::string out;
  EXPECT_TRUE(DecodeUriComponent("a%2Fb%2f", out));
  EXPECT_EQ(out, "a/b/");
  EXPECT_FALSE(DecodeUriComponent("%", out));
  EXPECT_FALSE(DecodeUriComponent("%2", out));
  EXPECT_FALSE(DecodeUriComponent("%g0", out));
}

}  // namespace
}  // namespace byok::relay
