// The benchmark's own harness, checked without the suite: the load generator against the fake provider
// directly. A benchmark whose instruments are wrong measures nothing, so these assert what each mode
// reports against what the fake provider really did.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace byok::bench {
namespace {

using ::byok::testing::BinaryPath;
using ::byok::testing::ChildProcess;
using ::byok::testing::IsOk;
using ::byok::testing::PickUnusedPort;

constexpr char kKey[] = "sk-bench-harness";

// Parses a loadgen result line ("k=v k=v") into numbers.
std::map<std::string, double> ParseLine(const std::string& output) {
  std::map<std::string, double> values;
  std::string last_line = output.substr(0, output.find_last_not_of('\n') + 1);
  last_line = last_line.substr(last_line.find_last_of('\n') + 1);
  for (absl::string_view pair : absl::StrSplit(last_line, ' ', absl::SkipEmpty())) {
    std::vector<std::string> kv = absl::StrSplit(pair, absl::MaxSplits('=', 1));
    double value = 0;
    if (kv.size() == 2 && absl::SimpleAtod(kv[1], &value)) values[kv[0]] = value;
  }
  return values;
}

class HarnessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = PickUnusedPort();
    auto fake = ChildProcess::Start(BinaryPath("byok-bench-fake-provider"),
                                    {"--port", std::to_string(port_), "--key", kKey}, {});
    ASSERT_THAT(fake.status(), IsOk());
    fake_ = std::move(*fake);
    ASSERT_THAT(fake_->WaitForPort(port_, absl::Seconds(10)), IsOk());
  }

  // Runs the load generator with `args` plus the target; returns its parsed result line.
  std::map<std::string, double> Loadgen(std::vector<std::string> args, const std::string& key = kKey) {
    args.insert(args.end(), {"--port", std::to_string(port_), "--header", "Authorization: Bearer " + key});
    auto run = ChildProcess::Start(BinaryPath("byok-bench-loadgen"), args, {});
    EXPECT_THAT(run.status(), IsOk());
    if (!run.ok()) return {};
    absl::StatusOr<int> code = (*run)->Wait(absl::Seconds(20));
    EXPECT_THAT(code.status(), IsOk());
    EXPECT_EQ(code.value_or(-1), 0) << (*run)->Output();
    return ParseLine((*run)->Output());
  }

  int port_ = 0;
  std::unique_ptr<ChildProcess> fake_;
};

TEST_F(HarnessTest, ClosedLoopCountsRequestsAndLatencies) {
  auto r = Loadgen({"run", "--connections", "4", "--warmup", "0.1", "--duration", "0.5"});
  EXPECT_GT(r["ok"], 10);
  EXPECT_EQ(r["errors"], 0);
  EXPECT_GT(r["lat_us_p50"], 0);
  EXPECT_LE(r["lat_us_p50"], r["lat_us_p99"]);
  EXPECT_GE(r["completed"], r["ok"]);
}

TEST_F(HarnessTest, StreamsAreReadWholeAndTimeToFirstByteComesFirst) {
  auto r = Loadgen({"run", "--stream", "--events", "5", "--interval-ms", "20", "--connections", "2",
                    "--warmup", "0", "--duration", "0.5"});
  EXPECT_GT(r["ok"], 0);
  EXPECT_EQ(r["errors"], 0);
  // The first event comes at once, the last after 4 gaps of 20 ms.
  EXPECT_LT(r["ttfb_us_p50"], 20000);
  EXPECT_GE(r["lat_us_p50"], 80000);
}

TEST_F(HarnessTest, WrongProviderKeyIsCountedAsErrors) {
  auto r = Loadgen({"run", "--connections", "1", "--warmup", "0", "--duration", "0.3"}, "sk-wrong");
  EXPECT_EQ(r["ok"], 0);
  EXPECT_GT(r["errors"], 0);
}

TEST_F(HarnessTest, HoldKeepsEveryStreamOpenAtOnce) {
  auto r = Loadgen({"hold", "--connections", "300", "--events", "3", "--interval-ms", "400",
                    "--rss", "fake=" + std::to_string(fake_->pid())});
  EXPECT_EQ(r["ok"], 300);
  EXPECT_EQ(r["failed"], 0);
  EXPECT_EQ(r["peak_open"], 300);
  EXPECT_GT(r["rss_during_kib_fake"], 0);
}

TEST_F(HarnessTest, CancellationIsSeenByTheProvider) {
  auto r = Loadgen({"cancel", "--count", "3", "--after-events", "2", "--events", "200", "--interval-ms",
                    "10", "--control-port", std::to_string(port_)});
  EXPECT_EQ(r["closed"], 3);
  EXPECT_EQ(r["ran_on"], 0);
  EXPECT_LT(r["close_ms_max"], 1000);
}

}  // namespace
}  // namespace byok::bench
