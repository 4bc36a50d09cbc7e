#include "common/http/path.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <ostream>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"

#include "tests/testing/status_matchers.h"
#include "tests/testing/case_name.h"

namespace byok::http {
namespace {

using ::byok::testing::IsOk;
using ::byok::testing::StatusIs;

struct Normalised {
  std::string input;
  std::string path;
  std::string wire;
};
void PrintTo(const Normalised& c, std::ostream* os) { *os << ::byok::testing::CaseName(c.input); }

class NormaliseOk : public ::testing::TestWithParam<Normalised> {};

TEST_P(NormaliseOk, GivesCanonicalPath) {
  const Normalised& c = GetParam();
  absl::StatusOr<NormalizedTarget> t = NormalizeTarget(c.input);
  ASSERT_THAT(t, IsOk()) << c.input;
  EXPECT_EQ(t->path, c.path) << c.input;
  EXPECT_EQ(t->wire_path, c.wire) << c.input;
  // What is sent reads back as what was checked: normalising the wire form changes nothing.
  absl::StatusOr<NormalizedTarget> again = NormalizeTarget(t->wire_path);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->path, t->path);
  EXPECT_EQ(again->wire_path, t->wire_path);
}

INSTANTIATE_TEST_SUITE_P(
    Paths, NormaliseOk,
    ::testing::Values(
        Normalised{"/v1/chat/completions", "/v1/chat/completions", "/v1/chat/completions"},
        Normalised{"/", "/", "/"},
        Normalised{"/v1//chat///completions", "/v1/chat/completions", "/v1/chat/completions"},
        Normalised{"//v1/chat/completions", "/v1/chat/completions", "/v1/chat/completions"},
        Normalised{"/v1/./chat/./completions", "/v1/chat/completions", "/v1/chat/completions"},
        Normalised{"/v1/x/../chat/completions", "/v1/chat/completions", "/v1/chat/completions"},
        Normalised{"\\v1\\chat\\completions", "/v1/chat/completions", "/v1/chat/completions"},
        Normalised{"/v1/chat%2Fcompletions", "/v1/chat/completions", "/v1/chat/completions"},
        Normalised{"/v1/%63hat/completions", "/v1/chat/completions", "/v1/chat/completions"},
        Normalised{"/v1/chat/completions/", "/v1/chat/completions/", "/v1/chat/completions/"},
        Normalised{"/v1/chat/completions/.", "/v1/chat/completions/", "/v1/chat/completions/"},
        Normalised{"/v1/chat/completions/../../admin", "/v1/admin", "/v1/admin"},
        Normalised{"/v1/%2e%2e%2fadmin", "/admin", "/admin"},
        Normalised{"/v1/chat/..%5Cmodels", "/v1/models", "/v1/models"},
        Normalised{"/v1/a%20b", "/v1/a b", "/v1/a%20b"},
        Normalised{"/v1/caf%c3%a9", "/v1/caf\xc3\xa9", "/v1/caf%C3%A9"},
        Normalised{"/v1beta/models/gemini-2.0-flash:generateContent",
                   "/v1beta/models/gemini-2.0-flash:generateContent",
                   "/v1beta/models/gemini-2.0-flash:generateContent"},
        Normalised{"/v1/a+b@c!$&'()*,;=~", "/v1/a+b@c!$&'()*,;=~", "/v1/a+b@c!$&'()*,;=~"},
        Normalised{"/v1/%22quoted%22<x>", "/v1/\"quoted\"<x>", "/v1/%22quoted%22%3Cx%3E"}));

struct Refused {
  std::string input;
  std::string why;
};
void PrintTo(const Refused& c, std::ostream* os) { *os << ::byok::testing::CaseName(c.input); }

class NormaliseRefused : public ::testing::TestWithParam<Refused> {};

TEST_P(NormaliseRefused, IsInvalidArgument) {
  const Refused& c = GetParam();
  absl::StatusOr<NormalizedTarget> t = NormalizeTarget(c.input);
  EXPECT_THAT(t, StatusIs(absl::StatusCode::kInvalidArgument)) << c.why;
}

INSTANTIATE_TEST_SUITE_P(
    Probes, NormaliseRefused,
    ::testing::Values(
        Refused{"", "empty"}, Refused{"v1/chat", "relative"}, Refused{"?a=1", "no path"},
        Refused{"/..", "climbs above root"}, Refused{"/../etc/passwd", "climbs above root"},
        Refused{"/v1/../../admin", "climbs above root"},
        Refused{"/v1/..%5C..%5Cadmin", "encoded backslash traversal"},
        Refused{"/v1\\..\\..\\admin", "backslash traversal"},
        Refused{"/%2e%2e/admin", "encoded dots"}, Refused{"/v1/%2E%2E/%2E%2E/admin", "upper-case encoded dots"},
        Refused{"/v1/%2e%2e%2f%2e%2e%2fadmin", "encoded dots and slashes"},
        Refused{"/%252e%252e/admin", "double encoding"}, Refused{"/v1/%25", "double encoding"},
        Refused{"/v1/chat/completions%3Fx=1", "encoded ?"}, Refused{"/v1/chat/completions%3fx", "encoded ?"},
        Refused{"/v1/chat/completions%23frag", "encoded #"}, Refused{"/v1/chat/completions#frag", "fragment"},
        Refused{std::string("/v1/chat\0/x", 10), "raw NUL"}, Refused{"/v1/chat%00", "encoded NUL"},
        Refused{"/v1/chat%0d%0aX-Evil:%201", "encoded CRLF"}, Refused{"/v1/chat\r\nX-Evil: 1", "raw CRLF"},
        Refused{"/v1/chat%7f", "encoded DEL"}, Refused{"/v1/chat%09", "encoded tab"},
        Refused{"/v1 chat", "raw space"}, Refused{"/v1/\tchat", "raw tab"},
        Refused{"/v1/caf\xc3\xa9", "raw non-ASCII"}, Refused{"/v1/%zz", "malformed escape"},
        Refused{"/v1/%2", "truncated escape"}, Refused{"/v1/%", "truncated escape"},
        Refused{"/v1/x?a=b\r\n", "CRLF in query"}, Refused{"/v1/x?a b", "space in query"},
        Refused{"/v1/x?a#b", "fragment in query"}, Refused{"/v1/x?a=%zz", "malformed escape in query"},
        Refused{std::string("/v1/x?a=\0", 9), "NUL in query"},
        Refused{"/" + std::string(kMaxTargetLength, 'a'), "over-long"}));

TEST(NormaliseTarget, KeepsQueryApart) {
  absl::StatusOr<NormalizedTarget> t =
      NormalizeTarget("/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse&x=%2F");
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ(t->path, "/v1beta/models/gemini-2.0-flash:streamGenerateContent");
  EXPECT_EQ(t->query, "alt=sse&x=%2F");
  EXPECT_TRUE(t->has_query);
  EXPECT_EQ(t->WireTarget(), "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse&x=%2F");

  absl::StatusOr<NormalizedTarget> empty_query = NormalizeTarget("/v1/x?");
  ASSERT_THAT(empty_query, IsOk());
  EXPECT_TRUE(empty_query->has_query);
  EXPECT_EQ(empty_query->query, "");

  absl::StatusOr<NormalizedTarget> no_query = NormalizeTarget("/v1/x");
  ASSERT_THAT(no_query, IsOk());
  EXPECT_FALSE(no_query->has_query);
  EXPECT_EQ(no_query->WireTarget(), "/v1/x");
}

TEST(NormaliseTarget, AcceptsLongestAllowedInput) {
  std::string longest = "/" + std::string(kMaxTargetLength - 1, 'a');
  EXPECT_THAT(NormalizeTarget(longest), IsOk());
}

TEST(PercentDecode, DecodesOnce) {
  EXPECT_EQ(*PercentDecode("%252e"), "%2e");
  EXPECT_EQ(*PercentDecode("a+b%20c"), "a+b c");
  EXPECT_THAT(PercentDecode("%g0"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(RemoveQueryParam, RemovesEveryFormOfTheName) {
  EXPECT_EQ(RemoveQueryParam("alt=sse&key=abc", "key"), "alt=sse");
  EXPECT_EQ(RemoveQueryParam("key=abc&alt=sse&key=def", "key"), "alt=sse");
  EXPECT_EQ(RemoveQueryParam("KEY=abc&alt=sse", "key"), "alt=sse");
  EXPECT_EQ(RemoveQueryParam("%6Bey=abc", "key"), "");
  EXPECT_EQ(RemoveQueryParam("k%65y=abc&a=1", "key"), "a=1");
  EXPECT_EQ(RemoveQueryParam("key&a=1", "key"), "a=1");
  EXPECT_EQ(RemoveQueryParam("key+=x&a=1", "key"), "a=1");
  EXPECT_EQ(RemoveQueryParam("keys=1&monkey=2&a=key", "key"), "keys=1&monkey=2&a=key");
  EXPECT_EQ(RemoveQueryParam("", "key"), "");
}

TEST(QueryParamValues, DecodesFormEncoding) {
  absl::StatusOr<std::vector<std::string>> v = QueryParamValues("model=nova-2&mo%64el=a+b&x=1", "model");
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(*v, (std::vector<std::string>{"nova-2", "a b"}));
  EXPECT_THAT(QueryParamValues("model=%zz", "model"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_TRUE(QueryParamValues("", "model")->empty());
}

// Random inputs built from the characters traversal tricks are made of: whatever the normaliser accepts
// is in normal form, and normalising what would be sent gives the same path again.
TEST(NormaliseTarget, InvariantsHoldOnRandomInputs) {
  constexpr absl::string_view kAlphabet = "/\\.%2eEfF5Ca?#0 x";
  std::mt19937 rng(20261128);  // fixed seed: failures reproduce
  std::uniform_int_distribution<size_t> pick(0, kAlphabet.size() - 1);
  std::uniform_int_distribution<int> length(1, 24);
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string input = "/";
    for (int n = length(rng); n > 0; --n) input.push_back(kAlphabet[pick(rng)]);
    absl::StatusOr<NormalizedTarget> t = NormalizeTarget(input);
    if (!t.ok()) continue;
    ++accepted;
    ASSERT_EQ(t->path.front(), '/') << input;
    ASSERT_FALSE(absl::StrContains(t->path, "//")) << input;
    for (char c : std::string("\\%?#")) ASSERT_FALSE(absl::StrContains(t->path, c)) << input;
    for (absl::string_view segment : absl::StrSplit(t->path, '/')) {
      ASSERT_NE(segment, ".") << input;
      ASSERT_NE(segment, "..") << input;
    }
    absl::StatusOr<NormalizedTarget> again = NormalizeTarget(t->wire_path);
    ASSERT_TRUE(again.ok()) << input;
    ASSERT_EQ(again->path, t->path) << input;
  }
  EXPECT_GT(accepted, 1000);  // the generator does reach the accepting paths
}

}  // namespace
}  // namespace byok::http
