// ChangeFeed: which key events become changes, fan-out to every subscriber, a full queue turned into
// KIND_RESET, live and closed feeds; the NOTIFY payload between replicas.
#include "services/vault/change_feed.h"

#include <atomic>
#include <memory>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/vault/pg_change_relay.h"

namespace byok::vault {
namespace {

using Change = v1::WatchKeyChangesResponse;

KeyEvent Event(KeyAction action, const std::string& user, const std::string& provider = "",
               absl::StatusCode outcome = absl::StatusCode::kOk) {
  KeyEvent e;
  e.action = action;
  e.user_id = user;
  e.provider = provider;
  e.outcome = outcome;
  return e;
}

// Everything queued on `s` so far.
std::vector<Change> Drain(ChangeSubscription& s) {
  std::vector<Change> out;
  while (std::optional<Change> c = s.Next()) out.push_back(*std::move(c));
  return out;
}

std::vector<Change::Kind> Kinds(const std::vector<Change>& changes) {
  std::vector<Change::Kind> kinds;
  for (const Change& c : changes) kinds.push_back(c.kind());
  return kinds;
}

TEST(ChangeForTest, MapsEveryActionAsTheCachesNeed) {
  for (KeyAction a : {v1::AuditEvent::ACTION_KEY_STORED, v1::AuditEvent::ACTION_KEY_ROTATED,
                      v1::AuditEvent::ACTION_KEY_DELETED, v1::AuditEvent::ACTION_KEY_REWRAPPED}) {
    std::optional<Change> c = ChangeFor(Event(a, "u1", "openai"));
    ASSERT_TRUE(c.has_value()) << a;
    EXPECT_EQ(c->kind(), Change::KIND_KEY_CHANGED);
    EXPECT_EQ(c->user_id(), "u1");
    EXPECT_EQ(c->provider(), "openai");
  }
  for (KeyAction a : {v1::AuditEvent::ACTION_TOKEN_REVOKED, v1::AuditEvent::ACTION_USER_DELETED}) {
    std::optional<Change> c = ChangeFor(Event(a, "u1"));
    ASSERT_TRUE(c.has_value()) << a;
    EXPECT_EQ(c->kind(), Change::KIND_USER_CHANGED);
    EXPECT_EQ(c->user_id(), "u1");
  }
  std::optional<Change> purge = ChangeFor(Event(v1::AuditEvent::ACTION_USER_PURGED, ""));
  ASSERT_TRUE(purge.has_value());
  EXPECT_EQ(purge->kind(), Change::KIND_RESET);
  EXPECT_FALSE(ChangeFor(Event(v1::AuditEvent::ACTION_USER_CREATED, "u1")).has_value());
  EXPECT_FALSE(ChangeFor(Event(v1::AuditEvent::ACTION_KEY_RESOLVED, "u1", "openai")).has_value());
}

TEST(ChangeForTest, FailuresThatChangedNothingAreNotChanges) {
  EXPECT_FALSE(ChangeFor(Event(v1::AuditEvent::ACTION_KEY_STORED, "u1", "openai",
                               absl::StatusCode::kInvalidArgument))
                   .has_value());
  EXPECT_FALSE(ChangeFor(Event(v1::AuditEvent::ACTION_TOKEN_REVOKED, "", "",
                               absl::StatusCode::kUnauthenticated))
                   .has_value());
  // An unknown token names no user: nothing of anyone's changed.
  EXPECT_FALSE(ChangeFor(Event(v1::AuditEvent::ACTION_KEY_DELETED, "", "openai")).has_value());
  // The store may have applied a write that then failed to report: counted as a change.
  EXPECT_TRUE(ChangeFor(Event(v1::AuditEvent::ACTION_KEY_ROTATED, "u1", "openai",
                              absl::StatusCode::kUnavailable))
                  .has_value());
}

TEST(ChangeFeedTest, FansEveryChangeOutToEverySubscriber) {
  ChangeFeed feed(16);
  std::atomic<int> wakes_a{0};
  std::atomic<int> wakes_b{0};
  auto a = feed.Subscribe([&] { ++wakes_a; });
  auto b = feed.Subscribe([&] { ++wakes_b; });
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(feed.subscribers(), 2u);
  ASSERT_EQ(Kinds(Drain(*a)), std::vector<Change::Kind>{Change::KIND_SUBSCRIBED});
  ASSERT_EQ(Kinds(Drain(*b)), std::vector<Change::Kind>{Change::KIND_SUBSCRIBED});
  feed.OnKeyEvent(Event(v1::AuditEvent::ACTION_KEY_ROTATED, "u1", "openai"));
  feed.OnKeyEvent(Event(v1::AuditEvent::ACTION_KEY_RESOLVED, "u1", "openai"));  // not a change
  feed.OnKeyEvent(Event(v1::AuditEvent::ACTION_TOKEN_REVOKED, "u2"));
  for (ChangeSubscription* s : {a.get(), b.get()}) {
    std::vector<Change> got = Drain(*s);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].kind(), Change::KIND_KEY_CHANGED);
    EXPECT_EQ(got[0].user_id(), "u1");
    EXPECT_EQ(got[0].provider(), "openai");
    EXPECT_EQ(got[1].kind(), Change::KIND_USER_CHANGED);
    EXPECT_EQ(got[1].user_id(), "u2");
  }
  EXPECT_EQ(wakes_a.load(), 2);
  EXPECT_EQ(wakes_b.load(), 2);
  feed.Unsubscribe(a);
  EXPECT_EQ(feed.subscribers(), 1u);
  feed.OnKeyEvent(Event(v1::AuditEvent::ACTION_USER_DELETED, "u3"));
  EXPECT_TRUE(Drain(*a).empty());
  EXPECT_EQ(wakes_a.load(), 2) << "a detached subscription is not woken";
  EXPECT_EQ(Drain(*b).size(), 1u);
}

TEST(ChangeFeedTest, AFullQueueBecomesOneReset) {
  ChangeFeed feed(4);
  auto slow = feed.Subscribe([] {});
  auto fast = feed.Subscribe([] {});
  ASSERT_EQ(Drain(*slow).size(), 1u);  // SUBSCRIBED, sent
  ASSERT_EQ(Drain(*fast).size(), 1u);
  for (int i = 0; i < 10; ++i) {
    feed.OnKeyEvent(Event(v1::AuditEvent::ACTION_KEY_STORED, absl::StrCat("u", i), "openai"));
    if (i < 3) continue;
    // `fast` keeps up.
    EXPECT_EQ(Drain(*fast).size(), i == 3 ? 4u : 1u);
  }
  // `slow` lost changes: it gets one reset in their place, never a silent gap.
  std::vector<Change> got = Drain(*slow);
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.back().kind(), Change::KIND_RESET);
  EXPECT_LE(got.size(), 4u);
  // After the reset was taken, changes flow again.
  feed.OnKeyEvent(Event(v1::AuditEvent::ACTION_KEY_STORED, "u-next", "openai"));
  got = Drain(*slow);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].user_id(), "u-next");
}

TEST(ChangeFeedTest, ChangesBehindAnUnsentSubscribedAreCoveredByIt) {
  ChangeFeed feed(4);
  auto s = feed.Subscribe([] {});
  for (int i = 0; i < 10; ++i) {
    feed.OnKeyEvent(Event(v1::AuditEvent::ACTION_KEY_STORED, "u1", "openai"));
  }
  EXPECT_EQ(Kinds(Drain(*s)), std::vector<Change::Kind>{Change::KIND_SUBSCRIBED});
}

TEST(ChangeFeedTest, NotLiveEndsSubscriptionsWithAResetAndRefusesNewOnes) {
  ChangeFeed feed(16, /*live=*/false);
  EXPECT_EQ(feed.Subscribe([] {}), nullptr);
  feed.SetLive(true);
  auto s = feed.Subscribe([] {});
  ASSERT_NE(s, nullptr);
  Drain(*s);
  feed.SetLive(false);
  EXPECT_EQ(Kinds(Drain(*s)), std::vector<Change::Kind>{Change::KIND_RESET});
  EXPECT_TRUE(s->Ended());
  EXPECT_EQ(feed.Subscribe([] {}), nullptr);
  feed.SetLive(true);
  EXPECT_NE(feed.Subscribe([] {}), nullptr);
}

TEST(ChangeFeedTest, CloseEndsEverySubscriptionForGood) {
  ChangeFeed feed(16);
  std::atomic<int> wakes{0};
  auto s = feed.Subscribe([&] { ++wakes; });
  Drain(*s);
  feed.Close();
  EXPECT_GE(wakes.load(), 1) << "the stream must hear that it ended";
  Drain(*s);
  EXPECT_TRUE(s->Ended());
  feed.SetLive(true);
  EXPECT_EQ(feed.Subscribe([] {}), nullptr);
}

TEST(ChangePayloadTest, RoundTripsAndRefusesWhatIsMalformed) {
  Change c;
  c.set_kind(Change::KIND_KEY_CHANGED);
  c.set_user_id("u1");
  c.set_provider("openai-compatible");
  std::optional<ParsedChange> parsed = ParseChangePayload(ChangePayload("origin-a", c));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->origin, "origin-a");
  EXPECT_EQ(parsed->change.kind(), Change::KIND_KEY_CHANGED);
  EXPECT_EQ(parsed->change.user_id(), "u1");
  EXPECT_EQ(parsed->change.provider(), "openai-compatible");
  Change reset;
  reset.set_kind(Change::KIND_RESET);
  parsed = ParseChangePayload(ChangePayload("o", reset));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->change.kind(), Change::KIND_RESET);
  for (const char* bad : {"", "v1", "v2|o|2|u|p", "v1|o|x|u|p", "v1|o|2||p", "v1|o|1|u|p",
                          "v1|o|7|u|p", "v1|o|3||"}) {
    EXPECT_FALSE(ParseChangePayload(bad).has_value()) << bad;
  }
  EXPECT_FALSE(ParseChangePayload("v1|o|4||" + std::string(2000, 'x')).has_value());
}

}  // namespace
}  // namespace byok::vault
