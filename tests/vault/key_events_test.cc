// The key events VaultCore sends its sinks (services/vault/key_events.h): every one, once, in order,
// with its outcome.
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/vault/vault_core.h"
#include "tests/testing/status_matchers.h"
#include "tests/vault/vault_core_fixture.h"

namespace byok::vault {
namespace {

using ::byok::testing::IsOk;
using ::byok::testing::StatusIs;

class KeyEventsTest : public VaultCoreTest {};

using Action = v1::AuditEvent;

TEST_F(KeyEventsTest, EveryKeyEventReachesTheSinksOnceWithItsOutcome) {
  const std::string token = NewToken();
  const std::string user = UserId(token);
  ASSERT_THAT(Put(token, "openai", "sk-first-key-000"), IsOk());
  ASSERT_THAT(Put(token, "openai", "sk-second-key-00"), IsOk());
  ASSERT_THAT(Resolve(token, "openai"), IsOk());
  EXPECT_THAT(Resolve(token, "anthropic"), StatusIs(absl::StatusCode::kNotFound));
  // Another token: its first digit changed (a token that starts with "f" gets an "e").
  EXPECT_THAT(Resolve((token[0] == 'f' ? "e" : "f") + token.substr(1), "openai"),
              StatusIs(absl::StatusCode::kUnauthenticated));
  v1::PutKeyRequest dry;
  dry.set_token(token);
  dry.set_provider("openai");
  dry.set_key("sk-third-key-000");
  dry.set_validate_only(true);
  v1::PutKeyResponse dry_response;
  ASSERT_THAT(core_->PutKey(dry, &dry_response), IsOk());
  v1::DeleteKeyRequest del;
  del.set_token(token);
  del.set_provider("openai");
  v1::DeleteKeyResponse del_response;
  ASSERT_THAT(core_->DeleteKey(del, &del_response), IsOk());
  v1::RevokeTokenRequest revoke;
  revoke.set_token(token);
  v1::RevokeTokenResponse revoke_response;
  ASSERT_THAT(core_->RevokeToken(revoke, &revoke_response), IsOk());
  clock_.Advance(absl::Seconds(1));
  ASSERT_THAT(core_->PurgeExpiredUsers(), IsOk());

  struct Expected {
    v1::AuditEvent::Action action;
    std::string user_id, provider;
    absl::StatusCode outcome;
  };
  const std::vector<Expected> expected = {
      {Action::ACTION_USER_CREATED, user, "", absl::StatusCode::kOk},
      {Action::ACTION_KEY_STORED, user, "openai", absl::StatusCode::kOk},
      {Action::ACTION_KEY_ROTATED, user, "openai", absl::StatusCode::kOk},
      {Action::ACTION_KEY_RESOLVED, user, "openai", absl::StatusCode::kOk},
      {Action::ACTION_KEY_RESOLVED, user, "anthropic", absl::StatusCode::kNotFound},
      {Action::ACTION_KEY_RESOLVED, "", "openai", absl::StatusCode::kUnauthenticated},
      {Action::ACTION_KEY_DELETED, user, "openai", absl::StatusCode::kOk},
      {Action::ACTION_TOKEN_REVOKED, user, "", absl::StatusCode::kOk},
      {Action::ACTION_USER_PURGED, "", "", absl::StatusCode::kOk},
  };
  ASSERT_EQ(sink_.events.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(sink_.events[i].action, expected[i].action);
    EXPECT_EQ(sink_.events[i].user_id, expected[i].user_id);
    EXPECT_EQ(sink_.events[i].provider, expected[i].provider);
    EXPECT_EQ(sink_.events[i].outcome, expected[i].outcome);
  }
}

}  // namespace
}  // namespace byok::vault
