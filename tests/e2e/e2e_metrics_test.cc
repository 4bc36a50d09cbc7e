// Prometheus metrics of the three daemons, each on its own listener (BYOK_METRICS_ADDR): scraped over
// HTTP before and after known traffic, the counters and histogram buckets must move by what was sent.
#include <gmock/gmock.h>

#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/e2e/contract_helpers.h"
#include "tests/e2e/metrics_scrape.h"

namespace byok::testing {
namespace {

int gateway_metrics_port = 0;
int relay_metrics_port = 0;
int vault_metrics_port = 0;

class MetricsTest : public ContractTest {
 protected:
  static void SetUpTestSuite() {
    gateway_metrics_port = PickUnusedPort();
    relay_metrics_port = PickUnusedPort();
    vault_metrics_port = PickUnusedPort();
    SuiteOptions options;
    options.gateway_env = {{"BYOK_METRICS_ADDR", absl::StrCat("127.0.0.1:", gateway_metrics_port)},
                           {"RATE_LIMIT_RELAY", "3"}};
    // The relay's key cache off: this test counts the vault's ResolveKey calls, one per request.
    options.relay_env = {{"BYOK_METRICS_ADDR", absl::StrCat("127.0.0.1:", relay_metrics_port)},
                         {"BYOK_RELAY_KEY_CACHE_ENTRIES", "0"}};
    options.vault_env = {{"BYOK_METRICS_ADDR", absl::StrCat("127.0.0.1:", vault_metrics_port)}};
    StartSuite(std::move(options));
  }

  static std::string ScrapeOrFail(int port) {
    absl::StatusOr<std::string> text = Scrape(port);
    EXPECT_TRUE(text.ok()) << text.status();
    return text.ok() ? *text : std::string();
  }

  // Opens an Anthropic stream the fake provider holds, sees the gateway count it open, and leaves.
  static void LeaveAHeldStream() {
    std::string token = NewToken("metrics-app");
    ASSERT_EQ(Call("POST", "/keys/anthropic", token, R"({"key":"sk-ant-metrics-0123456789"})").status, 200);
    auto client = TestHttpClient::Connect(suite_->port());
    ASSERT_TRUE(client.ok()) << client.status();
    TestRequest request;
    request.method = "POST";
    request.target = "/relay/anthropic/v1/messages";
    request.headers = {{"x-relay-token", token}, {"Content-Type", "application/json"}};
    request.body = R"({"model":"fake-hold","max_tokens":16,"stream":true})";
    ASSERT_TRUE((*client)->Send(request).ok());
    auto head = (*client)->ReadHead();
    ASSERT_TRUE(head.ok()) << head.status();
    ASSERT_EQ(head->status, 200);
    EXPECT_EQ(WaitForSample(gateway_metrics_port, "byok_gateway_open_streams", {}, 1), 1);
    (*client)->Close();
    ASSERT_TRUE(suite_->fake().WaitForClientClosed(absl::Seconds(5)).has_value());
  }

  // Scrapes until the sample reaches `want` (a response may reach the client just before it is
  // counted); returns the last value seen.
  static double WaitForSample(int port, const std::string& name, const MetricLabels& labels, double want) {
    absl::Time deadline = absl::Now() + absl::Seconds(5);
    double value = 0;
    do {
      value = SampleValue(ScrapeOrFail(port), name, labels);
      if (value >= want) break;
      absl::SleepFor(absl::Milliseconds(20));
    } while (absl::Now() < deadline);
    return value;
  }
};

TEST_F(MetricsTest, EachDaemonServesMetricsOnItsOwnListenerOnly) {
  for (int port : {gateway_metrics_port, relay_metrics_port, vault_metrics_port}) {
    std::string text = ScrapeOrFail(port);
    EXPECT_THAT(text, ::testing::HasSubstr("# TYPE")) << port;
  }
  // Never on the browser-facing port.
  TestResponse r = Call("GET", "/metrics", "");
  EXPECT_EQ(r.status, 404);
}

TEST_F(MetricsTest, KnownTrafficMovesTheCountersAndBuckets) {
  const std::string route = "/relay/{provider}/{path...}";
  const MetricLabels relay_ok = {{"method", "POST"}, {"route", route}, {"status", "200"}};
  const std::string g0 = ScrapeOrFail(gateway_metrics_port);
  const std::string r0 = ScrapeOrFail(relay_metrics_port);
  const std::string v0 = ScrapeOrFail(vault_metrics_port);

  std::string token = NewToken("metrics-app");
  ASSERT_EQ(Call("POST", "/keys/openai", token, R"({"key":"sk-metrics-0123456789"})").status, 200);
  // Two JSON replies and one stream: three relayed requests (the relay limit is 3 a minute), then a 429.
  ASSERT_EQ(Call("POST", "/relay/openai/v1/chat/completions", token, R"({"model":"gpt-4o-mini"})").status, 200);
  ASSERT_EQ(Call("POST", "/relay/openai/v1/chat/completions", token, R"({"model":"gpt-4o-mini"})").status, 200);
  TestResponse streamed =
      Call("POST", "/relay/openai/v1/chat/completions", token, R"({"model":"gpt-4o-mini","stream":true})");
  ASSERT_EQ(streamed.status, 200);
  ASSERT_EQ(Call("POST", "/relay/openai/v1/chat/completions", token, R"({"model":"gpt-4o-mini"})").status, 429);
  ASSERT_EQ(Call("GET", "/no-such-route", "").status, 404);

  // Gateway: by route template and status; the latency histogram's count and +Inf bucket; bytes.
  const double before = SampleValue(g0, "byok_gateway_requests_total", relay_ok);
  EXPECT_EQ(WaitForSample(gateway_metrics_port, "byok_gateway_requests_total", relay_ok, before + 3), before + 3);
  const std::string g1 = ScrapeOrFail(gateway_metrics_port);
  EXPECT_EQ(SampleValue(g1, "byok_gateway_requests_total", {{"route", route}, {"status", "429"}}) -
                SampleValue(g0, "byok_gateway_requests_total", {{"route", route}, {"status", "429"}}),
            1);
  EXPECT_EQ(SampleValue(g1, "byok_gateway_rate_limited_total", {{"limiter", "relay"}}) -
                SampleValue(g0, "byok_gateway_rate_limited_total", {{"limiter", "relay"}}),
            1);
  EXPECT_EQ(SampleValue(g1, "byok_gateway_requests_total", {{"route", "unmatched"}, {"status", "404"}}) -
                SampleValue(g0, "byok_gateway_requests_total", {{"route", "unmatched"}, {"status", "404"}}),
            1);
  EXPECT_EQ(SampleValue(g1, "byok_gateway_request_duration_seconds_count", {{"route", route}}) -
                SampleValue(g0, "byok_gateway_request_duration_seconds_count", {{"route", route}}),
            4);
  EXPECT_EQ(SampleValue(g1, "byok_gateway_request_duration_seconds_bucket", {{"route", route}, {"le", "+Inf"}}) -
                SampleValue(g0, "byok_gateway_request_duration_seconds_bucket", {{"route", route}, {"le", "+Inf"}}),
            4);
  EXPECT_GE(SampleValue(g1, "byok_gateway_response_bytes_total", {{"route", route}}) -
                SampleValue(g0, "byok_gateway_response_bytes_total", {{"route", route}}),
            static_cast<double>(streamed.body.size()));
  EXPECT_EQ(SampleValue(g1, "byok_gateway_open_streams"), 0);
  // No raw path ever becomes a label.
  EXPECT_THAT(g1, ::testing::Not(::testing::HasSubstr("no-such-route")));
  EXPECT_THAT(g1, ::testing::Not(::testing::HasSubstr("chat/completions")));

  // Relay: upstream requests by provider and status, time to first byte, stream duration, bytes.
  const MetricLabels openai_200 = {{"provider", "openai"}, {"status", "200"}};
  EXPECT_EQ(WaitForSample(relay_metrics_port, "byok_relay_upstream_requests_total", openai_200,
                          SampleValue(r0, "byok_relay_upstream_requests_total", openai_200) + 3) -
                SampleValue(r0, "byok_relay_upstream_requests_total", openai_200),
            3);
  const std::string r1 = ScrapeOrFail(relay_metrics_port);
  const MetricLabels openai = {{"provider", "openai"}};
  EXPECT_EQ(SampleValue(r1, "byok_relay_upstream_first_byte_seconds_count", openai) -
                SampleValue(r0, "byok_relay_upstream_first_byte_seconds_count", openai),
            3);
  EXPECT_EQ(SampleValue(r1, "byok_relay_stream_duration_seconds_count", openai) -
                SampleValue(r0, "byok_relay_stream_duration_seconds_count", openai),
            1);
  // Loopback answers come in well under a second: the 1 s bucket holds them all.
  EXPECT_EQ(SampleValue(r1, "byok_relay_upstream_first_byte_seconds_bucket", {{"provider", "openai"}, {"le", "1"}}) -
                SampleValue(r0, "byok_relay_upstream_first_byte_seconds_bucket", {{"provider", "openai"}, {"le", "1"}}),
            3);
  EXPECT_GE(SampleValue(r1, "byok_relay_upstream_response_bytes_total", openai) -
                SampleValue(r0, "byok_relay_upstream_response_bytes_total", openai),
            static_cast<double>(streamed.body.size()));
  // Pools: every forwarded request went on a connection that was either opened or reused.
  EXPECT_GE(SampleValue(r1, "byok_relay_upstream_connections_opened_total") -
                SampleValue(r0, "byok_relay_upstream_connections_opened_total") +
                SampleValue(r1, "byok_relay_upstream_connections_reused_total") -
                SampleValue(r0, "byok_relay_upstream_connections_reused_total"),
            3);
  EXPECT_GE(SampleValue(r1, "byok_relay_upstream_connections_opened_total"), 1);
  EXPECT_THAT(r1, ::testing::HasSubstr("# TYPE byok_relay_upstream_idle_connections gauge"));
  EXPECT_GE(SampleValue(r1, "byok_relay_upstream_idle_connections"), 0);
  EXPECT_EQ(SampleValue(r1, "byok_grpc_server_calls_total", {{"service", "relay"}, {"method", "Relay"}, {"code", "OK"}}) -
                SampleValue(r0, "byok_grpc_server_calls_total", {{"service", "relay"}, {"method", "Relay"}, {"code", "OK"}}),
            3);

  // Vault: calls by method and code, store latency, the keys gauge.
  const std::string v1 = ScrapeOrFail(vault_metrics_port);
  const MetricLabels resolve_ok = {{"service", "vault"}, {"method", "ResolveKey"}, {"code", "OK"}};
  EXPECT_EQ(SampleValue(v1, "byok_grpc_server_calls_total", resolve_ok) -
                SampleValue(v0, "byok_grpc_server_calls_total", resolve_ok),
            3);
  EXPECT_EQ(SampleValue(v1, "byok_grpc_server_calls_total", {{"method", "PutKey"}, {"code", "OK"}}) -
                SampleValue(v0, "byok_grpc_server_calls_total", {{"method", "PutKey"}, {"code", "OK"}}),
            1);
  EXPECT_EQ(SampleValue(v1, "byok_vault_store_duration_seconds_count", {{"op", "get_key"}}) -
                SampleValue(v0, "byok_vault_store_duration_seconds_count", {{"op", "get_key"}}),
            3);
  EXPECT_GE(SampleValue(v1, "byok_vault_keys"), 1);
  EXPECT_GE(SampleValue(v1, "byok_vault_users"), 1);
  EXPECT_EQ(SampleValue(v1, "byok_vault_users") - SampleValue(v0, "byok_vault_users"), 1);
  EXPECT_EQ(SampleValue(v1, "byok_vault_audit_write_failures_total"), 0);
  EXPECT_THAT(v1, ::testing::HasSubstr("# TYPE byok_vault_audit_write_failures_total counter"));
  EXPECT_EQ(SampleValue(v1, "byok_vault_decrypt_failures_total"), 0);
}

TEST_F(MetricsTest, AClientThatLeavesAStreamIsCountedAsACancellationAndTheStreamCloses) {
  const double cancelled_before =
      SampleValue(ScrapeOrFail(relay_metrics_port), "byok_relay_cancellations_total", {{"provider", "anthropic"}});
  LeaveAHeldStream();
  EXPECT_EQ(WaitForSample(relay_metrics_port, "byok_relay_cancellations_total", {{"provider", "anthropic"}},
                          cancelled_before + 1),
            cancelled_before + 1);
  // The gateway's gauge comes back down once the stream is gone.
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (SampleValue(ScrapeOrFail(gateway_metrics_port), "byok_gateway_open_streams") != 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(SampleValue(ScrapeOrFail(gateway_metrics_port), "byok_gateway_open_streams"), 0);
}

// The Grafana dashboard (deploy/grafana/byok-relay.json) plots only metrics the daemons export.
TEST_F(MetricsTest, EveryMetricTheDashboardUsesIsExported) {
  std::ifstream file(BYOK_GRAFANA_DASHBOARD);
  ASSERT_TRUE(file.good()) << BYOK_GRAFANA_DASHBOARD;
  std::stringstream dashboard;
  dashboard << file.rdbuf();
  // Traffic first, so that every labelled family has a sample: a stream, a 429 (the limit is 3), a
  // cancellation.
  std::string token = NewToken("metrics-app");
  ASSERT_EQ(Call("POST", "/keys/openai", token, R"({"key":"sk-metrics-0123456789"})").status, 200);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(Call("POST", "/relay/openai/v1/chat/completions", token, R"({"model":"gpt-4o-mini","stream":true})").status,
              200);
  }
  ASSERT_EQ(Call("POST", "/relay/openai/v1/chat/completions", token, R"({"model":"gpt-4o-mini"})").status, 429);
  LeaveAHeldStream();
  WaitForSample(relay_metrics_port, "byok_relay_cancellations_total", {}, 1);
  const std::string all = ScrapeOrFail(gateway_metrics_port) + ScrapeOrFail(relay_metrics_port) +
                          ScrapeOrFail(vault_metrics_port);
  std::set<std::string> used;
  const std::string text = dashboard.str();
  // Every "byok_[a-z_]+" in the dashboard (a scan: std::regex trips GCC 12's -Wmaybe-uninitialized
  // under the sanitizers).
  for (size_t at = text.find("byok_"); at != std::string::npos; at = text.find("byok_", at)) {
    size_t end = at + 5;
    while (end < text.size() && ((text[end] >= 'a' && text[end] <= 'z') || text[end] == '_')) ++end;
    used.insert(text.substr(at, end - at));
    at = end;
  }
  ASSERT_GE(used.size(), 10u);
  for (std::string metric : used) {
    if (metric == "byok_") continue;  // the job variable's regex
    for (const char* suffix : {"_bucket", "_count", "_sum"}) {
      if (metric.size() > strlen(suffix) && metric.ends_with(suffix)) metric.resize(metric.size() - strlen(suffix));
    }
    EXPECT_THAT(all, ::testing::HasSubstr("# TYPE " + metric + " ")) << metric << " is on the dashboard but not exported";
  }
}

}  // namespace
}  // namespace byok::testing
