// The fixture of the VaultCore tests (vault_core_test.cc, key_events_test.cc): the vault's logic,
// constructed directly over an in-memory store with a fake clock.
#ifndef BYOK_TESTS_VAULT_VAULT_CORE_FIXTURE_H_
#define BYOK_TESTS_VAULT_VAULT_CORE_FIXTURE_H_

#include <memory>
#include <string>
#include <vector>

#include "common/crypto/keyring_aead.h"
#include "common/crypto/secret_bytes.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/vault/clock.h"
#include "services/vault/key_events.h"
#include "services/vault/sqlite_key_store.h"
#include "services/vault/vault_core.h"
#include "tests/testing/status_matchers.h"

namespace byok::vault {

// Keeps every event, in order.
class RecordingKeyEventSink : public KeyEventSink {
 public:
  void OnKeyEvent(const KeyEvent& event) override { events.push_back(event); }
  std::vector<KeyEvent> events;
};

// A VaultCore over an in-memory SQLite store, a fake clock and a sink that records its key events.
class VaultCoreTest : public ::testing::Test {
 protected:
  static crypto::SecretBytes Secret(char fill) { return crypto::SecretBytes(std::string(32, fill)); }

  void SetUp() override {
    auto store = SqliteKeyStore::Open(":memory:");
    ASSERT_THAT(store, ::byok::testing::IsOk());
    store_ = *std::move(store);
    UseSecrets(Secret('a'), {});
  }

  // Replaces the keyring (as a restart with other secrets would) and rebuilds the logic.
  void UseSecrets(const crypto::SecretBytes& primary, std::vector<crypto::SecretBytes> previous) {
    keyring_ = *crypto::KeyringAead::Create(primary, previous);
    Rebuild();
  }

  void Rebuild() {
    if (hasher_ == nullptr) hasher_ = *TokenHasher::Create(Secret('h'));
    core_ = std::make_unique<VaultCore>(*store_, *keyring_, *hasher_, clock_, options_);
    core_->AddEventSink(&sink_);
  }

  std::string NewToken(const std::string& app = "app") {
    v1::CreateUserRequest req;
    req.set_app_id(app);
    v1::CreateUserResponse resp;
    EXPECT_THAT(core_->CreateUser(req, &resp), ::byok::testing::IsOk());
    return resp.token();
  }

  absl::Status Put(const std::string& token, const std::string& provider, const std::string& key,
                   const std::string& base_url = "") {
    v1::PutKeyRequest req;
    req.set_token(token);
    req.set_provider(provider);
    req.set_key(key);
    req.set_base_url(base_url);
    v1::PutKeyResponse resp;
    return core_->PutKey(req, &resp);
  }

  absl::StatusOr<std::string> Resolve(const std::string& token, const std::string& provider) {
    v1::ResolveKeyRequest req;
    req.set_token(token);
    req.set_provider(provider);
    v1::ResolveKeyResponse resp;
    if (absl::Status s = core_->ResolveKey(req, &resp); !s.ok()) return s;
    return resp.key();
  }

  std::string UserId(const std::string& token) { return core_->UserForToken(token)->user_id; }

  FakeClock clock_{absl::FromUnixSeconds(1'700'000'000)};
  VaultOptions options_;
  std::unique_ptr<SqliteKeyStore> store_;
  std::unique_ptr<crypto::KeyringAead> keyring_;
  std::unique_ptr<TokenHasher> hasher_;
  std::unique_ptr<VaultCore> core_;
  RecordingKeyEventSink sink_;
};

}  // namespace byok::vault

#endif  // BYOK_TESTS_VAULT_VAULT_CORE_FIXTURE_H_
