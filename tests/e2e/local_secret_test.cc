#include "apps/local_secret.h"

#include <sys/stat.h>

#include <fstream>

#include <gtest/gtest.h>

#include "tests/testing/process.h"

namespace byok::apps {
namespace {

TEST(LocalSecretTest, DataFolderIsTheDatabaseFolder) {
  EXPECT_EQ(DataFolder("./data/relay.db"), "./data");
  EXPECT_EQ(DataFolder("/var/lib/byok/relay.db"), "/var/lib/byok");
  EXPECT_EQ(DataFolder("relay.db"), ".");
}

TEST(LocalSecretTest, CreatedOnceWithMode0600ThenReused) {
  byok::testing::TempDir dir;
  std::string folder = dir.path() + "/data";
  auto first = LoadOrCreateSecret(folder);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->created);
  EXPECT_EQ(first->hex.size(), 64u);
  EXPECT_EQ(first->path, folder + "/encryption.secret");
  struct stat st;
  ASSERT_EQ(::stat(first->path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto second = LoadOrCreateSecret(folder);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE(second->created);
  EXPECT_EQ(second->hex, first->hex);

  byok::testing::TempDir other;
  auto fresh = LoadOrCreateSecret(other.path());
  ASSERT_TRUE(fresh.ok());
  EXPECT_NE(fresh->hex, first->hex);
}

TEST(LocalSecretTest, RefusesAFileOthersCanReadOrThatHoldsNoSecret) {
  byok::testing::TempDir dir;
  std::string path = dir.path() + "/encryption.secret";
  std::ofstream(path) << "not-a-secret\n";
  ::chmod(path.c_str(), 0600);
  auto bad = LoadOrCreateSecret(dir.path());
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().find("not-a-secret"), absl::string_view::npos);

  std::ofstream(path, std::ios::trunc) << std::string(64, 'a') << "\n";
  ::chmod(path.c_str(), 0644);
  auto open = LoadOrCreateSecret(dir.path());
  EXPECT_FALSE(open.ok());
  EXPECT_NE(open.status().message().find("chmod 600"), absl::string_view::npos);
}

}  // namespace
}  // namespace byok::apps
