// Response modes of compat.md §3.16, in the original's order, and the headers each sets.
#include "services/relay/policy/response_mode.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace byok::relay {
namespace {

using Ct = std::optional<std::string>;

TEST(ChooseResponseMode, InTheOriginalsOrder) {
  EXPECT_EQ(ChooseResponseMode(false, false, 204, Ct("application/json")), ResponseMode::kNoContent);
  EXPECT_EQ(ChooseResponseMode(true, true, 304, std::nullopt), ResponseMode::kNoContent);
  EXPECT_EQ(ChooseResponseMode(false, false, 200, Ct("text/event-stream; charset=utf-8")), ResponseMode::kSse);
  EXPECT_EQ(ChooseResponseMode(true, false, 200, Ct("text/event-stream")), ResponseMode::kSse);
  EXPECT_EQ(ChooseResponseMode(false, true, 200, std::nullopt), ResponseMode::kSse);
  EXPECT_EQ(ChooseResponseMode(false, true, 500, std::nullopt), ResponseMode::kText);
  EXPECT_EQ(ChooseResponseMode(false, false, 200, std::nullopt), ResponseMode::kText);
  EXPECT_EQ(ChooseResponseMode(true, false, 200, Ct("application/json")), ResponseMode::kBinary);
  EXPECT_EQ(ChooseResponseMode(false, false, 200, Ct("audio/mpeg")), ResponseMode::kBinary);
  EXPECT_EQ(ChooseResponseMode(false, false, 200, Ct("image/png")), ResponseMode::kBinary);
  EXPECT_EQ(ChooseResponseMode(false, false, 200, Ct("video/mp4")), ResponseMode::kBinary);
  EXPECT_EQ(ChooseResponseMode(false, false, 200, Ct("application/octet-stream")), ResponseMode::kBinary);
  EXPECT_EQ(ChooseResponseMode(false, true, 429, Ct("application/json")), ResponseMode::kJson);
  EXPECT_EQ(ChooseResponseMode(false, false, 200, Ct("text/plain")), ResponseMode::kText);
}

TEST(ModeHeaders, AreExactlyTheOriginals) {
  using V = std::vector<http::HeaderField>;
  auto eq = [](const V& a, const V& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (a[i].name != b[i].name || a[i].value != b[i].value) return false;
    }
    return true;
  };
  EXPECT_TRUE(eq(ModeHeaders(ResponseMode::kSse, Ct("text/event-stream; charset=utf-8"), std::nullopt),
                 V{{"content-type", "text/event-stream"}, {"cache-control", "no-cache"}}));
  EXPECT_TRUE(eq(ModeHeaders(ResponseMode::kJson, Ct("application/json"), std::nullopt),
                 V{{"content-type", "application/json; charset=utf-8"}}));
  EXPECT_TRUE(eq(ModeHeaders(ResponseMode::kBinary, Ct("application/json"), Ct("attachment; filename=a.mp3")),
                 V{{"content-type", "application/json"}, {"content-disposition", "attachment; filename=a.mp3"}}));
  EXPECT_TRUE(eq(ModeHeaders(ResponseMode::kText, Ct("text/plain; charset=iso-8859-1"), std::nullopt),
                 V{{"content-type", "text/plain; charset=utf-8"}}));
  EXPECT_TRUE(eq(ModeHeaders(ResponseMode::kText, std::nullopt, std::nullopt),
                 V{{"content-type", "text/html; charset=utf-8"}}));
  EXPECT_TRUE(eq(ModeHeaders(ResponseMode::kNoContent, std::nullopt, std::nullopt), V{}));
}

}  // namespace
}  // namespace byok::relay
