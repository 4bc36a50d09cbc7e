// The logger writes one line per event whatever the message holds: what came from the network is escaped.
#include "common/logging.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/str_split.h"
#include "common/request_context.h"

namespace byok::log {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(EscapeForLogTest, PrintableTextAndUtf8PassUnchanged) {
  EXPECT_EQ(EscapeForLog("provider openai, path /v1/chat?x=1"), "provider openai, path /v1/chat?x=1");
  EXPECT_EQ(EscapeForLog("gr\xC3\xBC\xC3\x9F \xE2\x82\xAC \xF0\x9F\x98\x80"),
            "gr\xC3\xBC\xC3\x9F \xE2\x82\xAC \xF0\x9F\x98\x80");
}

TEST(EscapeForLogTest, LineBreaksAndControlBytesAreEscaped) {
  EXPECT_EQ(EscapeForLog("a\r\nb\tc"), "a\\r\\nb\\tc");
  EXPECT_EQ(EscapeForLog(std::string("x\0y", 3)), "x\\x00y");
  EXPECT_EQ(EscapeForLog("\x1b[31mred\x7f"), "\\x1b[31mred\\x7f");
  // The backslash is escaped too, so a literal "\n" in the input cannot pass for an escaped newline.
  EXPECT_EQ(EscapeForLog("a\\nb"), "a\\\\nb");
}

TEST(EscapeForLogTest, MalformedUtf8AndInvisibleControlsAreEscapedPerByte) {
  EXPECT_EQ(EscapeForLog("\xFF\xFE"), "\\xff\\xfe");
  EXPECT_EQ(EscapeForLog("\xC3"), "\\xc3");                      // cut short
  EXPECT_EQ(EscapeForLog("\xC0\xAF"), "\\xc0\\xaf");             // overlong '/'
  EXPECT_EQ(EscapeForLog("\xED\xA0\x80"), "\\xed\\xa0\\x80");    // a surrogate
  EXPECT_EQ(EscapeForLog("\xF4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
  EXPECT_EQ(EscapeForLog("\xC2\x85"), "\\xc2\\x85");             // NEL, a C1 control
  EXPECT_EQ(EscapeForLog("\xE2\x80\xA8"), "\\xe2\\x80\\xa8");    // LINE SEPARATOR
  EXPECT_EQ(EscapeForLog("\xE2\x80\xAE"), "\\xe2\\x80\\xae");    // RIGHT-TO-LEFT OVERRIDE
}

TEST(EscapeForLogTest, EveryByteValueGivesPrintableOutput) {
  for (int b = 0; b < 256; ++b) {
    std::string out = EscapeForLog(std::string(1, static_cast<char>(b)));
    for (char c : out) {
      unsigned char u = static_cast<unsigned char>(c);
      EXPECT_TRUE(u >= 0x20 && u < 0x7F) << "byte " << b << " gave " << out;
    }
  }
}

// LOG_LEVEL takes the original's (pino's) level names as well as ours.
TEST(ParseLevelTest, TakesTheOriginalsLevelNames) {
  const std::pair<const char*, Level> cases[] = {
      {"trace", Level::kDebug}, {"debug", Level::kDebug}, {"info", Level::kInfo},
      {"warn", Level::kWarn},   {"error", Level::kError}, {"fatal", Level::kError},
      {"silent", Level::kOff},  {" Off ", Level::kOff}};
  for (const auto& [text, want] : cases) {
    Level level = Level::kInfo;
    ASSERT_TRUE(ParseLevel(text, &level).ok()) << text;
    EXPECT_EQ(level, want) << text;
  }
  Level level = Level::kInfo;
  EXPECT_FALSE(ParseLevel("verbose", &level).ok());
}

TEST(LoggingTest, AForgedLineStaysInsideOneLine) {
  SetLevel(Level::kInfo);
  ::testing::internal::CaptureStderr();
  // As a provider name decoded from "%0a" and "%00" would arrive.
  static constexpr char kForged[] = "open\nai 2026-01-01T00:00:00.000Z error [vault] forged\0x";
  Info("gateway", "relay call for %s failed: %s", std::string(kForged, sizeof(kForged) - 1), "x\r\ny");
  Write(Level::kWarn, "comp\nonent", "m");
  std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2) << out;
  EXPECT_THAT(out, Not(HasSubstr(std::string(1, '\0'))));
  EXPECT_THAT(out, Not(HasSubstr("\r")));
  EXPECT_THAT(out, HasSubstr("open\\nai 2026-01-01T00:00:00.000Z error [vault] forged\\x00x"));
  EXPECT_THAT(out, HasSubstr("[comp\\nonent] m"));
}

TEST(ParseFormatTest, TextOrJson) {
  Format format = Format::kJson;
  ASSERT_TRUE(ParseFormat("text", &format).ok());
  EXPECT_EQ(format, Format::kText);
  ASSERT_TRUE(ParseFormat(" JSON ", &format).ok());
  EXPECT_EQ(format, Format::kJson);
  EXPECT_FALSE(ParseFormat("logfmt", &format).ok());
}

// Writes with `format`, returns the lines written.
std::vector<std::string> Capture(Format format, const std::function<void()>& write) {
  SetLevel(Level::kInfo);
  SetFormat(format);
  ::testing::internal::CaptureStderr();
  write();
  std::string out = ::testing::internal::GetCapturedStderr();
  SetFormat(Format::kText);
  std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), static_cast<long>(lines.size())) << out;
  return lines;
}

TEST(JsonLogTest, OneObjectPerLineWithTheRequestsIdsAndFields) {
  trace::RequestContext context = trace::Continue("req-123", "", "");
  std::vector<std::string> lines = Capture(Format::kJson, [&] {
    trace::ScopedContext scope(&context);
    Write(Level::kInfo, "gateway", "request", {{"route", "/keys"}, {"status", "200"}});
  });
  ASSERT_EQ(lines.size(), 1u);
  nlohmann::json j = nlohmann::json::parse(lines[0], nullptr, false);
  ASSERT_TRUE(j.is_object()) << lines[0];
  EXPECT_TRUE(j["time"].is_string());
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["service"], "gateway");
  EXPECT_EQ(j["message"], "request");
  EXPECT_EQ(j["request_id"], "req-123");
  EXPECT_EQ(j["trace_id"], context.trace_id);
  EXPECT_EQ(j["fields"]["route"], "/keys");
  EXPECT_EQ(j["fields"]["status"], "200");
  // Without a current request there are no ids.
  lines = Capture(Format::kJson, [] { Info("vault", "started"); });
  ASSERT_EQ(lines.size(), 1u);
  j = nlohmann::json::parse(lines[0], nullptr, false);
  EXPECT_FALSE(j.contains("request_id")) << lines[0];
}

TEST(JsonLogTest, NetworkValuesCannotForgeALineOrAFieldInEitherForm) {
  static constexpr char kForged[] = "x\"}\n{\"level\":\"error\",\"message\":\"forged\"}\r\n\xFF\xE2\x80\xA8";
  for (Format format : {Format::kJson, Format::kText}) {
    std::vector<std::string> lines = Capture(format, [] {
      Write(Level::kWarn, "gateway", kForged, {{"path", kForged}, {"na\nme", "v"}});
    });
    ASSERT_EQ(lines.size(), 1u) << static_cast<int>(format);
    EXPECT_THAT(lines[0], Not(HasSubstr("\r")));
    if (format == Format::kJson) {
      nlohmann::json j = nlohmann::json::parse(lines[0], nullptr, false);
      ASSERT_TRUE(j.is_object()) << lines[0];
      EXPECT_EQ(j["level"], "warn");
      // The parsed value is the text form's escaped value: one escaping, read the same in both forms.
      EXPECT_EQ(j["message"], EscapeForLog(kForged));
      EXPECT_EQ(j["fields"]["path"], EscapeForLog(kForged));
      EXPECT_TRUE(j["fields"].contains("na\\nme"));
    } else {
      EXPECT_THAT(lines[0], HasSubstr(" path=" + EscapeForLog(kForged)));
    }
  }
}

}  // namespace
}  // namespace byok::log
