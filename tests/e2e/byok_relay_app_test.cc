// byok-relay, the one-process suite, started as a new user would: no ENCRYPTION_SECRET, nothing but a
// port and a data folder chosen by the test.
#include <sys/stat.h>


#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "tests/gateway/http_test_client.h"
#include "tests/testing/process.h"

namespace byok::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ByokRelayAppTest, HelpListsEveryVariable) {
  auto p = ChildProcess::Start(BinaryPath("byok-relay"), {"--help"}, {});
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(*(*p)->Wait(absl::Seconds(10)), 0);
  for (const char* name :
       {"ENCRYPTION_SECRET", "ENCRYPTION_SECRET_PREVIOUS", "TOKEN_HMAC_SECRET", "APP_SECRET", "PORT",
        "ALLOWED_ORIGINS", "REQUEST_BODY_LIMIT_BYTES", "DB_PATH", "TOKEN_EXPIRY_DAYS", "ALLOWED_MODELS",
        "LOG_LEVEL", "RATE_LIMIT_GLOBAL", "RATE_LIMIT_RELAY", "RATE_LIMIT_REGISTER", "TRUST_PROXY",
        "BYOK_VAULT_ADDR", "BYOK_RELAY_ADDR", "BYOK_PROVIDER_<NAME>_BASE_URL", "BYOK_UPSTREAM_CA_FILE",
        "BYOK_ALLOW_PRIVATE_UPSTREAMS", "BYOK_UPSTREAM_CONNECT_TIMEOUT_MS",
        "BYOK_UPSTREAM_HEADERS_TIMEOUT_MS", "BYOK_UPSTREAM_IDLE_TIMEOUT_MS"}) {
    EXPECT_THAT((*p)->Output(), HasSubstr(name));
  }
}

// What byok-relay sets differently from the gateway daemon is listed with the one process's defaults,
// not also with the daemon's.
TEST(ByokRelayAppTest, HelpListsWhatTheOneProcessSetsWithItsOwnDefaultsOnly) {
  auto p = ChildProcess::Start(BinaryPath("byok-relay"), {"--help"}, {});
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(*(*p)->Wait(absl::Seconds(10)), 0);
  const std::string help = (*p)->Output();
  EXPECT_THAT(help, HasSubstr("BYOK_GATEWAY_THREADS (half the usable cores"));
  EXPECT_THAT(help, HasSubstr("BYOK_VAULT_ADDR (none)"));
  EXPECT_THAT(help, HasSubstr("BYOK_SERVICE_TOKEN (generated)"));
  // The gateway daemon's entries for the same variables.
  for (const char* daemons : {"BYOK_GATEWAY_THREADS (2)", "(127.0.0.1:50051)", "(127.0.0.1:50052)",
                              "BYOK_SERVICE_TOKEN (unset)", "BYOK_TLS_CERT_FILE", "BYOK_TRUSTED_LOOPBACK"}) {
    EXPECT_THAT(help, Not(HasSubstr(daemons)));
  }
  EXPECT_THAT(help, HasSubstr("  RATE_LIMIT_RELAY (20)"));  // the gateway's other entries stay
}

TEST(ByokRelayAppTest, FirstStartKeepsAGeneratedSecretAndLaterStartsReuseIt) {
  TempDir dir;
  std::string db = dir.path() + "/data/relay.db";
  std::string secret_path = dir.path() + "/data/encryption.secret";
  int port = PickUnusedPort();
  std::map<std::string, std::string> env = {{"PORT", std::to_string(port)}, {"DB_PATH", db}};

  auto first = ChildProcess::Start(BinaryPath("byok-relay"), {}, env);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE((*first)->WaitForPort(port, absl::Seconds(15)).ok()) << (*first)->Output();
  auto health = Fetch(port, "GET", "/health");
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->status, 200) << health->body;

  // A user and a key survive the restart: the same secret is used again.
  auto user = Fetch(port, "POST", "/users", {}, "{\"app_id\":\"app\"}");
  ASSERT_TRUE(user.ok());
  ASSERT_EQ(user->status, 200) << user->body;
  std::string token = nlohmann::json::parse(user->body)["token"];
  ASSERT_EQ(Fetch(port, "POST", "/keys/openai", {{"x-relay-token", token}}, "{\"key\":\"sk-app-0123456789\"}")
                ->status,
            200);
  ASSERT_EQ(*(*first)->Stop(), 0);

  std::string output = (*first)->Output();
  std::string secret = ReadFile(secret_path);
  ASSERT_EQ(secret.size(), 65u);
  EXPECT_THAT(output, HasSubstr("generated"));
  EXPECT_THAT(output, HasSubstr(secret_path));
  EXPECT_THAT(output, HasSubstr(absl::StrCat("http://localhost:", port)));
  EXPECT_THAT(output, Not(HasSubstr(secret.substr(0, 64))));
  struct stat st;
  ASSERT_EQ(::stat(secret_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto second = ChildProcess::Start(BinaryPath("byok-relay"), {}, env);
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE((*second)->WaitForPort(port, absl::Seconds(15)).ok()) << (*second)->Output();
  auto keys = Fetch(port, "GET", "/keys", {{"x-relay-token", token}});
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->status, 200) << keys->body;
  EXPECT_THAT(keys->body, HasSubstr("openai"));
  ASSERT_EQ(*(*second)->Stop(), 0);
  EXPECT_THAT((*second)->Output(), HasSubstr("using the ENCRYPTION_SECRET kept in"));
  EXPECT_EQ(ReadFile(secret_path), secret);
}

}  // namespace
}  // namespace byok::testing
