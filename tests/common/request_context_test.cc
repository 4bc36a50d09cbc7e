// Request ids and W3C trace context: what is taken from the network, what is made, and the thread's
// current context.
#include "common/request_context.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace byok::trace {
namespace {

constexpr char kTrace[] = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr char kParent[] = "00f067aa0ba902b7";

TEST(RequestIdTest, BoundedAndOfASafeCharset) {
  EXPECT_TRUE(ValidRequestId("abc-123_4.5:6"));
  EXPECT_TRUE(ValidRequestId(std::string(kMaxRequestIdBytes, 'a')));
  EXPECT_FALSE(ValidRequestId(""));
  EXPECT_FALSE(ValidRequestId(std::string(kMaxRequestIdBytes + 1, 'a')));
  for (const char* bad : {"a b", "a\nb", "a\"b", "a=b", "a%0ab", "\xC3\xA9"}) EXPECT_FALSE(ValidRequestId(bad)) << bad;
}

TEST(TraceparentTest, ParsesVersion00AndRefusesMalformedOnes) {
  std::string trace, parent, flags;
  ASSERT_TRUE(ParseTraceparent(std::string("00-") + kTrace + "-" + kParent + "-01", &trace, &parent, &flags));
  EXPECT_EQ(trace, kTrace);
  EXPECT_EQ(parent, kParent);
  EXPECT_EQ(flags, "01");
  // A later version may carry more after the known fields.
  EXPECT_TRUE(ParseTraceparent(std::string("01-") + kTrace + "-" + kParent + "-00-extra", &trace, &parent, &flags));
  for (const std::string& bad : {
           std::string("ff-") + kTrace + "-" + kParent + "-01",                      // forbidden version
           std::string("00-") + kTrace + "-" + kParent + "-01-x",                    // 00 has nothing more
           std::string("00-") + std::string(32, '0') + "-" + kParent + "-01",        // zero trace id
           std::string("00-") + kTrace + "-" + std::string(16, '0') + "-01",         // zero parent id
           std::string("00-4BF92F3577B34DA6A3CE929D0E0E4736-") + kParent + "-01",    // upper case
           std::string("00-") + kTrace + "_" + kParent + "-01", std::string("00-") + kTrace, std::string(""),
       }) {
    EXPECT_FALSE(ParseTraceparent(bad, &trace, &parent, &flags)) << bad;
  }
}

TEST(TracestateTest, BoundedPrintableKeyValueList) {
  EXPECT_TRUE(ValidTracestate("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"));
  EXPECT_FALSE(ValidTracestate(""));
  EXPECT_FALSE(ValidTracestate("novalue"));
  EXPECT_FALSE(ValidTracestate("a=b\nc=d"));
  EXPECT_FALSE(ValidTracestate("a=" + std::string(kMaxTracestateBytes, 'b')));
}

TEST(ContinueTest, KeepsValidIdsWithANewSpanAndMakesWhatIsMissingOrInvalid) {
  RequestContext c = Continue("req-1", std::string("00-") + kTrace + "-" + kParent + "-01", "k=v");
  EXPECT_EQ(c.request_id, "req-1");
  EXPECT_EQ(c.trace_id, kTrace);
  EXPECT_EQ(c.flags, "01");
  EXPECT_EQ(c.tracestate, "k=v");
  EXPECT_NE(c.span_id, kParent);
  EXPECT_EQ(c.Traceparent(), std::string("00-") + kTrace + "-" + c.span_id + "-01");
  std::string trace, parent, flags;
  EXPECT_TRUE(ParseTraceparent(c.Traceparent(), &trace, &parent, &flags));

  RequestContext made = Continue("bad id", "garbage", "k=v");
  EXPECT_TRUE(ValidRequestId(made.request_id));
  EXPECT_EQ(made.request_id.size(), 32u);
  EXPECT_EQ(made.trace_id.size(), 32u);
  EXPECT_EQ(made.tracestate, "");  // no tracestate without the traceparent it belongs to
  EXPECT_TRUE(ParseTraceparent(made.Traceparent(), &trace, &parent, &flags));
  EXPECT_NE(Continue("", "", "").trace_id, made.trace_id);
}

TEST(ScopedContextTest, NestsAndRestores) {
  EXPECT_EQ(Current(), nullptr);
  RequestContext a = Continue("a", "", "");
  RequestContext b = Continue("b", "", "");
  {
    ScopedContext outer(&a);
    EXPECT_EQ(Current(), &a);
    {
      ScopedContext inner(&b);
      EXPECT_EQ(Current(), &b);
    }
    EXPECT_EQ(Current(), &a);
  }
  EXPECT_EQ(Current(), nullptr);
}

}  // namespace
}  // namespace byok::trace
