// byok-relay wires its three services with in-process gRPC channels: the only TCP listeners the process
// opens are the REST port and the metrics port (when on), and relayed requests still work end to end:
// a small one, a stream, and a browser leaving mid-stream (which closes the provider connection).
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "tests/gateway/http_test_client.h"
#include "tests/testing/fake_provider/fake_provider.h"
#include "tests/testing/process.h"

namespace byok::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

// The names in `dir` (a /proc folder), without "." and "..".
std::vector<std::string> EntriesOf(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return names;
  while (const dirent* entry = ::readdir(d)) {
    if (entry->d_name[0] != '.') names.emplace_back(entry->d_name);
  }
  ::closedir(d);
  return names;
}

// The socket inodes among `pid`'s open descriptors.
std::set<std::string> SocketInodes(pid_t pid) {
  std::set<std::string> inodes;
  const std::string dir = absl::StrCat("/proc/", pid, "/fd");
  for (const std::string& fd : EntriesOf(dir)) {
    char target[256];
    const std::string link = absl::StrCat(dir, "/", fd);
    const ssize_t n = ::readlink(link.c_str(), target, sizeof(target) - 1);
    if (n <= 0) continue;
    const std::string text(target, static_cast<size_t>(n));
    // "socket:[12345]"
    if (absl::StartsWith(text, "socket:[") && absl::EndsWith(text, "]")) {
      inodes.insert(text.substr(8, text.size() - 9));
    }
  }
  return inodes;
}

// The name of each of `pid`'s threads (`/proc/<pid>/task/<tid>/comm`).
std::multiset<std::string> ThreadNamesOf(pid_t pid) {
  std::multiset<std::string> names;
  const std::string dir = absl::StrCat("/proc/", pid, "/task");
  for (const std::string& tid : EntriesOf(dir)) {
    std::ifstream comm(absl::StrCat(dir, "/", tid, "/comm"));
    std::string name;
    if (std::getline(comm, name)) names.insert(name);
  }
  return names;
}

// The local ports of the TCP sockets in LISTEN state (st 0A) that `pid` holds, IPv4 and IPv6.
std::set<int> ListeningPortsOf(pid_t pid) {
  const std::set<std::string> inodes = SocketInodes(pid);
  std::set<int> ports;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
      std::vector<std::string> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (fields.size() < 10 || fields[3] != "0A" || inodes.count(fields[9]) == 0) continue;
      const size_t colon = fields[1].rfind(':');
      int port = 0;
      if (colon != std::string::npos && absl::SimpleHexAtoi(fields[1].substr(colon + 1), &port)) {
        ports.insert(port);
      }
    }
  }
  return ports;
}

// The listeners byok-relay (`pid`) opened itself: without those it inherited from this test process
// (the fake provider's, whose descriptor the child keeps across fork and exec).
std::set<int> ListeningPorts(pid_t pid) {
  std::set<int> ports = ListeningPortsOf(pid);
  for (int inherited : ListeningPortsOf(::getpid())) ports.erase(inherited);
  return ports;
}

class ByokRelayAppInProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto fake = FakeProvider::Start({});
    ASSERT_TRUE(fake.ok()) << fake.status();
    fake_ = *std::move(fake);
  }

  // Starts byok-relay with `extra` variables; its gateway on port_, metrics on metrics_port_.
  void StartApp(std::map<std::string, std::string> extra = {}) {
    port_ = PickUnusedPort();
    metrics_port_ = PickUnusedPort();
    std::map<std::string, std::string> env = {
        {"PORT", std::to_string(port_)},
        {"BYOK_GATEWAY_HOST", "127.0.0.1"},
        {"DB_PATH", dir_.path() + "/data/relay.db"},
        {"BYOK_METRICS_ADDR", absl::StrCat("127.0.0.1:", metrics_port_)},
        {"BYOK_ALLOW_PRIVATE_UPSTREAMS", "1"},
        {"BYOK_PROVIDER_OPENAI_BASE_URL", fake_->base_url()},
        {"BYOK_PROVIDER_ANTHROPIC_BASE_URL", fake_->base_url()},
        {"LOG_LEVEL", "warn"}};
    for (auto& [k, v] : extra) env[k] = v;
    auto app = ChildProcess::Start(BinaryPath("byok-relay"), {}, env);
    ASSERT_TRUE(app.ok()) << app.status();
    app_ = *std::move(app);
    ASSERT_TRUE(app_->WaitForPort(port_, absl::Seconds(15)).ok()) << app_->Output();
    ASSERT_TRUE(app_->WaitForPort(metrics_port_, absl::Seconds(15)).ok()) << app_->Output();
  }

  // Registers a user with an OpenAI and an Anthropic key; returns the token.
  std::string Register() {
    auto user = Fetch(port_, "POST", "/users", {}, R"({"app_id":"inproc"})");
    EXPECT_TRUE(user.ok() && user->status == 200);
    if (!user.ok()) return "";
    std::string token = nlohmann::json::parse(user->body)["token"];
    for (const char* provider : {"openai", "anthropic"}) {
      auto stored = Fetch(port_, "POST", absl::StrCat("/keys/", provider), {{"x-relay-token", token}},
                          R"({"key":"sk-inproc-0123456789abcdef"})");
      EXPECT_TRUE(stored.ok() && stored->status == 200) << provider;
    }
    return token;
  }

  TestRequest Relay(const std::string& token, const std::string& target, std::string body) {
    TestRequest request;
    request.method = "POST";
    request.target = target;
    request.headers = {{"x-relay-token", token}, {"Content-Type", "application/json"}};
    if (absl::StrContains(target, "anthropic")) request.headers.push_back({"anthropic-version", "2023-06-01"});
    request.body = std::move(body);
    return request;
  }

  void TearDown() override {
    if (app_ != nullptr) {
      // Up to the gateway's grace (10 s) and its cancel wait (5 s).
      auto code = app_->Stop(absl::Seconds(25));
      ASSERT_TRUE(code.ok()) << code.status() << "\n" << app_->Output();
      EXPECT_EQ(*code, 0) << app_->Output();
    }
  }

  TempDir dir_;
  std::unique_ptr<FakeProvider> fake_;
  std::unique_ptr<ChildProcess> app_;
  int port_ = 0;
  int metrics_port_ = 0;
};

TEST_F(ByokRelayAppInProcessTest, ListensOnlyOnTheRestAndMetricsPortsAndRelaysEndToEnd) {
  ASSERT_NO_FATAL_FAILURE(StartApp());
  const std::string token = Register();
  ASSERT_FALSE(token.empty());

  // A small request.
  auto small = Fetch(port_, Relay(token, "/relay/openai/v1/chat/completions",
                                  R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]})"));
  ASSERT_TRUE(small.ok()) << small.status();
  EXPECT_EQ(small->status, 200) << small->body;
  EXPECT_THAT(small->body, HasSubstr("chat.completion"));
  std::optional<RecordedRequest> seen = fake_->WaitForRequest(absl::Seconds(5));
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->Header("authorization"), "Bearer sk-inproc-0123456789abcdef");

  // A stream, whole.
  auto stream = Fetch(port_, Relay(token, "/relay/openai/v1/chat/completions",
                                   R"({"model":"gpt-4o-mini","stream":true,"messages":[]})"));
  ASSERT_TRUE(stream.ok()) << stream.status();
  EXPECT_EQ(stream->status, 200) << stream->body;
  EXPECT_THAT(stream->Header("content-type"), HasSubstr("text/event-stream"));
  EXPECT_THAT(stream->body, HasSubstr("data: [DONE]"));

  // A body above gRPC's default message limit (4 MiB): in-process channels take the services' limits.
  const std::string big = absl::StrCat(R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":")",
                                       std::string(6 << 20, 'x'), R"("}]})");
  auto large = Fetch(port_, Relay(token, "/relay/openai/v1/chat/completions", big));
  ASSERT_TRUE(large.ok()) << large.status();
  EXPECT_EQ(large->status, 200) << large->body.substr(0, 200);

  // Every service ran and answered, yet the process listens on the REST and metrics ports only:
  // the gateway reached the vault and the relay, and the relay the vault, without a socket.
  EXPECT_THAT(ListeningPorts(app_->pid()), UnorderedElementsAre(port_, metrics_port_));
}

// A provider that sends its last event together with the end of the body: the relay's last message and
// its status leave together, and every stream still ends with that event (it was sometimes lost over
// in-process links when the two went in one StartWriteAndFinish).
TEST_F(ByokRelayAppInProcessTest, TheLastEventSentWithTheBodysEndIsNeverLost) {
  ASSERT_NO_FATAL_FAILURE(StartApp());
  const std::string token = Register();
  ASSERT_FALSE(token.empty());
  for (int i = 0; i < 20; ++i) {
    SCOPED_TRACE(i);
    auto stream = Fetch(port_, Relay(token, "/relay/openai/v1/chat/completions",
                                     R"({"model":"fake-burst","stream":true,"messages":[]})"));
    ASSERT_TRUE(stream.ok()) << stream.status();
    EXPECT_EQ(stream->status, 200) << stream->body;
    EXPECT_TRUE(absl::EndsWith(stream->body, "data: [DONE]\n\n")) << stream->body.substr(
        stream->body.size() > 200 ? stream->body.size() - 200 : 0);
  }
}

TEST_F(ByokRelayAppInProcessTest, ABrowserLeavingMidStreamClosesTheProviderConnection) {
  ASSERT_NO_FATAL_FAILURE(StartApp());
  const std::string token = Register();
  ASSERT_FALSE(token.empty());
  auto client = TestHttpClient::Connect(port_);
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE((*client)
                  ->Send(Relay(token, "/relay/anthropic/v1/messages",
                               R"({"model":"fake-stall-body","stream":true,"max_tokens":5,"messages":[]})"))
                  .ok());
  auto head = (*client)->ReadHead();
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(head->status, 200);
  auto first = (*client)->ReadBodyPiece(absl::Seconds(5));
  ASSERT_TRUE(first.ok()) << first.status();
  const absl::Time left = absl::Now();
  (*client)->Close();
  std::optional<absl::Time> closed = fake_->WaitForClientClosed(absl::Seconds(5));
  ASSERT_TRUE(closed.has_value()) << "the provider connection stayed open";
  EXPECT_LT(*closed - left, absl::Seconds(1));

  // A shutdown that begins at once finds no request left to wait for: the cancelled call counts as
  // finished as soon as it is, not when the gateway's grace (10 s) runs out.
  const absl::Time stop_began = absl::Now();
  auto code = app_->Stop(absl::Seconds(25));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0) << app_->Output();
  EXPECT_LT(absl::Now() - stop_began, absl::Seconds(3)) << app_->Output();
}

// BYOK_VAULT_ADDR and BYOK_RELAY_ADDR still open the gRPC APIs to outside callers when named.
TEST_F(ByokRelayAppInProcessTest, NamedVaultAndRelayAddressesAreServedToo) {
  const int vault_port = PickUnusedPort();
  const int relay_port = PickUnusedPort();
  ASSERT_NO_FATAL_FAILURE(StartApp({{"BYOK_VAULT_ADDR", absl::StrCat("127.0.0.1:", vault_port)},
                                    {"BYOK_RELAY_ADDR", absl::StrCat("127.0.0.1:", relay_port)}}));
  EXPECT_THAT(ListeningPorts(app_->pid()),
              UnorderedElementsAre(port_, metrics_port_, vault_port, relay_port));
  const std::string token = Register();
  auto small = Fetch(port_, Relay(token, "/relay/openai/v1/chat/completions",
                                  R"({"model":"gpt-4o-mini","messages":[]})"));
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(small->status, 200) << small->body;
}

// In one process the three services' threads are told apart by name (top -H, perf, bench/switches.sh):
// the gateway's HTTP threads, the relay's upstream and usage threads, the vault's store thread.
TEST_F(ByokRelayAppInProcessTest, ThreadsAreNamedForTheServiceTheyWorkFor) {
  ASSERT_NO_FATAL_FAILURE(StartApp());
  const std::string token = Register();
  auto small = Fetch(port_, Relay(token, "/relay/openai/v1/chat/completions",
                                  R"({"model":"gpt-4o-mini","messages":[]})"));
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(small->status, 200) << small->body;
  const std::multiset<std::string> names = ThreadNamesOf(app_->pid());
  for (const char* name : {"gw-http", "relay-upstream", "relay-usage", "vault-store", "key-watch"}) {
    EXPECT_GE(names.count(name), 1u) << name << " missing";
  }
}

// How many of `pid`'s threads are called `name` once that many have been for 100 ms (a thread names
// itself once it runs, which may come after the ports are open), or after 5 s.
size_t SettledThreadCount(pid_t pid, const std::string& name) {
  size_t last = ThreadNamesOf(pid).count(name);
  absl::Time settled_since = absl::Now();
  for (const absl::Time deadline = absl::Now() + absl::Seconds(5);
       absl::Now() < deadline && absl::Now() - settled_since < absl::Milliseconds(100);) {
    absl::SleepFor(absl::Milliseconds(10));
    const size_t now = ThreadNamesOf(pid).count(name);
    if (now != last) settled_since = absl::Now();
    last = now;
  }
  return last;
}

// The gateway's HTTP threads and the relay's upstream threads split the cores unless set.
TEST_F(ByokRelayAppInProcessTest, GatewayAndUpstreamThreadsSplitTheCoresUnlessSet) {
  const size_t half = std::max(1u, std::thread::hardware_concurrency() / 2);
  ASSERT_NO_FATAL_FAILURE(StartApp());
  EXPECT_EQ(SettledThreadCount(app_->pid(), "gw-http"), half);
  EXPECT_EQ(SettledThreadCount(app_->pid(), "relay-upstream"), half);
  app_.reset();
  ASSERT_NO_FATAL_FAILURE(StartApp({{"BYOK_GATEWAY_THREADS", "3"}, {"BYOK_RELAY_UPSTREAM_THREADS", "2"}}));
  EXPECT_EQ(SettledThreadCount(app_->pid(), "gw-http"), 3u);
  EXPECT_EQ(SettledThreadCount(app_->pid(), "relay-upstream"), 2u);
}

}  // namespace
}  // namespace byok::testing
