// Loading the BYOK_TLS_* settings: all three or none, readable PEM, errors that name the variable and
// never a file's contents.
#include "common/grpc_tls.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "tests/testing/mtls_certificates.h"
#include "tests/testing/process.h"

namespace byok {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(MutualTlsTest, NoneSetMeansPlaintext) {
  auto tls = LoadMutualTls(Env(absl::flat_hash_map<std::string, std::string>{}));
  ASSERT_TRUE(tls.ok()) << tls.status();
  EXPECT_FALSE(tls->has_value());
  EXPECT_NE(ServerCredentialsFor(*tls), nullptr);
  EXPECT_NE(ChannelCredentialsFor(*tls), nullptr);
}

TEST(MutualTlsTest, LoadsAllThreeFiles) {
  testing::TempDir dir;
  ASSERT_TRUE(testing::WriteMutualTlsCertificates(dir.path(), {"relay"}).ok());
  std::map<std::string, std::string> vars = testing::MutualTlsEnv(dir.path(), "relay");
  auto tls = LoadMutualTls(Env({vars.begin(), vars.end()}));
  ASSERT_TRUE(tls.ok()) << tls.status();
  ASSERT_TRUE(tls->has_value());
  EXPECT_THAT((*tls)->cert_pem, HasSubstr("BEGIN CERTIFICATE"));
  EXPECT_THAT(std::string((*tls)->key_pem.view()), HasSubstr("PRIVATE KEY"));
  EXPECT_THAT((*tls)->ca_pem, HasSubstr("BEGIN CERTIFICATE"));
  EXPECT_NE(ServerCredentialsFor(*tls), nullptr);
  EXPECT_NE(ChannelCredentialsFor(*tls), nullptr);
}

TEST(MutualTlsTest, PartialSettingsAndUnreadableFilesAreRefusedByName) {
  testing::TempDir dir;
  ASSERT_TRUE(testing::WriteMutualTlsCertificates(dir.path(), {"gateway"}).ok());
  std::map<std::string, std::string> all = testing::MutualTlsEnv(dir.path(), "gateway");

  auto partial = LoadMutualTls(Env({{"BYOK_TLS_CERT_FILE", all["BYOK_TLS_CERT_FILE"]}}));
  EXPECT_EQ(partial.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(partial.status().message(), HasSubstr("must be set together"));

  // A file that is not PEM: the error names the variable and shows nothing of the file.
  const std::string not_pem = dir.path() + "/not.pem";
  std::ofstream(not_pem) << "secret-looking-bytes";
  std::map<std::string, std::string> bad = all;
  bad["BYOK_TLS_KEY_FILE"] = not_pem;
  auto unreadable = LoadMutualTls(Env({bad.begin(), bad.end()}));
  EXPECT_EQ(unreadable.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(unreadable.status().message(), HasSubstr("BYOK_TLS_KEY_FILE"));
  EXPECT_THAT(unreadable.status().message(), Not(HasSubstr("secret-looking")));

  bad = all;
  bad["BYOK_TLS_CA_FILE"] = dir.path() + "/missing.pem";
  EXPECT_THAT(LoadMutualTls(Env({bad.begin(), bad.end()})).status().message(),
              HasSubstr("BYOK_TLS_CA_FILE"));
}

}  // namespace
}  // namespace byok
