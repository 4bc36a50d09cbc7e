// Test support for the store tests: rows with recognisable values.
#ifndef BYOK_TESTS_VAULT_STORE_RECORDS_H_
#define BYOK_TESTS_VAULT_STORE_RECORDS_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "services/vault/key_store.h"

namespace byok::vault::testing {

inline const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

// A user of `app` whose token hash is unique per id (and holds bytes that are not text).
inline UserRecord User(const std::string& id, const std::string& app = "app") {
  UserRecord u;
  u.user_id = id;
  u.app_id = app;
  u.token_hash = std::string(32, id.empty() ? 'x' : id[0]) + id + std::string("\0\xff", 2);
  u.created_at = kT0;
  return u;
}

inline KeyRecord Key(const std::string& user, const std::string& provider, const std::string& ct,
                     uint32_t version = 1) {
  KeyRecord k;
  k.user_id = user;
  k.provider = provider;
  k.ciphertext = ct;
  k.key_version = version;
  k.created_at = k.updated_at = kT0;
  return k;
}

inline UsageRecord Usage(const std::string& user, const std::string& provider, int32_t status,
                         absl::Time at, const std::string& model = "") {
  UsageRecord usage;
  usage.user_id = user;
  usage.provider = provider;
  usage.status = status;
  usage.model = model;
  usage.at = at;
  return usage;
}

// Expects `a` and `b` to hold the same rows in the same order, every field equal.
inline void ExpectSameRows(const ImportData& a, const ImportData& b) {
  ASSERT_EQ(a.users.size(), b.users.size());
  for (size_t i = 0; i < a.users.size(); ++i) {
    const UserRecord &x = a.users[i], &y = b.users[i];
    EXPECT_EQ(x.user_id, y.user_id);
    EXPECT_EQ(x.app_id, y.app_id) << x.user_id;
    EXPECT_EQ(x.token_hash, y.token_hash) << x.user_id;
    EXPECT_EQ(x.token_hmac_version, y.token_hmac_version) << x.user_id;
    EXPECT_EQ(x.created_at, y.created_at) << x.user_id;
    EXPECT_EQ(x.expires_at, y.expires_at) << x.user_id;
  }
  ASSERT_EQ(a.keys.size(), b.keys.size());
  for (size_t i = 0; i < a.keys.size(); ++i) {
    const KeyRecord &x = a.keys[i], &y = b.keys[i];
    EXPECT_EQ(x.user_id, y.user_id);
    EXPECT_EQ(x.provider, y.provider) << x.user_id;
    EXPECT_EQ(x.ciphertext, y.ciphertext) << x.user_id;
    EXPECT_EQ(x.key_version, y.key_version) << x.user_id;
    EXPECT_EQ(x.base_url, y.base_url) << x.user_id;
    EXPECT_EQ(x.created_at, y.created_at) << x.user_id;
    EXPECT_EQ(x.updated_at, y.updated_at) << x.user_id;
  }
  ASSERT_EQ(a.usage.size(), b.usage.size());
  for (size_t i = 0; i < a.usage.size(); ++i) {
    const UsageRecord &x = a.usage[i], &y = b.usage[i];
    EXPECT_EQ(x.user_id, y.user_id) << i;
    EXPECT_EQ(x.app_id, y.app_id) << i;
    EXPECT_EQ(x.provider, y.provider) << i;
    EXPECT_EQ(x.model, y.model) << i;
    EXPECT_EQ(x.status, y.status) << i;
    EXPECT_EQ(x.latency_ms, y.latency_ms) << i;
    EXPECT_EQ(x.input_tokens, y.input_tokens) << i;
    EXPECT_EQ(x.output_tokens, y.output_tokens) << i;
    EXPECT_EQ(x.at, y.at) << i;
  }
}

// A deployment's worth of rows with every kind of value: expiring, never-expiring and revoked users,
// a legacy token hash version, ciphertexts of every byte value, base URLs, usage of a deleted user.
inline ImportData SampleDeployment() {
  ImportData data;
  UserRecord forever = User("alice", "app-1");
  UserRecord expiring = User("bob", "app-1");
  expiring.expires_at = kT0 + absl::Hours(24 * 90) + absl::Milliseconds(7);
  UserRecord revoked = User("carol", "app-2");
  revoked.expires_at = kT0 - absl::Milliseconds(1);
  revoked.token_hmac_version = UserRecord::kTokenHmacLegacy;
  data.users = {forever, expiring, revoked};
  std::string every_byte;
  for (int b = 0; b < 256; ++b) every_byte.push_back(static_cast<char>(b));
  KeyRecord k1 = Key("alice", "anthropic", every_byte, 0xdeadbeef);
  KeyRecord k2 = Key("alice", "openai-compatible", std::string("\x00'\"\0;--", 7), 3);
  k2.base_url = "https://llm.example.com/v1?q='x'";
  k2.updated_at = kT0 + absl::Milliseconds(1234);
  KeyRecord k3 = Key("bob", "openai", "ct-bob", 3);
  data.keys = {k1, k2, k3};
  for (int i = 0; i < 5; ++i) {
    UsageRecord u = Usage(i % 2 ? "alice" : "bob", "openai", i == 3 ? 502 : 200,
                          kT0 + absl::Milliseconds(i), i == 4 ? "" : "gpt-4o-\u00e9");
    u.app_id = "app-1";
    u.latency_ms = 100 + i;
    u.input_tokens = 10 * i;
    u.output_tokens = 1'000'000'000'000LL + i;
    data.usage.push_back(u);
  }
  UsageRecord gone = Usage("deleted-user", "groq", 429, kT0 - absl::Hours(5), "llama");
  gone.app_id = "app-2";
  data.usage.push_back(gone);
  return data;
}

}  // namespace byok::vault::testing

#endif  // BYOK_TESTS_VAULT_STORE_RECORDS_H_
