// Hostile bytes meant for the logs: a provider name, path and header values with encoded CR, LF and NUL
// sent through the real suite at debug level. Every line of every daemon's log is still one event that
// starts with its timestamp, and no NUL byte is written.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/e2e/suite.h"

namespace byok::testing {
namespace {

constexpr char kForged[] = "2026-01-01T00:00:00.000Z error [vault] forged";

TEST(FaultLogForgingTest, EncodedLineBreaksAndNulInRequestsCannotForgeLogLines) {
  SuiteOptions options;
  options.gateway_env["LOG_LEVEL"] = "debug";
  options.relay_env["LOG_LEVEL"] = "debug";
  options.vault_env["LOG_LEVEL"] = "debug";
  auto suite = Suite::Start(options);
  ASSERT_TRUE(suite.ok()) << suite.status();
  Suite& s = **suite;
  auto token = s.Register();
  ASSERT_TRUE(token.ok()) << token.status();

  std::string forged_encoded = "%0a2026-01-01T00:00:00.000Z%20error%20%5bvault%5d%20forged%00x";
  for (const std::string& target :
       {absl::StrCat("/relay/open", forged_encoded, "ai/v1/chat/completions"),
        absl::StrCat("/relay/openai/v1/chat/completions", forged_encoded),
        absl::StrCat("/keys/open", forged_encoded), absl::StrCat("/no/such", forged_encoded)}) {
    auto r = Fetch(s.port(), "POST", target,
                   {{"x-relay-token", *token}, {"Content-Type", "application/json"}},
                   R"({"model":"gpt-4o-mini\n2026-01-01T00:00:00.000Z error [vault] forged","messages":[]})");
    ASSERT_TRUE(r.ok()) << target << ": " << r.status();
  }

  std::string logs = s.Logs();
  // The hostile text did reach a log (at debug level the relay logs each request's provider), escaped.
  EXPECT_THAT(logs, ::testing::HasSubstr("\\n2026-01-01T00:00:00.000Z error [vault] forged"));
  EXPECT_FALSE(absl::StrContains(logs, std::string(1, '\0')));
  for (absl::string_view line : absl::StrSplit(logs, '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "--- ")) continue;  // Suite::Logs's own headings
    EXPECT_FALSE(absl::StartsWith(line, kForged)) << "forged line: " << line;
    EXPECT_TRUE(absl::StartsWith(line, "20")) << "a line that is not an event: " << line;
  }
}

}  // namespace
}  // namespace byok::testing
